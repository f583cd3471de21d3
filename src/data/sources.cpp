#include "src/data/sources.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
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

// A value from a file for a message: integers in full (1000000000, not 1e+09).
std::string value_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e18)
    return std::to_string(static_cast<long long>(v));
  return concat(v);
}

// Integer labels from an IDX or NPY array: whole numbers in [0, kMaxClasses).
std::vector<std::int32_t> to_labels(std::int64_t n, const std::string& path,
                                    const std::function<double(std::int64_t)>& at) {
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = at(i);
    DP_USER_CHECK(v >= 0 && v == std::floor(v), path, ": label ", value_text(v), " at index ", i,
                  " is not a class index (must be an integer >= 0)");
    DP_USER_CHECK(v < static_cast<double>(kMaxClasses), path, ": label ", value_text(v), " at index ", i,
                  " is too large: labels are class indices 0..K-1 with at most ", kMaxClasses,
                  " classes (does this column hold IDs?)");
    labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(v);
  }
  return labels;
}

// Element i of a [rows, width] array of features or regression targets as float32. It must
// be finite there: a NaN or infinity in the data (or a float64 beyond float32's range)
// would otherwise surface only as a non-finite loss many steps later, without the file.
float finite_value(double v, std::int64_t i, std::int64_t width, const std::string& path, const char* what) {
  const auto f = static_cast<float>(v);
  if (!std::isfinite(f))
    throw UserError(concat(path, ": ", what, " at row ", i / width, ", column ", i % width, " is ",
                           value_text(v), std::isfinite(v) ? " (beyond float32's range)" : "",
                           ": the data must be finite"));
  return f;
}

// Integer-typed targets are class labels, float ones regression targets; a test split
// must have the kind of the training split (checked before its labels are read, so the
// message is about the kind, not about a "label" that is really a float target).
void check_same_kind(bool labels_here, const std::string& path, const Dataset* train) {
  if (train == nullptr || labels_here == !train->labels.empty()) return;
  throw UserError(concat(path, ": test targets must be of the same kind as the training targets (",
                         labels_here ? "integer class labels here, float regression targets in "
                                     : "float regression targets here, integer class labels in ",
                         train->targets_path, ")"));
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, const std::string& name,
                      const Dataset* train = nullptr) {
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  DP_USER_CHECK(labels.type != 0x0D && labels.type != 0x0E, labels_path,
                ": labels must have an integer IDX type");
  check_same_kind(/*labels_here=*/true, labels_path, train);
  DP_USER_CHECK(labels.dims.size() == 1, labels_path, ": labels must be a 1-D IDX array, got ",
                labels.dims.size(), " dimensions");
  const std::int64_t n = images.dims[0];
  DP_USER_CHECK(labels.dims[0] == n, "image/label count mismatch: ", images_path, " has ", n, " images but ",
                labels_path, " has ", labels.dims[0], " labels");
  Dataset ds;
  ds.name = name;
  ds.targets_path = labels_path;
  ds.count = n;
  ds.features = images.count() / n;
  ds.resize_features(n, ds.features);
  if (images.type == 0x08) {
    // uint8 pixels -> [0, 1]
    for (std::size_t i = 0; i < ds.x.size(); ++i) ds.x[i] = static_cast<float>(images.payload[i]) / 255.0f;
  } else {
    for (std::size_t i = 0; i < ds.x.size(); ++i) {
      const auto e = static_cast<std::int64_t>(i);
      ds.x[i] = finite_value(images.at(e), e, ds.features, images_path, "feature");
    }
  }
  ds.labels = to_labels(n, labels_path, [&](std::int64_t i) { return labels.at(i); });
  return ds;
}

