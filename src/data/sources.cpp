#include "src/data/sources.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "src/data/idx.h"
#include "src/data/npy.h"
#include "src/data/synthetic.h"
#include "src/util/check.h"
#include "src/util/fs.h"

namespace dp {
namespace {

// "idx:a,b" -> {"a", "b"}; the flag is named in the error.
std::pair<std::string, std::string> two_paths(const std::string& spec, const std::string& flag) {
  const std::string body = spec.substr(spec.find(':') + 1);
  const auto comma = body.find(',');
  DP_USER_CHECK(comma != std::string::npos && comma > 0 && comma + 1 < body.size() &&
                    body.find(',', comma + 1) == std::string::npos,
                flag, ": '", spec, "' must name two files: ", spec.substr(0, spec.find(':')),
                ":FEATURES,TARGETS");
  return {body.substr(0, comma), body.substr(comma + 1)};
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Integer labels from an IDX or NPY array: must be whole numbers >= 0.
std::vector<std::int32_t> to_labels(std::int64_t n, const std::string& path,
                                    const std::function<double(std::int64_t)>& at) {
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = at(i);
    DP_USER_CHECK(v >= 0 && v < 2147483647.0 && v == std::floor(v), path, ": label ", v, " at index ", i,
                  " is not a class index (must be an integer >= 0)");
    labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(v);
  }
  return labels;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& name) {
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  DP_USER_CHECK(labels.dims.size() == 1, labels_path, ": labels must be a 1-D IDX array, got ",
                labels.dims.size(), " dimensions");
  DP_USER_CHECK(labels.type != 0x0D && labels.type != 0x0E, labels_path,
                ": labels must have an integer IDX type");
  const std::int64_t n = images.dims[0];
  DP_USER_CHECK(labels.dims[0] == n, "image/label count mismatch: ", images_path, " has ", n, " images but ",
                labels_path, " has ", labels.dims[0], " labels");
  Dataset ds;
  ds.name = name;
  ds.count = n;
  ds.features = images.count() / n;
  ds.resize_features(n, ds.features);
  if (images.type == 0x08) {
    // uint8 pixels -> [0, 1]
    for (std::size_t i = 0; i < ds.x.size(); ++i) ds.x[i] = static_cast<float>(images.payload[i]) / 255.0f;
  } else {
    for (std::size_t i = 0; i < ds.x.size(); ++i)
      ds.x[i] = static_cast<float>(images.at(static_cast<std::int64_t>(i)));
  }
  ds.labels = to_labels(n, labels_path, [&](std::int64_t i) { return labels.at(i); });
  return ds;
}

Dataset load_npy_pair(const std::string& features_path, const std::string& targets_path,
                      const std::string& name) {
  const NpyArray x = read_npy(features_path);
  const NpyArray t = read_npy(targets_path);
  DP_USER_CHECK(x.is_float(), features_path, ": features must be float32 or float64, got dtype '", x.descr,
                "'");
  DP_USER_CHECK(x.shape.size() == 1 || x.shape.size() == 2, features_path,
                ": features must have shape [N, D] (or [N]), got ", x.shape.size(), " dimensions");
  const std::int64_t n = x.shape[0];
  DP_USER_CHECK(n > 0, features_path, ": holds no samples");
  DP_USER_CHECK(!t.shape.empty() && t.shape[0] == n, "sample count mismatch: ", features_path, " has ", n,
                " rows but ", targets_path, " has ",
                t.shape.empty() ? std::string("a scalar") : std::to_string(t.shape[0]));
  Dataset ds;
  ds.name = name;
  ds.count = n;
  ds.features = x.shape.size() == 2 ? x.shape[1] : 1;
  DP_USER_CHECK(ds.features > 0, features_path, ": features have width 0");
  ds.resize_features(n, ds.features);
  for (std::size_t i = 0; i < ds.x.size(); ++i)
    ds.x[i] = static_cast<float>(x.at(static_cast<std::int64_t>(i)));
  if (t.is_integer()) {
    DP_USER_CHECK(t.shape.size() == 1, targets_path, ": integer class labels must have shape [N], got ",
                  t.shape.size(), " dimensions");
    ds.labels = to_labels(n, targets_path, [&](std::int64_t i) { return t.at(i); });
  } else {
    DP_USER_CHECK(t.shape.size() <= 2, targets_path, ": regression targets must have shape [N] or [N, K]");
    ds.target_dim = t.shape.size() == 2 ? t.shape[1] : 1;
    DP_USER_CHECK(ds.target_dim > 0, targets_path, ": targets have width 0");
    ds.y.resize(static_cast<std::size_t>(t.count()));
    for (std::size_t i = 0; i < ds.y.size(); ++i)
      ds.y[i] = static_cast<float>(t.at(static_cast<std::int64_t>(i)));
  }
  return ds;
}

std::string find_in_dir(const std::string& dir, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const std::string p = dir + "/" + stem + suffix;
    if (is_regular_file(p)) return p;
  }
  throw UserError(concat("--data fashion-mnist: ", dir, "/", stem,
                         ".gz not found (install the dataset-fashion-mnist package or pass --data-dir)"));
}

Dataset load_pair_spec(const std::string& spec, const std::string& flag, const std::string& split) {
  const auto [a, b] = two_paths(spec, flag);
  if (starts_with(spec, "idx:")) return load_idx_pair(a, b, concat(split, " (", a, ")"));
  return load_npy_pair(a, b, concat(split, " (", a, ")"));
}

// The number of classes from the labels, or checks the labels against the given one.
void resolve_classes(Dataset* ds, std::int64_t num_classes, const std::string& flag_hint) {
  if (ds->labels.empty()) return;
  const std::int32_t max_label = *std::max_element(ds->labels.begin(), ds->labels.end());
  if (num_classes == 0) num_classes = std::int64_t{max_label} + 1;
  DP_USER_CHECK(max_label < num_classes, ds->name, ": label ", max_label, " is out of range for ",
                num_classes, " classes", flag_hint);
  ds->num_classes = num_classes;
}

}  // namespace

