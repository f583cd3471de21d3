// MpiCommunicator with inputs whose exact result is known: every rank checks every
// element, counts the wrong ones, and the count is reduced over ranks (a wrong element
// on any rank fails the test on every rank).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "comm/bootstrap.h"
#include "comm/mpi_comm.h"
#include "src/train/agree.h"
#include "src/train/replica_check.h"
#include "src/util/check.h"
#include "tests/mpi/mpi_test_util.h"

namespace {

using dp::test::world;

// Total number of wrong elements over all ranks.
std::int64_t wrong_everywhere(std::int64_t wrong_here) {
  REQUIRE(world().all_reduce(&wrong_here, 1, dp::ReduceOp::sum).ok());
  return wrong_here;
}

}  // namespace

TEST_CASE("rank info is consistent", "[comm]") {
  auto& c = world();
  const auto& info = c.info();
  CHECK(info.world_size >= 1);
  CHECK(info.rank >= 0);
  CHECK(info.rank < info.world_size);
  CHECK(info.local_rank < info.local_size);
  CHECK_FALSE(info.host.empty());
  // Every rank of this test runs on one host here: local ranks are a permutation.
  std::int64_t local_sum = info.local_rank;
  REQUIRE(c.all_reduce(&local_sum, 1, dp::ReduceOp::sum).ok());
  std::int64_t local_size_max = info.local_size;
  REQUIRE(c.all_reduce(&local_size_max, 1, dp::ReduceOp::max).ok());
  if (local_size_max == info.world_size) {
    CHECK(local_sum == std::int64_t{info.world_size} * (info.world_size - 1) / 2);
    CHECK(info.node == 0);  // one node: its lowest rank is 0
  }
  // The node is named by its lowest rank, which is its local rank 0.
  CHECK(info.node <= info.rank);
  CHECK((info.node == info.rank) == (info.local_rank == 0));
}

TEST_CASE("all_reduce sum of float32 integers is exact", "[comm]") {
  auto& c = world();
  const std::int64_t w = c.world_size(), r = c.rank();
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1} << 20 | 3}) {
    // x[i] = r*1000 + (i mod 4096): integers < 2^24, so every partial sum is exact.
    std::vector<float> x(count);
    for (std::size_t i = 0; i < count; ++i)
      x[i] = static_cast<float>(r * 1000 + static_cast<std::int64_t>(i % 4096));
    REQUIRE(c.all_reduce(x.data(), count, dp::ReduceOp::sum).ok());
    std::int64_t wrong = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const double expect = 1000.0 * static_cast<double>(w * (w - 1) / 2) +
                            static_cast<double>(w) * static_cast<double>(i % 4096);
      wrong += static_cast<double>(x[i]) != expect;
    }
    INFO("count " << count);
    CHECK(wrong_everywhere(wrong) == 0);
  }
}

TEST_CASE("all_reduce min/max and the integer and double types", "[comm]") {
  auto& c = world();
  const std::int64_t w = c.world_size(), r = c.rank();
  std::vector<double> d = {static_cast<double>(r), -static_cast<double>(r), 0.5 * static_cast<double>(r)};
  REQUIRE(c.all_reduce(d.data(), d.size(), dp::ReduceOp::max).ok());
  CHECK(d[0] == static_cast<double>(w - 1));
  CHECK(d[1] == 0.0);
  CHECK(d[2] == 0.5 * static_cast<double>(w - 1));
  std::vector<std::int64_t> i64 = {r - 5, r * (1LL << 40)};
  REQUIRE(c.all_reduce(i64.data(), i64.size(), dp::ReduceOp::min).ok());
  CHECK(i64[0] == -5);
  CHECK(i64[1] == 0);
  std::uint64_t u = (1ULL << 62) + static_cast<std::uint64_t>(r);
  REQUIRE(c.all_reduce(&u, 1, dp::ReduceOp::sum).ok());
  CHECK(u == static_cast<std::uint64_t>(w) * (1ULL << 62) + static_cast<std::uint64_t>(w * (w - 1) / 2));
}

TEST_CASE("all_reduce_avg divides the sum by the world size", "[comm]") {
  auto& c = world();
  const std::int64_t w = c.world_size(), r = c.rank();
  std::vector<float> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(r + 1) * static_cast<float>(i % 16);
  REQUIRE(c.all_reduce_avg(x.data(), x.size(), dp::DataType::f32).ok());
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    // mean_r (r+1)*k = k*(w+1)/2; with w in {1,2,4} the 1/w scale is exact in float.
    const double expect = static_cast<double>(i % 16) * static_cast<double>(w + 1) / 2.0;
    wrong += std::abs(static_cast<double>(x[i]) - expect) > 1e-6 * expect;
  }
  CHECK(wrong_everywhere(wrong) == 0);
  std::int64_t n = 1;
  CHECK_FALSE(c.all_reduce_avg(&n, 1, dp::DataType::i64).ok());  // averaging needs a float type
}

TEST_CASE("broadcast from every root and all_gather", "[comm]") {
  auto& c = world();
  const int w = c.world_size(), r = c.rank();
  for (int root = 0; root < w; ++root) {
    std::vector<std::uint8_t> buf(1001);
    for (std::size_t i = 0; i < buf.size(); ++i)
      buf[i] = static_cast<std::uint8_t>(r == root ? (i * 7 + static_cast<std::size_t>(root)) & 0xff : 0xAA);
    REQUIRE(c.broadcast(buf.data(), buf.size(), root).ok());
    std::int64_t wrong = 0;
    for (std::size_t i = 0; i < buf.size(); ++i)
      wrong += buf[i] != static_cast<std::uint8_t>((i * 7 + static_cast<std::size_t>(root)) & 0xff);
    CHECK(wrong_everywhere(wrong) == 0);
  }
  const std::uint64_t mine = 0x1000ULL * static_cast<std::uint64_t>(r) + 42;
  std::vector<std::uint64_t> all(static_cast<std::size_t>(w));
  REQUIRE(c.all_gather(&mine, all.data(), sizeof mine).ok());
  for (int q = 0; q < w; ++q)
    CHECK(all[static_cast<std::size_t>(q)] == 0x1000ULL * static_cast<std::uint64_t>(q) + 42);
  CHECK(c.barrier().ok());
}

