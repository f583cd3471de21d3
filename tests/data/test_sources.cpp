// load_data (src/data/sources.h): every --data / --test-data form, the class-count rules,
// and the errors naming the file or flag. The real Fashion-MNIST files are checked by the
// hidden test "[fashion-mnist]", run as its own ctest (skipped when the package is absent).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "src/data/npy.h"
#include "src/data/sources.h"
#include "src/data/synthetic.h"
#include "tests/data/data_test_util.h"

using Catch::Matchers::Contains;
using dp::test::Bytes;
using dp::test::idx_header;
using dp::test::TempDir;
using dp::test::user_error;

namespace {

// features [n, d] with x[i, j] = i + j / 8 (exact in float32).
std::vector<float> feature_values(std::int64_t n, std::int64_t d) {
  std::vector<float> x;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) x.push_back(static_cast<float>(i) + static_cast<float>(j) / 8.0f);
  return x;
}

std::string write_features(const TempDir& dir, const std::string& name, std::int64_t n, std::int64_t d) {
  const std::vector<float> x = feature_values(n, d);
  dp::write_npy(dir.file(name), "<f4", {n, d}, x.data());
  return dir.file(name);
}

std::string write_labels(const TempDir& dir, const std::string& name,
                         const std::vector<std::int32_t>& labels) {
  dp::write_npy(dir.file(name), "<i4", {static_cast<std::int64_t>(labels.size())}, labels.data());
  return dir.file(name);
}

dp::DataConfig npy_config(const std::string& features, const std::string& targets) {
  dp::DataConfig cfg;
  cfg.data = "npy:" + features + "," + targets;
  return cfg;
}

std::string load_error(const dp::DataConfig& cfg) {
  return user_error([&] { dp::load_data(cfg); });
}

// A Fashion-MNIST-shaped pair: n images [n, 28, 28] uint8 and n labels in [0, 10).
void write_fake_mnist(const TempDir& dir, const std::string& prefix, std::uint32_t n, bool gz) {
  Bytes img = idx_header(0x08, {n, 28, 28});
  for (std::uint32_t i = 0; i < n * 784u; ++i) img.push_back(static_cast<std::uint8_t>(i % 256u));
  Bytes lbl = idx_header(0x08, {n});
  for (std::uint32_t i = 0; i < n; ++i) lbl.push_back(static_cast<std::uint8_t>(i % 10u));
  const std::string suffix = gz ? ".gz" : "";
  dp::test::write_bytes(dir.file(prefix + "-images-idx3-ubyte" + suffix),
                        gz ? dp::test::gzip_bytes(img) : img);
  dp::test::write_bytes(dir.file(prefix + "-labels-idx1-ubyte" + suffix),
                        gz ? dp::test::gzip_bytes(lbl) : lbl);
}

}  // namespace

TEST_CASE("load_data: npy classification pair infers classes = max label + 1", "[sources]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 6, 3);
  const std::vector<std::int32_t> labels = {0, 2, 1, 2, 0, 1};
  const std::string fy = write_labels(dir, "y.npy", labels);
  const dp::DataSplits s = dp::load_data(npy_config(fx, fy));
  CHECK_FALSE(s.has_test);
  const dp::Dataset& d = s.train;
  CHECK(d.count == 6);
  CHECK(d.features == 3);
  CHECK(d.x == feature_values(6, 3));
  CHECK(d.labels == labels);
  CHECK(d.num_classes == 3);
  CHECK(d.is_classification());
  CHECK(d.output_dim() == 3);
  CHECK(d.y.empty());
  CHECK(d.target_dim == 0);
  CHECK_THAT(d.name, Contains(fx));
}

TEST_CASE("load_data: other integer label dtypes and 1-D features", "[sources]") {
  TempDir dir;
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, 3.5f};
  dp::write_npy(dir.file("x.npy"), "<f4", {4}, x.data());
  const std::vector<std::int64_t> y = {4, 0, 0, 1};
  dp::write_npy(dir.file("y.npy"), "<i8", {4}, y.data());
  const dp::DataSplits s = dp::load_data(npy_config(dir.file("x.npy"), dir.file("y.npy")));
  CHECK(s.train.features == 1);
  CHECK(s.train.x == x);
  CHECK(s.train.labels == std::vector<std::int32_t>{4, 0, 0, 1});
  CHECK(s.train.num_classes == 5);
}