DataSplits load_data(const DataConfig& cfg) {
  DataSplits out;
  const std::string& spec = cfg.data;
  std::int64_t classes = cfg.num_classes;
  DP_USER_CHECK(classes >= 0, "--num-classes must be >= 0 (0 = infer), got ", classes);
  if (spec == "fashion-mnist") {
    const std::string& dir = cfg.data_dir;
    // Look the files up in a fixed order, so a missing directory names the first file.
    const std::string train_images = find_in_dir(dir, "train-images-idx3-ubyte");
    const std::string train_labels = find_in_dir(dir, "train-labels-idx1-ubyte");
    out.train = load_idx_pair(train_images, train_labels, "fashion-mnist train");
    if (cfg.test_data.empty()) {
      const std::string test_images = find_in_dir(dir, "t10k-images-idx3-ubyte");
      const std::string test_labels = find_in_dir(dir, "t10k-labels-idx1-ubyte");
      out.test = load_idx_pair(test_images, test_labels, "fashion-mnist test");
      out.has_test = true;
    }
    if (classes == 0) classes = 10;
  } else if (spec == "synthetic-linreg") {
    SyntheticLinregSpec s;
    out.train = make_synthetic_linreg(s, 0);
    if (cfg.test_data.empty()) {
      SyntheticLinregSpec test_spec = s;
      test_spec.count = 200;
      out.test = make_synthetic_linreg(test_spec, 1);
      out.has_test = true;
    }
  } else if (starts_with(spec, "idx:") || starts_with(spec, "npy:")) {
    out.train = load_pair_spec(spec, "--data", "train");
  } else {
    throw UserError(concat("--data: unknown data set '", spec,
                           "' (expected fashion-mnist, synthetic-linreg, idx:IMAGES,LABELS or "
                           "npy:FEATURES,TARGETS)"));
  }
  if (!cfg.test_data.empty() && cfg.test_data != "none") {
    DP_USER_CHECK(starts_with(cfg.test_data, "idx:") || starts_with(cfg.test_data, "npy:"), "--test-data: '",
                  cfg.test_data, "' must be none, idx:IMAGES,LABELS or npy:FEATURES,TARGETS");
    out.test = load_pair_spec(cfg.test_data, "--test-data", "test");
    out.has_test = true;
  }
  DP_USER_CHECK(out.train.count > 0, out.train.name, ": holds no samples");

  DP_USER_CHECK(cfg.num_classes == 0 || !out.train.labels.empty(),
                "--num-classes applies to class labels, but ", out.train.name,
                " has float (regression) targets");
  const std::string hint = cfg.num_classes > 0 ? " (--num-classes)" : "";
  resolve_classes(&out.train, classes, hint);
  if (out.has_test) {
    const Dataset& tr = out.train;
    Dataset& te = out.test;
    DP_USER_CHECK(te.features == tr.features, te.name, ": feature dimension ", te.features,
                  " does not match the training data's ", tr.features);
    DP_USER_CHECK(te.labels.empty() == tr.labels.empty(), te.name,
                  ": test targets must be of the same kind as the training targets (class labels "
                  "vs float targets)");
    DP_USER_CHECK(te.target_dim == tr.target_dim, te.name, ": target width ", te.target_dim,
                  " does not match the training data's ", tr.target_dim);
    resolve_classes(&te, tr.num_classes, " (the class count comes from the training data)");
  }
  return out;
}

}  // namespace dp
