#include "src/data/sampler.h"

#include <numeric>

#include "src/util/check.h"
#include "src/util/rng.h"

namespace dp {

std::vector<std::int64_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  Rng rng(mix_seed(seed, static_cast<std::uint64_t>(epoch)));
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng.uniform_index(static_cast<std::uint64_t>(i) + 1));
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  }
  return perm;
}

DistributedSampler::DistributedSampler(std::int64_t dataset_count, int rank, int world_size,
                                       std::uint64_t seed, bool shuffle, bool drop_last)
    : n_(dataset_count), rank_(rank), world_(world_size), seed_(seed), shuffle_(shuffle) {
  DP_CHECK(n_ > 0 && world_ > 0 && rank_ >= 0 && rank_ < world_, "sampler: n=", n_, " rank=", rank_,
           " world=", world_);
  shard_count_ = drop_last ? n_ / world_ : (n_ + world_ - 1) / world_;
  DP_USER_CHECK(shard_count_ > 0, "--drop-last: the data set has ", n_, " samples, fewer than the ", world_,
                " ranks");
  if (!shuffle_) {
    perm_.resize(static_cast<std::size_t>(n_));
    std::iota(perm_.begin(), perm_.end(), std::int64_t{0});
  }
  set_epoch(0);
}

void DistributedSampler::set_epoch(std::int64_t epoch) {
  if (shuffle_) perm_ = epoch_permutation(n_, seed_, epoch);
  shard_.resize(static_cast<std::size_t>(shard_count_));
  for (std::int64_t j = 0; j < shard_count_; ++j) {
    const std::int64_t global = rank_ + j * world_;  // position in the padded epoch order
    shard_[static_cast<std::size_t>(j)] = perm_[static_cast<std::size_t>(global % n_)];
  }
}

}  // namespace dp