Dataset load_npy_pair(const std::string& features_path, const std::string& targets_path,
                      const std::string& name, const Dataset* train = nullptr) {
  const NpyArray x = read_npy(features_path);
  const NpyArray t = read_npy(targets_path);
  check_same_kind(t.is_integer(), targets_path, train);
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
  ds.targets_path = targets_path;
  ds.count = n;
  ds.features = x.shape.size() == 2 ? x.shape[1] : 1;
  DP_USER_CHECK(ds.features > 0, features_path, ": features have width 0");
  ds.resize_features(n, ds.features);
  for (std::size_t i = 0; i < ds.x.size(); ++i) {
    const auto e = static_cast<std::int64_t>(i);
    ds.x[i] = finite_value(x.at(e), e, ds.features, features_path, "feature");
  }
  if (t.is_integer()) {
    DP_USER_CHECK(t.shape.size() == 1, targets_path, ": integer class labels must have shape [N], got ",
                  t.shape.size(), " dimensions");
    ds.labels = to_labels(n, targets_path, [&](std::int64_t i) { return t.at(i); });
  } else {
    DP_USER_CHECK(t.shape.size() <= 2, targets_path, ": regression targets must have shape [N] or [N, K]");
    ds.target_dim = t.shape.size() == 2 ? t.shape[1] : 1;
    DP_USER_CHECK(ds.target_dim > 0, targets_path, ": targets have width 0");
    ds.y.resize(static_cast<std::size_t>(t.count()));
    for (std::size_t i = 0; i < ds.y.size(); ++i) {
      const auto e = static_cast<std::int64_t>(i);
      ds.y[i] = finite_value(t.at(e), e, ds.target_dim, targets_path, "target");
    }
  }
  return ds;
}

std::string find_in_dir(const std::string& dir, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const std::string p = dir + "/" + stem + suffix;
    if (is_regular_file(p)) return p;
  }
  const char* env = std::getenv("DPTRAIN_DATA_DIR");
  const bool from_env = env != nullptr && dir == env;  // the default it set, not --data-dir
  throw UserError(concat("--data fashion-mnist: ", dir, "/", stem,
                         ".gz not found (install the dataset-fashion-mnist package or pass --data-dir",
                         from_env ? "; this directory is $DPTRAIN_DATA_DIR's" : "", ")"));
}

// train: given for a test split (its targets must be of the same kind).
Dataset load_pair_spec(const std::string& spec, const std::string& flag, const std::string& split,
                       const Dataset* train = nullptr) {
  const auto [a, b] = two_paths(spec, flag);
  if (starts_with(spec, "idx:")) return load_idx_pair(a, b, concat(split, " (", a, ")"), train);
  return load_npy_pair(a, b, concat(split, " (", a, ")"), train);
}

// The number of classes from the labels, or checks the labels against the given one.
void resolve_classes(Dataset* ds, std::int64_t num_classes, const std::string& flag_hint) {
  if (ds->labels.empty()) return;
  const std::int32_t max_label = *std::max_element(ds->labels.begin(), ds->labels.end());
  if (num_classes == 0) num_classes = std::int64_t{max_label} + 1;
  if (max_label >= num_classes) {
    const auto bad =
        std::find_if(ds->labels.begin(), ds->labels.end(), [&](std::int32_t l) { return l >= num_classes; });
    throw UserError(concat(ds->targets_path, ": label ", *bad, " at index ", bad - ds->labels.begin(),
                           " is out of range for ", num_classes, " classes", flag_hint));
  }
  ds->num_classes = num_classes;
}

// Valid but probably unintended: classes without a training sample (labels 0, 1, 2, 7
// make an 8-class model), and float targets that are all whole numbers in one column
// (class labels saved as float train a regression).
void add_notes(const Dataset& train, const DataConfig& cfg, std::vector<std::string>* notes) {
  if (!train.labels.empty()) {
    std::vector<bool> seen(static_cast<std::size_t>(train.num_classes), false);
    for (std::int32_t l : train.labels) seen[static_cast<std::size_t>(l)] = true;
    const auto unused = std::count(seen.begin(), seen.end(), false);
    if (unused > 0) {
      const auto first = std::find(seen.begin(), seen.end(), false) - seen.begin();
      notes->push_back(concat("note: ", unused, " of the ", train.num_classes, " classes (the first: ", first,
                              ") have no training sample in ", train.targets_path,
                              cfg.num_classes > 0 ? " (--num-classes)"
                                                  : " (classes are 0..max label; are the labels numbered "
                                                    "without gaps?)"));
    }
    return;
  }
  if (train.target_dim != 1 || train.y.size() < 2) return;
  std::vector<float> values;
  for (float v : train.y) {
    if (v != std::floor(v)) return;
    if (values.size() <= 32 && std::find(values.begin(), values.end(), v) == values.end())
      values.push_back(v);
  }
  if (values.size() <= 32)
    notes->push_back(concat("note: ", train.targets_path, " holds float targets that are all whole numbers (",
                            values.size(),
                            " distinct values): training a regression (mean squared error); save class "
                            "labels with an integer dtype to train a classifier"));
}

