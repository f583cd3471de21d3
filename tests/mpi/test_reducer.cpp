// GradientReducer under mpiexec: bucketed all-reduces, handed to the communication
// thread in pieces as "backward" finishes them, give exactly the known sums; the same
// with a single bucket and inline.
#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "comm/bootstrap.h"
#include "src/train/reducer.h"
#include "tests/mpi/mpi_test_util.h"

using dp::test::world;

namespace {

// x[i] = rank * 1000 + i mod 4096: exact float sums (integers below 2^24).
std::vector<float> rank_values(std::size_t count, int rank) {
  std::vector<float> x(count);
  for (std::size_t i = 0; i < count; ++i) x[i] = static_cast<float>(rank * 1000 + static_cast<int>(i % 4096));
  return x;
}

std::int64_t wrong_sums(const std::vector<float>& x, int world_size) {
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double expect = 1000.0 * world_size * (world_size - 1) / 2 +
                          static_cast<double>(world_size) * static_cast<double>(i % 4096);
    wrong += static_cast<double>(x[i]) != expect;
  }
  std::int64_t total = wrong;
  REQUIRE(world().all_reduce(&total, 1, dp::ReduceOp::sum).ok());
  return total;
}

}  // namespace

TEST_CASE("bucketed all-reduce with the communication thread gives the exact sums", "[reducer]") {
  auto& c = world();
  dp::GuardedCommunicator guarded(c, 60);
  const std::size_t count = 300'001;
  for (bool thread : {true, false}) {
    for (std::int64_t bucket_nbytes : {std::int64_t{0}, std::int64_t{4096}, std::int64_t{100'000}}) {
      INFO("thread " << thread << ", bucket bytes " << bucket_nbytes);
      std::vector<float> x = rank_values(count, c.rank());
      const auto plan = dp::plan_buckets(static_cast<std::int64_t>(count),
                                         std::min<std::int64_t>(bucket_nbytes, 1000), bucket_nbytes);
      dp::GradientReducer reducer(guarded, x.data(), plan, thread && dp::mpi_thread_serialized(), nullptr);
      for (int step = 1; step <= 3; ++step) {
        if (step > 1) {
          const std::vector<float> fresh = rank_values(count, c.rank());
          std::copy(fresh.begin(), fresh.end(), x.begin());  // in place: the reducer holds x.data()
        }
        reducer.start_step(step);
        // "Backward" finishes the buffer in uneven pieces.
        for (std::int64_t end = 777; end < static_cast<std::int64_t>(count); end += 50'003)
          reducer.ready(end);
        dp::StepCommTimes times;
        REQUIRE(reducer.finish(&times).ok());
        CHECK(times.busy_s >= 0.0);
        CHECK(times.exposed_s >= 0.0);
        CHECK(wrong_sums(x, c.world_size()) == 0);
      }
      CHECK(reducer.overlapping() == (thread && dp::mpi_thread_serialized() && plan.size() > 1));
    }
  }
}
