#include "src/data/synthetic.h"

#include "src/util/rng.h"

namespace dp {

std::vector<double> synthetic_linreg_truth(const SyntheticLinregSpec& spec) {
  Rng rng(mix_seed(spec.seed, 0xC0EFF));
  std::vector<double> wb(static_cast<std::size_t>(spec.features) + 1);
  for (auto& c : wb) c = rng.normal();
  return wb;
}

Dataset make_synthetic_linreg(const SyntheticLinregSpec& spec, std::uint64_t sample_stream) {
  const std::vector<double> wb = synthetic_linreg_truth(spec);
  const std::int64_t n = spec.count, d = spec.features;
  Dataset ds;
  ds.name = sample_stream == 0 ? "synthetic-linreg train" : "synthetic-linreg test";
  ds.targets_path = ds.name;
  ds.count = n;
  ds.features = d;
  ds.target_dim = 1;
  ds.x.resize(static_cast<std::size_t>(n * d));
  ds.y.resize(static_cast<std::size_t>(n));
  Rng rng(mix_seed(spec.seed, 1 + sample_stream));
  for (std::int64_t i = 0; i < n; ++i) {
    double yi = wb[static_cast<std::size_t>(d)];
    for (std::int64_t j = 0; j < d; ++j) {
      const double xij = rng.normal();
      ds.x[static_cast<std::size_t>(i * d + j)] = static_cast<float>(xij);
      // y uses the float-rounded x, so y is exactly linear in the stored features.
      yi += static_cast<double>(static_cast<float>(xij)) * wb[static_cast<std::size_t>(j)];
    }
    yi += spec.noise_std * rng.normal();
    ds.y[static_cast<std::size_t>(i)] = static_cast<float>(yi);
  }
  return ds;
}

}  // namespace dp
