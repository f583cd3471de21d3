// DistributedSampler: which samples rank r sees in epoch e.
//
//   perm_e   = a permutation of [0, N) from (seed, e), identical on every rank
//              (identity when shuffle is off, as for evaluation)
//   total    = ceil(N / W) * W  (pad: the permutation wraps around, perm_e[i mod N])
//            | floor(N / W) * W (drop_last: the tail is dropped)
//   shard_r  = perm_e[r], perm_e[r + W], perm_e[r + 2W], ...   (total / W samples)
//
// The shards of one epoch are disjoint (up to the wrapped padding) and cover the data.
// Step s of an epoch uses shard_r[s*b, (s+1)*b) with b = global_batch / W on rank r, so the
// union over ranks is perm_e[s*B, (s+1)*B): the same global batch for every world size.
#pragma once

#include <cstdint>
#include <vector>

namespace dp {

class DistributedSampler {
 public:
  DistributedSampler(std::int64_t dataset_count, int rank, int world_size, std::uint64_t seed, bool shuffle,
                     bool drop_last);

  void set_epoch(std::int64_t epoch);                        // recomputes this rank's shard
  std::int64_t shard_count() const { return shard_count_; }  // samples per rank per epoch
  const std::vector<std::int64_t>& shard() const { return shard_; }

 private:
  std::int64_t n_;
  int rank_, world_;
  std::uint64_t seed_;
  bool shuffle_;
  std::int64_t shard_count_;
  std::vector<std::int64_t> perm_;
  std::vector<std::int64_t> shard_;
};

// The permutation of [0, n) for (seed, epoch): Fisher-Yates driven by dp::Rng.
std::vector<std::int64_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch);

}  // namespace dp