TEST_CASE("load_data: --num-classes overrides the inferred count and is checked", "[sources]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 4, 2);
  const std::string fy = write_labels(dir, "y.npy", {0, 2, 1, 2});
  dp::DataConfig cfg = npy_config(fx, fy);
  cfg.num_classes = 10;
  CHECK(dp::load_data(cfg).train.num_classes == 10);
  cfg.num_classes = 3;
  CHECK(dp::load_data(cfg).train.num_classes == 3);
  cfg.num_classes = 2;
  // The labels' file is named, with the first offending index.
  CHECK_THAT(load_error(cfg), Contains(fy) && Contains("label 2 at index 1 is out of range for 2 classes") &&
                                  Contains("--num-classes"));
  cfg.num_classes = -1;
  CHECK_THAT(load_error(cfg), Contains("--num-classes must be in [0, 1048576]"));
  cfg.num_classes = dp::kMaxClasses + 1;
  CHECK_THAT(load_error(cfg), Contains("--num-classes must be in [0, 1048576]"));
  cfg.num_classes = 0;
  dp::DataConfig regression = npy_config(fx, fy);
  const std::vector<float> t = {0.5f, 1.5f, 2.5f, 3.5f};
  dp::write_npy(dir.file("t.npy"), "<f4", {4}, t.data());
  regression = npy_config(fx, dir.file("t.npy"));
  regression.num_classes = 3;
  CHECK_THAT(load_error(regression),
             Contains("--num-classes applies to class labels, but " + dir.file("t.npy") + " holds float"));
}

TEST_CASE("load_data: a label column of IDs is refused before anything is allocated for it",
          "[sources][errors]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 3, 2);
  const std::vector<std::int64_t> ids = {0, 1000000000, 2};
  dp::write_npy(dir.file("ids.npy"), "<i8", {3}, ids.data());
  CHECK_THAT(load_error(npy_config(fx, dir.file("ids.npy"))),
             Contains(dir.file("ids.npy") + ": label 1000000000 at index 1 is too large") &&
                 Contains("at most 1048576 classes"));
  // The largest allowed label is accepted.
  const std::vector<std::int64_t> top = {0, dp::kMaxClasses - 1, 2};
  dp::write_npy(dir.file("top.npy"), "<i8", {3}, top.data());
  CHECK(dp::load_data(npy_config(fx, dir.file("top.npy"))).train.num_classes == dp::kMaxClasses);
}

TEST_CASE("load_data: NaN, infinity or float32 overflow in the data names file, row and column",
          "[sources][errors]") {
  TempDir dir;
  std::vector<float> x(4 * 3, 0.25f);
  const std::string fy = write_labels(dir, "y.npy", {0, 1, 0, 1});
  SECTION("NaN in the features") {
    x[2 * 3 + 1] = std::nanf("");
    dp::write_npy(dir.file("x.npy"), "<f4", {4, 3}, x.data());
    CHECK_THAT(load_error(npy_config(dir.file("x.npy"), fy)),
               Contains(dir.file("x.npy") + ": feature at row 2, column 1 is nan: the data must be finite"));
  }
  SECTION("infinity in the features") {
    x[3 * 3 + 2] = -std::numeric_limits<float>::infinity();
    dp::write_npy(dir.file("x.npy"), "<f4", {4, 3}, x.data());
    CHECK_THAT(load_error(npy_config(dir.file("x.npy"), fy)), Contains("row 3, column 2 is -inf"));
  }
  SECTION("a float64 beyond float32's range") {
    std::vector<double> xd(4 * 3, 0.5);
    xd[1] = 1e300;
    const std::string path = dir.file("xd.npy");
    dp::write_npy(path, "<f8", {4, 3}, xd.data());
    CHECK_THAT(load_error(npy_config(path, fy)),
               Contains("row 0, column 1 is 1e+300 (beyond float32's range)"));
  }
  SECTION("NaN in regression targets [N, K]") {
    dp::write_npy(dir.file("x.npy"), "<f4", {4, 3}, x.data());
    std::vector<float> y(4 * 2, 1.0f);
    y[3 * 2 + 1] = std::nanf("");
    dp::write_npy(dir.file("y2.npy"), "<f4", {4, 2}, y.data());
    CHECK_THAT(load_error(npy_config(dir.file("x.npy"), dir.file("y2.npy"))),
               Contains(dir.file("y2.npy") + ": target at row 3, column 1 is nan"));
  }
}

