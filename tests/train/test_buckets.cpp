// plan_buckets: the cut of the gradient buffer into all-reduce buckets.
#include <catch2/catch.hpp>

#include "src/train/reducer.h"

TEST_CASE("buckets tile the buffer: a small first bucket, then --bucket-mb each", "[buckets]") {
  // 10M floats = 40 MB, first 1 MB, then 4 MB buckets.
  const std::int64_t count = 10'000'000;
  const auto plan = dp::plan_buckets(count, 1 << 20, 4 << 20);
  REQUIRE(plan.size() == 1 + (count - (1 << 18) + (1 << 20) - 1) / (1 << 20));
  CHECK(plan.front().begin == 0);
  CHECK(plan.front().end == (1 << 18));  // 1 MB of floats
  for (std::size_t i = 1; i < plan.size(); ++i) {
    CHECK(plan[i].begin == plan[i - 1].end);  // contiguous, in backward order
    if (i + 1 < plan.size()) CHECK(plan[i].end - plan[i].begin == (1 << 20));
  }
  CHECK(plan.back().end == count);
}

TEST_CASE("bucket size 0 means one bucket; tiny buffers are one bucket too", "[buckets]") {
  auto plan = dp::plan_buckets(235147, 1 << 20, 0);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].begin == 0);
  CHECK(plan[0].end == 235147);
  plan = dp::plan_buckets(1000, 1 << 20, 25 << 20);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].end == 1000);
  plan = dp::plan_buckets(5, 4, 4);  // 1 float per bucket
  REQUIRE(plan.size() == 5);
  for (std::int64_t i = 0; i < 5; ++i)
    CHECK(plan[static_cast<std::size_t>(i)].end - plan[static_cast<std::size_t>(i)].begin == 1);
}
