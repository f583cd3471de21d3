// The classic linear-regression example: X ~ N(0, 1)^[N, D], a fixed "true" w ~ N(0, 1)^D
// and b ~ N(0, 1), y = X·w + b + noise, noise ~ N(0, noise_std^2). Everything comes from
// one fixed seed, so every rank (and every run) builds the same data.
#pragma once

#include <cstdint>

#include "src/data/dataset.h"

namespace dp {

struct SyntheticLinregSpec {
  std::int64_t count = 1000;
  std::int64_t features = 10;
  double noise_std = 0.1;
  std::uint64_t seed = 20240601;  // the data seed; independent of the training --seed
};

// `sample_stream` selects independent draws of X and noise for the same true (w, b):
// 0 = the training split, 1 = the held-out test split.
Dataset make_synthetic_linreg(const SyntheticLinregSpec& spec, std::uint64_t sample_stream);

// The true coefficients the data was generated from (w[0..D-1], then b).
std::vector<double> synthetic_linreg_truth(const SyntheticLinregSpec& spec);

}  // namespace dp