TEST_CASE("load_data: notes for classes without samples and for float targets that look like labels",
          "[sources]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 4, 2);
  dp::DataSplits s = dp::load_data(npy_config(fx, write_labels(dir, "y.npy", {0, 1, 1, 0})));
  CHECK(s.notes.empty());
  s = dp::load_data(npy_config(fx, write_labels(dir, "gap.npy", {0, 1, 7, 0})));
  REQUIRE(s.notes.size() == 1);
  CHECK_THAT(s.notes[0], Contains("5 of the 8 classes (the first: 2) have no training sample"));
  const std::vector<float> whole = {0.0f, 2.0f, 1.0f, 2.0f}, real = {0.0f, 2.5f, 1.0f, 2.0f};
  dp::write_npy(dir.file("whole.npy"), "<f4", {4}, whole.data());
  dp::write_npy(dir.file("real.npy"), "<f4", {4}, real.data());
  s = dp::load_data(npy_config(fx, dir.file("whole.npy")));
  REQUIRE(s.notes.size() == 1);
  CHECK_THAT(s.notes[0], Contains("all whole numbers (3 distinct values)") && Contains("integer dtype"));
  CHECK(dp::load_data(npy_config(fx, dir.file("real.npy"))).notes.empty());
}

TEST_CASE("load_data: labels that are not class indices are refused", "[sources][errors]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 3, 2);
  const std::string fy = write_labels(dir, "y.npy", {0, -1, 1});
  CHECK_THAT(load_error(npy_config(fx, fy)), Contains(fy) && Contains("label -1 at index 1"));
  // Integer features are refused (features must be float).
  const std::vector<std::int32_t> ix = {1, 2, 3};
  dp::write_npy(dir.file("ix.npy"), "<i4", {3}, ix.data());
  CHECK_THAT(load_error(npy_config(dir.file("ix.npy"), write_labels(dir, "ok.npy", {0, 1, 0}))),
             Contains(dir.file("ix.npy")) && Contains("float32 or float64"));
  // 2-D integer labels.
  const std::vector<std::int32_t> y2 = {0, 1, 0, 1, 0, 1};
  dp::write_npy(dir.file("y2.npy"), "<i4", {3, 2}, y2.data());
  CHECK_THAT(load_error(npy_config(fx, dir.file("y2.npy"))),
             Contains(dir.file("y2.npy")) && Contains("shape [N]"));
}

TEST_CASE("load_data: npy regression targets of shape (N) and (N, K)", "[sources]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 5, 2);
  SECTION("[N]") {
    const std::vector<float> y = {0.1f, -0.2f, 0.3f, 4.0f, -5.5f};
    dp::write_npy(dir.file("y.npy"), "<f4", {5}, y.data());
    const dp::Dataset d = dp::load_data(npy_config(fx, dir.file("y.npy"))).train;
    CHECK_FALSE(d.is_classification());
    CHECK(d.target_dim == 1);
    CHECK(d.output_dim() == 1);
    CHECK(d.y == y);
    CHECK(d.labels.empty());
  }
  SECTION("[N, K]") {
    std::vector<float> y;
    for (int i = 0; i < 15; ++i) y.push_back(static_cast<float>(i) * 0.25f);
    dp::write_npy(dir.file("y.npy"), "<f4", {5, 3}, y.data());
    dp::DataConfig cfg = npy_config(fx, dir.file("y.npy"));
    const dp::Dataset d = dp::load_data(cfg).train;
    CHECK(d.target_dim == 3);
    CHECK(d.output_dim() == 3);
    CHECK(d.num_classes == 0);
    CHECK(d.y == y);
  }
  SECTION("[N, K, M] is refused") {
    const std::vector<float> y(20, 1.0f);
    dp::write_npy(dir.file("y3.npy"), "<f4", {5, 2, 2}, y.data());
    CHECK_THAT(load_error(npy_config(fx, dir.file("y3.npy"))),
               Contains(dir.file("y3.npy")) && Contains("[N, K]"));
  }
  SECTION("features of width 0 are refused by name") {
    const std::vector<float> none;
    dp::write_npy(dir.file("x0.npy"), "<f4", {5, 0}, none.data());
    const std::vector<float> y(5, 1.0f);
    dp::write_npy(dir.file("y.npy"), "<f4", {5}, y.data());
    CHECK_THAT(load_error(npy_config(dir.file("x0.npy"), dir.file("y.npy"))),
               Contains(dir.file("x0.npy")) && Contains("width 0"));
  }
}

