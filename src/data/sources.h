// Turns the --data / --test-data specifications into data sets:
//   fashion-mnist            the four IDX .gz files in --data-dir (test split: t10k)
//   idx:IMAGES,LABELS        any MNIST-family pair of IDX files (raw or .gz)
//   npy:FEATURES,TARGETS     NPY features [N, D] (or [N]) and targets: integer labels [N]
//                            (classification) or float targets [N] / [N, K] (regression)
//   synthetic-linreg         N=1000, D=10 linear-regression data (test split: a second draw)
// --test-data: "" = the data set's own test split (none for idx:/npy:), "none", or an
// idx:/npy: spec. Pixel values of IDX uint8 images are scaled to [0, 1].
// Every problem throws UserError naming the file or flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/data/dataset.h"

namespace dp {

struct DataConfig {
  std::string data = "fashion-mnist";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string test_data;         // "" = default split, "none" = no evaluation
  std::int64_t num_classes = 0;  // 0 = infer (10 for fashion-mnist, max label + 1 otherwise)
};

// The largest class count: the output layer holds classes x width weights, so a label
// column that really holds IDs (1e9) is refused when it is read, not by a failed
// allocation later. 2^20 classes of a 256-wide layer are already 1 GiB of parameters.
inline constexpr std::int64_t kMaxClasses = std::int64_t{1} << 20;

// "npy:a.npy,b.npy" / "idx:..." with each file made absolute (for RUN_DIR/resume.toml,
// which may be used from another directory); other specs as they are.
std::string data_spec_absolute(const std::string& spec);
// What a resume compares of --data: the kind and the files' names without their
// directories ("npy:x.npy,y.npy" whether given as x.npy or /data/x.npy); other specs as
// they are. The sample count and shapes are compared separately.
std::string data_spec_identity(const std::string& spec);

struct DataSplits {
  Dataset train;
  Dataset test;
  bool has_test = false;
  // Things the user probably did not mean but that are valid (rank 0 prints them).
  std::vector<std::string> notes;
};

DataSplits load_data(const DataConfig& cfg);

// The bytes of the files load_data(cfg) reads (0 for a file that is not there, and for the
// synthetic sets): every rank reads them, and the fastest wait for the slowest.
std::uint64_t data_files_nbytes(const DataConfig& cfg);

}  // namespace dp
