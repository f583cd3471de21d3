// DistributedSampler and epoch_permutation (src/data/sampler.h), with all ranks of a
// world simulated in one process, and gather_batch (src/data/batch.h).
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <numeric>
#include <set>

#include "src/data/batch.h"
#include "src/data/sampler.h"
#include "src/util/rng.h"
#include "tests/data/data_test_util.h"

using Catch::Matchers::Contains;
using dp::test::user_error;

namespace {

bool is_permutation_of_range(const std::vector<std::int64_t>& p, std::int64_t n) {
  if (static_cast<std::int64_t>(p.size()) != n) return false;
  std::vector<std::int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < n; ++i)
    if (sorted[static_cast<std::size_t>(i)] != i) return false;
  return true;
}

// The shards of every rank of a world of `world` ranks for one epoch.
std::vector<std::vector<std::int64_t>> all_shards(std::int64_t n, int world, std::uint64_t seed, bool shuffle,
                                                  bool drop_last, std::int64_t epoch) {
  std::vector<std::vector<std::int64_t>> shards;
  for (int r = 0; r < world; ++r) {
    dp::DistributedSampler s(n, r, world, seed, shuffle, drop_last);
    s.set_epoch(epoch);
    REQUIRE(static_cast<std::int64_t>(s.shard().size()) == s.shard_count());
    shards.push_back(s.shard());
  }
  return shards;
}

}  // namespace

TEST_CASE("sampler: epoch_permutation is a deterministic permutation per (seed, epoch)", "[sampler]") {
  for (std::int64_t n : {0, 1, 2, 7, 100, 1000}) {
    INFO("n = " << n);
    const auto p = dp::epoch_permutation(n, 42, 3);
    CHECK(is_permutation_of_range(p, n));
    CHECK(dp::epoch_permutation(n, 42, 3) == p);
  }
  const auto base = dp::epoch_permutation(1000, 42, 0);
  CHECK(base != dp::epoch_permutation(1000, 42, 1));
  CHECK(base != dp::epoch_permutation(1000, 43, 0));
  std::vector<std::int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), std::int64_t{0});
  CHECK(base != identity);
  // Over many epochs no two permutations of 100 elements coincide, and every element
  // visits every position roughly evenly (a biased shuffle would fail this).
  std::set<std::vector<std::int64_t>> seen;
  std::vector<std::vector<int>> position_count(10, std::vector<int>(10, 0));
  for (std::int64_t e = 0; e < 2000; ++e) {
    const auto p = dp::epoch_permutation(10, 7, e);
    for (std::size_t pos = 0; pos < 10; ++pos) ++position_count[static_cast<std::size_t>(p[pos])][pos];
    if (e < 200) seen.insert(dp::epoch_permutation(100, 7, e));
  }
  CHECK(seen.size() == 200);
  for (const auto& row : position_count)
    for (int c : row) CHECK((c > 120 && c < 280));  // expected 200, std ~13.4
}

TEST_CASE("rng: SplitMix64 and xoshiro256** match their reference outputs", "[sampler][rng]") {
  // SplitMix64 from state 1234567: the published reference sequence.
  std::uint64_t state = 1234567;
  const std::uint64_t splitmix_ref[5] = {6457827717110365317ull, 3203168211198807973ull,
                                         9817491932198370423ull, 4593380528125082431ull,
                                         16408922859458223821ull};
  for (auto want : splitmix_ref) CHECK(dp::splitmix64(state) == want);
  // xoshiro256** seeded by SplitMix64(42), from an independent Python implementation of
  // the reference algorithm.
  dp::Rng rng(42);
  CHECK(rng.next_u64() == 1546998764402558742ull);
  CHECK(rng.next_u64() == 6990951692964543102ull);
  CHECK(rng.next_u64() == 12544586762248559009ull);
  CHECK(dp::mix_seed(1234, 5) == 1656359862855689752ull);
  // uniform_index stays in range, including n = 1 and n not a power of two.
  dp::Rng r(7);
  for (std::uint64_t n : {1ull, 2ull, 3ull, 10ull, 1000003ull, 0x8000000000000001ull}) {
    for (int i = 0; i < 100; ++i) CHECK(r.uniform_index(n) < n);
  }
}

TEST_CASE("sampler: the same (seed, epoch) gives the same permutation everywhere", "[sampler]") {
  // Fixed values (also computed by an independent Python Fisher-Yates over the reference
  // xoshiro256**): a change of the RNG or of the shuffle would silently change which
  // samples a resumed run sees; it must be a deliberate, visible change.
  const std::vector<std::int64_t> e5 = {8, 1, 6, 2, 3, 0, 7, 5, 4, 9};
  const std::vector<std::int64_t> e6 = {4, 8, 7, 0, 1, 6, 9, 2, 5, 3};
  CHECK(dp::epoch_permutation(10, 1234, 5) == e5);
  CHECK(dp::epoch_permutation(10, 1234, 6) == e6);
  dp::DistributedSampler s(10, 0, 1, 1234, true, false);
  s.set_epoch(5);
  CHECK(s.shard() == e5);
  s.set_epoch(6);
  CHECK(s.shard() == e6);
  // Rank 1 of 3 in epoch 5: positions 1, 4, 7, 10 -> perm[1], perm[4], perm[7], perm[0].
  dp::DistributedSampler r1(10, 1, 3, 1234, true, false);
  r1.set_epoch(5);
  CHECK(r1.shard() == std::vector<std::int64_t>{1, 3, 5, 8});
  // shuffle off: the identity order (evaluation), whatever the epoch.
  dp::DistributedSampler id(5, 0, 2, 1234, false, false);
  id.set_epoch(3);
  CHECK(id.shard() == std::vector<std::int64_t>{0, 2, 4});
}