TEST_CASE("a bad argument comes back as a Status, not an abort", "[comm]") {
  auto& c = world();
  int x = 0;
  const dp::Status s = c.broadcast(&x, sizeof x, c.world_size());  // root out of range
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("root"));
}

TEST_CASE("user errors are agreed: every rank throws the lowest failing rank's message", "[comm]") {
  auto& c = world();
  const int w = c.world_size(), r = c.rank();
  CHECK_NOTHROW(dp::agree_on_user_errors(c, [] {}));
  // Only the last rank fails: every rank must throw its message.
  try {
    dp::agree_on_user_errors(c, [&] {
      if (r == w - 1) throw dp::UserError("data.npy: broken on rank " + std::to_string(r));
    });
    FAIL("no exception");
  } catch (const dp::UserError& e) {
    CHECK(std::string(e.what()) == "data.npy: broken on rank " + std::to_string(w - 1));
  }
  // All fail: rank 0's message wins.
  try {
    dp::agree_on_user_errors(c, [&] { throw dp::UserError("m" + std::to_string(r)); });
    FAIL("no exception");
  } catch (const dp::UserError& e) {
    CHECK(std::string(e.what()) == "m0");
  }
}

TEST_CASE("replica check passes on identical parameters and names diverged ranks", "[comm]") {
  auto& c = world();
  const int w = c.world_size(), r = c.rank();
  std::vector<float> p(12345);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(i) * 0.25f;
  CHECK_NOTHROW(dp::check_replicas(c, p.data(), static_cast<std::int64_t>(p.size()), 7));
  if (w < 2) return;
  // One bit of one element on the last rank.
  if (r == w - 1) {
    std::uint32_t bits;
    std::memcpy(&bits, &p[777], 4);
    bits ^= 1u;
    std::memcpy(&p[777], &bits, 4);
  }
  try {
    dp::check_replicas(c, p.data(), static_cast<std::int64_t>(p.size()), 7);
    FAIL("drift not detected");
  } catch (const dp::RunError& e) {
    CHECK_THAT(e.what(), Catch::Contains("step 7") && Catch::Contains("rank(s) " + std::to_string(w - 1)));
  }
}

// glibc's own allocator only (the sanitizers bring their own, which ignore these options),
// and one that reports mapped blocks (mallinfo2, glibc >= 2.33).
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if __GLIBC_PREREQ(2, 33)
namespace {
// Memory-mapped blocks glibc holds while a block of nbytes is allocated (and touched).
std::size_t mapped_blocks_while_holding(std::size_t nbytes) {
  char* volatile block = static_cast<char*>(std::malloc(nbytes));
  REQUIRE(block != nullptr);
  std::memset(block, 1, nbytes);
  const std::size_t mapped = mallinfo2().hblks;
  std::free(block);
  return mapped;
}
// In the main thread and in one started now (after mpi_init, as the communication thread).
void check_from_heap(std::size_t nbytes) {
  const std::size_t mapped_before = mallinfo2().hblks;
  CHECK(mapped_blocks_while_holding(nbytes) == mapped_before);
  std::size_t mapped_in_thread = 0;
  std::thread other([&] { mapped_in_thread = mapped_blocks_while_holding(nbytes); });
  other.join();
  CHECK(mapped_in_thread == mapped_before);
}
}  // namespace

TEST_CASE("large blocks (MPI's scratch) come from the heap, in the main and another thread",
          "[comm][malloc]") {
  if (dp::user_malloc_settings()) {
    WARN("MALLOC_* or GLIBC_TUNABLES malloc settings are set: dptrain leaves them alone, nothing to check");
    return;
  }
  // mpi_init alone (nothing called here yet): 48 MiB, above glibc's own 32 MiB at most.
  check_from_heap(std::size_t{48} << 20);
  // Raised for a larger message: 100 MiB, also above another thread's 64 MiB arena.
  REQUIRE(dp::keep_large_blocks_in_heap(std::size_t{100} << 20));
  check_from_heap(std::size_t{100} << 20);
  CHECK(dp::keep_large_blocks_in_heap(std::size_t{10} << 20));       // already covered
  CHECK_FALSE(dp::keep_large_blocks_in_heap(std::size_t{3} << 30));  // beyond mallopt's int
}

TEST_CASE("the user's glibc malloc settings are left alone", "[comm][malloc]") {
  // Sets NAME to VALUE while the check runs, then restores what was there.
  auto with_env = [](const char* name, const char* value, auto check) {
    const char* saved = std::getenv(name);
    const std::string saved_value = saved ? saved : "";
    REQUIRE(setenv(name, value, 1) == 0);
    check();
    if (saved)
      setenv(name, saved_value.c_str(), 1);
    else
      unsetenv(name);
  };
  with_env("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0", [] {
    CHECK(dp::user_malloc_settings());
    CHECK_FALSE(dp::keep_large_blocks_in_heap(std::size_t{200} << 20));
  });
  with_env("MALLOC_ARENA_MAX", "4",
           [] { CHECK_FALSE(dp::keep_large_blocks_in_heap(std::size_t{200} << 20)); });
  with_env("GLIBC_TUNABLES", "glibc.rtld.nns=4", [] { CHECK_FALSE(dp::user_malloc_settings()); });
}
#endif
#endif