// Applies f to both files of an "npy:"/"idx:" spec (one the loader accepted); other specs
// come back unchanged.
std::string map_spec_files(const std::string& spec, const std::function<std::string(const std::string&)>& f) {
  if (!starts_with(spec, "idx:") && !starts_with(spec, "npy:")) return spec;
  const auto [a, b] = two_paths(spec, "--data");
  return spec.substr(0, 4) + f(a) + "," + f(b);
}

}  // namespace

std::string data_spec_absolute(const std::string& spec) {
  return map_spec_files(spec, [](const std::string& p) { return absolute_path(p); });
}

std::string data_spec_identity(const std::string& spec) {
  return map_spec_files(spec, [](const std::string& p) { return p.substr(p.rfind('/') + 1); });
}

std::uint64_t data_files_nbytes(const DataConfig& cfg) {
  std::vector<std::string> files;
  const auto add_spec = [&](const std::string& spec) {
    if (!starts_with(spec, "idx:") && !starts_with(spec, "npy:")) return;
    try {
      const auto [a, b] = two_paths(spec, "--data");
      files.push_back(a);
      files.push_back(b);
    } catch (const UserError&) {
      // A malformed spec: load_data names the mistake, on every rank alike.
    }
  };
  if (cfg.data == "fashion-mnist") {
    for (const char* stem : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                             "t10k-labels-idx1-ubyte"})
      for (const char* suffix : {".gz", ""}) files.push_back(cfg.data_dir + "/" + stem + suffix);
  }
  add_spec(cfg.data);
  add_spec(cfg.test_data);
  std::uint64_t total = 0;
  for (const std::string& f : files) total += file_nbytes(f);
  return total;
}

DataSplits load_data(const DataConfig& cfg) {
  DataSplits out;
  const std::string& spec = cfg.data;
  std::int64_t classes = cfg.num_classes;
  DP_USER_CHECK(classes >= 0 && classes <= kMaxClasses, "--num-classes must be in [0, ", kMaxClasses,
                "] (0 = infer), got ", classes);
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
    out.test = load_pair_spec(cfg.test_data, "--test-data", "test", &out.train);
    out.has_test = true;
  }
  DP_USER_CHECK(out.train.count > 0, out.train.name, ": holds no samples");

  DP_USER_CHECK(cfg.num_classes == 0 || !out.train.labels.empty(),
                "--num-classes applies to class labels, but ", out.train.targets_path,
                " holds float (regression) targets");
  const std::string hint = cfg.num_classes > 0 ? " (--num-classes)" : "";
  resolve_classes(&out.train, classes, hint);
  if (out.has_test) {
    // The loaders checked that the test targets are of the training targets' kind.
    const Dataset& tr = out.train;
    Dataset& te = out.test;
    DP_USER_CHECK(te.features == tr.features, te.name, ": feature dimension ", te.features,
                  " does not match the training data's ", tr.features);
    DP_USER_CHECK(te.target_dim == tr.target_dim, te.targets_path, ": target width ", te.target_dim,
                  " does not match the training data's ", tr.target_dim);
    resolve_classes(&te, tr.num_classes, " (the class count comes from the training data)");
  }
  add_notes(out.train, cfg, &out.notes);
  return out;
}

}  // namespace dp