TEST_CASE("load_data: sample count mismatch names both files", "[sources][errors]") {
  TempDir dir;
  const std::string fx = write_features(dir, "features.npy", 6, 3);
  const std::string fy = write_labels(dir, "labels.npy", {0, 1, 2, 0, 1});
  CHECK_THAT(load_error(npy_config(fx, fy)), Contains("sample count mismatch") && Contains(fx) &&
                                                 Contains(fy) && Contains("6 rows") && Contains("has 5"));
  // A scalar target file is a mismatch too.
  const std::int32_t scalar = 1;
  dp::write_npy(dir.file("scalar.npy"), "<i4", {}, &scalar);
  CHECK_THAT(load_error(npy_config(fx, dir.file("scalar.npy"))),
             Contains("a scalar") && Contains(dir.file("scalar.npy")));
}

TEST_CASE("load_data: npy test split is checked against the training data", "[sources][errors]") {
  TempDir dir;
  const std::string fx = write_features(dir, "x.npy", 6, 3);
  const std::string fy = write_labels(dir, "y.npy", {0, 2, 1, 2, 0, 1});
  dp::DataConfig cfg = npy_config(fx, fy);
  SECTION("a valid test split takes the training class count") {
    cfg.test_data = "npy:" + write_features(dir, "tx.npy", 2, 3) + "," + write_labels(dir, "ty.npy", {0, 0});
    const dp::DataSplits s = dp::load_data(cfg);
    REQUIRE(s.has_test);
    CHECK(s.test.count == 2);
    CHECK(s.test.num_classes == 3);
    CHECK(s.train.num_classes == 3);
    CHECK_THAT(s.test.name, Contains(dir.file("tx.npy")));
  }
  SECTION("different feature dimension") {
    const std::string tx = write_features(dir, "tx.npy", 2, 4);
    cfg.test_data = "npy:" + tx + "," + write_labels(dir, "ty.npy", {0, 1});
    CHECK_THAT(load_error(cfg),
               Contains(tx) && Contains("feature dimension 4 does not match the training data's 3"));
  }
  SECTION("test labels beyond the training classes") {
    const std::string tx = write_features(dir, "tx.npy", 2, 3);
    cfg.test_data = "npy:" + tx + "," + write_labels(dir, "ty.npy", {0, 5});
    CHECK_THAT(load_error(cfg), Contains(dir.file("ty.npy")) &&
                                    Contains("label 5 at index 1 is out of range for 3 classes") &&
                                    Contains("training data"));
  }
  SECTION("regression test targets for classification training data") {
    const std::string tx = write_features(dir, "tx.npy", 2, 3);
    const std::vector<float> ty = {0.5f, 1.5f};
    dp::write_npy(dir.file("ty.npy"), "<f4", {2}, ty.data());
    cfg.test_data = "npy:" + tx + "," + dir.file("ty.npy");
    CHECK_THAT(load_error(cfg), Contains(dir.file("ty.npy") +
                                         ": test targets must be of the same kind as the training targets "
                                         "(float regression targets here, integer class labels in ") &&
                                    Contains(dir.file("y.npy")));
  }
  SECTION("class labels as test targets for regression training data (refused as a kind, not as labels)") {
    const std::vector<float> y = {0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.5f};
    dp::write_npy(dir.file("ry.npy"), "<f4", {6}, y.data());
    cfg = npy_config(dir.file("x.npy"), dir.file("ry.npy"));
    const std::string tx = write_features(dir, "tx.npy", 2, 3);
    cfg.test_data = "npy:" + tx + "," + write_labels(dir, "ty.npy", {-6, 1});
    CHECK_THAT(load_error(cfg), Contains("(integer class labels here, float regression targets in"));
  }
  SECTION("--test-data none and a malformed --test-data") {
    cfg.test_data = "none";
    CHECK_FALSE(dp::load_data(cfg).has_test);
    cfg.test_data = "t10k";
    CHECK_THAT(load_error(cfg), Contains("--test-data") && Contains("'t10k'"));
    cfg.test_data = "npy:onlyone.npy";
    CHECK_THAT(load_error(cfg), Contains("--test-data") && Contains("must name two files"));
  }
}