TEST_CASE("sampler: shards are disjoint and cover 0..N-1 in pad mode", "[sampler]") {
  for (std::int64_t n : {1, 7, 10, 60, 97}) {
    for (int world = 1; world <= 5; ++world) {
      for (bool shuffle : {true, false}) {
        INFO("N = " << n << ", W = " << world << ", shuffle = " << shuffle);
        const std::int64_t per_rank = (n + world - 1) / world;
        const auto shards = all_shards(n, world, 99, shuffle, false, 2);
        const auto perm = shuffle ? dp::epoch_permutation(n, 99, 2) : [&] {
          std::vector<std::int64_t> id(static_cast<std::size_t>(n));
          std::iota(id.begin(), id.end(), std::int64_t{0});
          return id;
        }();
        std::map<std::int64_t, int> times;
        for (int r = 0; r < world; ++r) {
          const auto& sh = shards[static_cast<std::size_t>(r)];
          REQUIRE(static_cast<std::int64_t>(sh.size()) == per_rank);  // same count on every rank
          for (std::int64_t j = 0; j < per_rank; ++j) {
            // shard_r[j] = perm[(r + j W) mod N]
            CHECK(sh[static_cast<std::size_t>(j)] == perm[static_cast<std::size_t>((r + j * world) % n)]);
            ++times[sh[static_cast<std::size_t>(j)]];
          }
        }
        // Covers everything; the duplicates are exactly the wrapped padding: position p of
        // the padded order [0, ceil(N/W)*W) holds perm[p mod N], so the first
        // (total - N) elements of the permutation appear once more (more often if N < W).
        REQUIRE(static_cast<std::int64_t>(times.size()) == n);
        const std::int64_t total = per_rank * world;
        CHECK(total - n < world);
        std::map<std::int64_t, int> expected;
        for (std::int64_t p = 0; p < total; ++p) ++expected[perm[static_cast<std::size_t>(p % n)]];
        CHECK(times == expected);
        std::int64_t extra = 0;
        for (const auto& [index, count] : times) {
          CHECK((index >= 0 && index < n));
          extra += count - 1;
        }
        CHECK(extra == total - n);
      }
    }
  }
}

TEST_CASE("sampler: drop_last shards are disjoint with floor(N / W) samples each", "[sampler]") {
  for (std::int64_t n : {1, 7, 10, 60, 97}) {
    for (int world = 1; world <= 5; ++world) {
      INFO("N = " << n << ", W = " << world);
      if (n < world) {
        CHECK_THAT(user_error([&] { dp::DistributedSampler(n, 0, world, 1, true, true); }),
                   Contains("--drop-last") && Contains(std::to_string(n) + " samples"));
        continue;
      }
      const auto shards = all_shards(n, world, 5, true, true, 1);
      const auto perm = dp::epoch_permutation(n, 5, 1);
      std::set<std::int64_t> seen;
      for (const auto& sh : shards) {
        REQUIRE(static_cast<std::int64_t>(sh.size()) == n / world);
        for (auto i : sh) CHECK(seen.insert(i).second);  // never seen on another rank
      }
      // Exactly the first floor(N/W)*W elements of the permutation: the tail is dropped.
      const std::set<std::int64_t> head(perm.begin(),
                                        perm.begin() + static_cast<std::ptrdiff_t>(n / world * world));
      CHECK(seen == head);
    }
  }
}