TEST_CASE("load_data: idx pairs", "[sources]") {
  TempDir dir;
  Bytes img = idx_header(0x08, {3, 2, 2});
  img.insert(img.end(), {0, 255, 51, 102, 1, 2, 3, 4, 250, 251, 252, 253});
  dp::test::write_bytes(dir.file("img.gz"), dp::test::gzip_bytes(img));
  Bytes lbl = idx_header(0x08, {3});
  lbl.insert(lbl.end(), {1, 0, 7});
  dp::test::write_bytes(dir.file("lbl"), lbl);
  dp::DataConfig cfg;
  cfg.data = "idx:" + dir.file("img.gz") + "," + dir.file("lbl");
  SECTION("uint8 pixels are scaled to [0, 1]") {
    const dp::Dataset d = dp::load_data(cfg).train;
    CHECK(d.count == 3);
    CHECK(d.features == 4);
    CHECK(d.x[0] == 0.0f);
    CHECK(d.x[1] == 1.0f);
    CHECK(d.x[2] == Approx(0.2f));
    CHECK(d.labels == std::vector<std::int32_t>{1, 0, 7});
    CHECK(d.num_classes == 8);
  }
  SECTION("image/label count mismatch names both files") {
    Bytes lbl4 = idx_header(0x08, {4});
    lbl4.insert(lbl4.end(), {1, 0, 7, 2});
    dp::test::write_bytes(dir.file("lbl4"), lbl4);
    cfg.data = "idx:" + dir.file("img.gz") + "," + dir.file("lbl4");
    CHECK_THAT(load_error(cfg), Contains("image/label count mismatch") && Contains(dir.file("img.gz")) &&
                                    Contains(dir.file("lbl4")) && Contains("3 images") &&
                                    Contains("4 labels"));
  }
  SECTION("labels must be 1-D integers") {
    Bytes l2 = idx_header(0x08, {3, 1});
    l2.insert(l2.end(), {1, 0, 7});
    dp::test::write_bytes(dir.file("l2"), l2);
    cfg.data = "idx:" + dir.file("img.gz") + "," + dir.file("l2");
    CHECK_THAT(load_error(cfg), Contains(dir.file("l2")) && Contains("1-D"));
    Bytes lf = idx_header(0x0D, {3});
    lf.resize(lf.size() + 12, 0);
    dp::test::write_bytes(dir.file("lf"), lf);
    cfg.data = "idx:" + dir.file("img.gz") + "," + dir.file("lf");
    CHECK_THAT(load_error(cfg), Contains(dir.file("lf")) && Contains("integer IDX type"));
  }
  SECTION("a missing file is named") {
    cfg.data = "idx:" + dir.file("img.gz") + "," + dir.file("missing");
    CHECK_THAT(load_error(cfg), Contains(dir.file("missing")));
  }
}

TEST_CASE("load_data: fashion-mnist reads the four files of --data-dir", "[sources]") {
  TempDir dir;
  dp::DataConfig cfg;
  cfg.data_dir = dir.path();
  SECTION("a directory without the files names the package and --data-dir") {
    CHECK_THAT(load_error(cfg), Contains(dir.path()) && Contains("train-images-idx3-ubyte.gz") &&
                                    Contains("dataset-fashion-mnist") && Contains("--data-dir"));
  }
  SECTION("small .gz files, with the t10k test split and 10 classes") {
    write_fake_mnist(dir, "train", 12, true);
    write_fake_mnist(dir, "t10k", 4, true);
    const dp::DataSplits s = dp::load_data(cfg);
    CHECK(s.train.count == 12);
    CHECK(s.train.features == 784);
    CHECK(s.train.num_classes == 10);
    REQUIRE(s.has_test);
    CHECK(s.test.count == 4);
    CHECK(s.test.num_classes == 10);
    cfg.test_data = "none";
    CHECK_FALSE(dp::load_data(cfg).has_test);
  }
  SECTION("uncompressed files are found too") {
    write_fake_mnist(dir, "train", 5, false);
    write_fake_mnist(dir, "t10k", 3, false);
    const dp::DataSplits s = dp::load_data(cfg);
    CHECK(s.train.count == 5);
    CHECK(s.test.count == 3);
  }
  SECTION("the test files missing is an error naming them") {
    write_fake_mnist(dir, "train", 5, true);
    CHECK_THAT(load_error(cfg), Contains("t10k-images-idx3-ubyte.gz") && Contains("--data-dir"));
  }
}

TEST_CASE("load_data: unknown and malformed --data specs name the flag", "[sources][errors]") {
  dp::DataConfig cfg;
  cfg.data = "cifar10";
  CHECK_THAT(load_error(cfg), Contains("--data") && Contains("unknown data set 'cifar10'"));
  for (const char* spec : {"npy:onlyonefile", "npy:a,b,c", "npy:,b", "npy:a,", "idx:", "idx:single"}) {
    INFO("spec: " << spec);
    cfg.data = spec;
    CHECK_THAT(load_error(cfg), Contains("--data") && Contains(std::string("'") + spec + "'") &&
                                    Contains("must name two files"));
  }
}

TEST_CASE("load_data: synthetic-linreg is 1000x10, deterministic, with a 200-row test split",
          "[sources][synthetic]") {
  dp::DataConfig cfg;
  cfg.data = "synthetic-linreg";
  const dp::DataSplits a = dp::load_data(cfg);
  const dp::DataSplits b = dp::load_data(cfg);
  CHECK(a.train.count == 1000);
  CHECK(a.train.features == 10);
  CHECK(a.train.target_dim == 1);
  CHECK_FALSE(a.train.is_classification());
  REQUIRE(a.train.x.size() == 10000);
  REQUIRE(a.train.y.size() == 1000);
  REQUIRE(a.has_test);
  CHECK(a.test.count == 200);
  CHECK(a.test.features == 10);
  CHECK(a.test.y.size() == 200);
  // Bit-identical across calls (every rank builds the same data).
  CHECK(a.train.x == b.train.x);
  CHECK(a.train.y == b.train.y);
  CHECK(a.test.x == b.test.x);
  // The test split is an independent draw, not a copy of the first 200 training rows.
  CHECK_FALSE(std::equal(a.test.x.begin(), a.test.x.end(), a.train.x.begin()));

  const std::vector<double> wb = dp::synthetic_linreg_truth(dp::SyntheticLinregSpec{});
  REQUIRE(wb.size() == 11);
  auto residual_stats = [&](const dp::Dataset& d, double* mean, double* std_dev) {
    double s = 0, s2 = 0;
    for (std::int64_t i = 0; i < d.count; ++i) {
      double pred = wb[10];
      for (std::int64_t j = 0; j < 10; ++j)
        pred += d.x[static_cast<std::size_t>(i * 10 + j)] * wb[static_cast<std::size_t>(j)];
      const double r = d.y[static_cast<std::size_t>(i)] - pred;
      s += r;
      s2 += r * r;
    }
    const double n = static_cast<double>(d.count);
    *mean = s / n;
    *std_dev = std::sqrt(s2 / n - *mean * *mean);
  };
  double mean = 0, sd = 0;
  residual_stats(a.train, &mean, &sd);
  // noise ~ N(0, 0.1^2): the sample std of 1000 draws is 0.1 +- 0.0022, the mean 0 +- 0.0032.
  CHECK(sd == Approx(0.1).margin(0.01));
  CHECK(std::abs(mean) < 0.015);
  residual_stats(a.test, &mean, &sd);
  CHECK(sd == Approx(0.1).margin(0.02));
  CHECK(std::abs(mean) < 0.03);
  // X ~ N(0, 1).
  double xs = 0, xs2 = 0;
  for (float v : a.train.x) {
    xs += v;
    xs2 += static_cast<double>(v) * v;
  }
  CHECK(std::abs(xs / 1e4) < 0.05);
  CHECK(xs2 / 1e4 == Approx(1.0).margin(0.05));
  // A different data seed gives different data.
  dp::SyntheticLinregSpec other;
  other.seed += 1;
  CHECK(dp::make_synthetic_linreg(other, 0).x != a.train.x);
}