TEST_CASE("sampler: every world size sees the same global batches (golden property)", "[sampler]") {
  // For N divisible by W and B divisible by W, step s of an epoch on W ranks covers exactly
  // perm[s*B, (s+1)*B), so an N-rank run computes the same batches as a 1-rank run.
  const std::uint64_t seed = 2024;
  for (std::int64_t n : {60, 120, 36}) {
    for (int world = 1; world <= 6; ++world) {
      if (n % world != 0) continue;
      for (std::int64_t global_batch : {6, 12, 60}) {
        if (global_batch % world != 0) continue;
        for (std::int64_t epoch : {0, 1, 7}) {
          INFO("N = " << n << ", W = " << world << ", B = " << global_batch << ", epoch = " << epoch);
          const auto perm = dp::epoch_permutation(n, seed, epoch);
          for (bool drop_last : {false, true}) {
            const auto shards = all_shards(n, world, seed, true, drop_last, epoch);
            const std::int64_t b = global_batch / world;
            for (std::int64_t s = 0; s * global_batch < n; ++s) {
              std::multiset<std::int64_t> from_ranks;
              for (const auto& sh : shards)
                for (std::int64_t j = s * b;
                     j < std::min<std::int64_t>((s + 1) * b, static_cast<std::int64_t>(sh.size())); ++j)
                  from_ranks.insert(sh[static_cast<std::size_t>(j)]);
              const std::multiset<std::int64_t> expected(
                  perm.begin() + static_cast<std::ptrdiff_t>(s * global_batch),
                  perm.begin() + static_cast<std::ptrdiff_t>(std::min(n, (s + 1) * global_batch)));
              CHECK(from_ranks == expected);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("sampler: with padding, the last step's union is the wrapped tail", "[sampler]") {
  // N = 10, W = 4: total 12 = perm[0..9] + perm[0..1]; batch 4 = 1 per rank.
  const auto perm = dp::epoch_permutation(10, 3, 0);
  const auto shards = all_shards(10, 4, 3, true, false, 0);
  for (std::int64_t s = 0; s < 3; ++s) {
    std::multiset<std::int64_t> got, want;
    for (const auto& sh : shards) got.insert(sh[static_cast<std::size_t>(s)]);
    for (std::int64_t p = 4 * s; p < 4 * s + 4; ++p) want.insert(perm[static_cast<std::size_t>(p % 10)]);
    CHECK(got == want);
  }
}

TEST_CASE("gather_batch copies the requested rows, labels and targets", "[batch]") {
  SECTION("classification") {
    dp::Dataset ds;
    ds.count = 5;
    ds.features = 3;
    for (int i = 0; i < 15; ++i) ds.x.push_back(static_cast<float>(i) + 0.5f);
    ds.labels = {10, 11, 12, 13, 14};
    ds.num_classes = 15;
    dp::Batch b;
    dp::reserve_batch(ds, 4, &b);
    CHECK(b.x.size() == 12);
    CHECK(b.labels.size() == 4);
    CHECK(b.y.empty());
    const std::int64_t idx[4] = {4, 0, 4, 2};
    dp::gather_batch(ds, idx, 4, &b);
    CHECK(b.rows == 4);
    for (std::size_t r = 0; r < 4; ++r) {
      const auto src = static_cast<std::size_t>(idx[r]);
      for (std::size_t j = 0; j < 3; ++j) CHECK(b.x[r * 3 + j] == ds.x[src * 3 + j]);
      CHECK(b.labels[r] == ds.labels[src]);
    }
    // A smaller batch reuses the buffers; rows says how many are valid.
    const std::int64_t idx2[2] = {1, 3};
    dp::gather_batch(ds, idx2, 2, &b);
    CHECK(b.rows == 2);
    CHECK(b.x[0] == 3.5f);
    CHECK(b.x[5] == 11.5f);
    CHECK(b.labels[0] == 11);
    CHECK(b.labels[1] == 13);
    CHECK(b.x.size() == 12);
  }
  SECTION("regression with K targets") {
    dp::Dataset ds;
    ds.count = 4;
    ds.features = 2;
    ds.target_dim = 3;
    for (int i = 0; i < 8; ++i) ds.x.push_back(static_cast<float>(i));
    for (int i = 0; i < 12; ++i) ds.y.push_back(100.0f + static_cast<float>(i));
    dp::Batch b;
    dp::reserve_batch(ds, 3, &b);
    CHECK(b.labels.empty());
    CHECK(b.y.size() == 9);
    const std::int64_t idx[3] = {3, 1, 0};
    dp::gather_batch(ds, idx, 3, &b);
    CHECK(b.rows == 3);
    CHECK(b.x == std::vector<float>{6, 7, 2, 3, 0, 1});
    CHECK(b.y == std::vector<float>{109, 110, 111, 103, 104, 105, 100, 101, 102});
  }
  SECTION("a sampler shard gathered batch by batch visits exactly the shard") {
    dp::Dataset ds;
    ds.count = 10;
    ds.features = 1;
    for (int i = 0; i < 10; ++i) ds.x.push_back(static_cast<float>(i));
    ds.labels.assign(10, 0);
    ds.num_classes = 1;
    dp::DistributedSampler s(10, 1, 2, 77, true, false);
    dp::Batch b;
    dp::reserve_batch(ds, 2, &b);
    std::vector<std::int64_t> visited;
    const auto& shard = s.shard();
    for (std::int64_t at = 0; at < s.shard_count(); at += 2) {
      const std::int64_t rows = std::min<std::int64_t>(2, s.shard_count() - at);
      dp::gather_batch(ds, shard.data() + at, rows, &b);
      for (std::int64_t r = 0; r < rows; ++r)
        visited.push_back(static_cast<std::int64_t>(b.x[static_cast<std::size_t>(r)]));
    }
    CHECK(visited == shard);
  }
}