// Hidden: run by the ctest data.fashion_mnist_real, which skips when the package is absent.
TEST_CASE("load_data: the installed Fashion-MNIST files", "[.][fashion-mnist]") {
  const dp::DataSplits s = dp::load_data(dp::DataConfig{});
  CHECK(s.train.count == 60000);
  CHECK(s.train.features == 784);
  CHECK(s.train.num_classes == 10);
  REQUIRE(s.has_test);
  CHECK(s.test.count == 10000);
  CHECK(s.test.features == 784);
  CHECK(s.test.num_classes == 10);
  for (const dp::Dataset* d : {&s.train, &s.test}) {
    const auto [lo, hi] = std::minmax_element(d->x.begin(), d->x.end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
    std::vector<std::int64_t> per_class(10, 0);
    std::int64_t out_of_range = 0;
    for (auto l : d->labels) {
      if (l < 0 || l >= 10)
        ++out_of_range;
      else
        ++per_class[static_cast<std::size_t>(l)];
    }
    CHECK(out_of_range == 0);
    // Fashion-MNIST is balanced: 6000 per class in train, 1000 in test.
    for (auto c : per_class) CHECK(c == d->count / 10);
  }
}

TEST_CASE("data_files_nbytes: the bytes load_data reads", "[sources]") {
  TempDir dir;
  const std::string x = write_features(dir, "x.npy", 10, 3);
  const std::string y = write_labels(dir, "y.npy", std::vector<std::int32_t>(10, 1));
  const std::string tx = write_features(dir, "tx.npy", 4, 3);
  const std::string ty = write_labels(dir, "ty.npy", std::vector<std::int32_t>(4, 0));
  const auto size = [](const std::string& p) { return dp::test::read_bytes(p).size(); };
  dp::DataConfig cfg;
  cfg.data = "npy:" + x + "," + y;
  CHECK(dp::data_files_nbytes(cfg) == size(x) + size(y));
  cfg.test_data = "npy:" + tx + "," + ty;
  CHECK(dp::data_files_nbytes(cfg) == size(x) + size(y) + size(tx) + size(ty));
  cfg.test_data = "none";
  cfg.data = "npy:" + x + "," + dir.file("missing.npy");  // a missing file counts 0
  CHECK(dp::data_files_nbytes(cfg) == size(x));
  for (const std::string& bad : {"npy:" + x, "npy:," + x, "npy:" + x + "," + y + "," + y}) {
    cfg.data = bad;  // malformed: load_data names it
    CHECK(dp::data_files_nbytes(cfg) == 0);
  }
  cfg.data = "synthetic-linreg";
  CHECK(dp::data_files_nbytes(cfg) == 0);
  // fashion-mnist: the four files of --data-dir, .gz or not.
  write_fake_mnist(dir, "train", 6, true);
  write_fake_mnist(dir, "t10k", 2, false);
  cfg.data = "fashion-mnist";
  cfg.data_dir = dir.path();
  cfg.test_data.clear();
  const std::uint64_t want =
      size(dir.file("train-images-idx3-ubyte.gz")) + size(dir.file("train-labels-idx1-ubyte.gz")) +
      size(dir.file("t10k-images-idx3-ubyte")) + size(dir.file("t10k-labels-idx1-ubyte"));
  CHECK(dp::data_files_nbytes(cfg) == want);
}
