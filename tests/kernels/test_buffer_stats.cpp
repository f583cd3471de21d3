// buffer_stats: sum of squares of the finite elements (for the gradient norm) and the
// count of NaN/Inf elements, against a naive double-precision reference.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "kernels/buffer_stats.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

TEST_CASE("buffer_stats: sum of squares and non-finite count match a double reference", "[buffer_stats]") {
  const dp::kernels::Context ctx;
  dp::Rng rng(31);
  for (std::int64_t count : {0, 1, 7, 4095, 4096, 4097, 100003}) {
    INFO("count " << count);
    auto x = dp::test::normal_floats(rng, static_cast<std::size_t>(count), 3.0);
    std::int64_t expect_bad = 0;
    // Sprinkle NaN, +Inf and -Inf at deterministic places.
    for (std::int64_t i = 3; i < count; i += 1009) {
      x[static_cast<std::size_t>(i)] = i % 3 == 0   ? std::numeric_limits<float>::quiet_NaN()
                                       : i % 3 == 1 ? std::numeric_limits<float>::infinity()
                                                    : -std::numeric_limits<float>::infinity();
      ++expect_bad;
    }
    double expect_ss = 0.0;
    for (float v : x)
      if (std::isfinite(v)) expect_ss += static_cast<double>(v) * static_cast<double>(v);
    const dp::kernels::BufferStats s = dp::kernels::buffer_stats(ctx, x.data(), count);
    CHECK(s.nonfinite == expect_bad);
    // Float partial sums of at most 4096 positive terms: relative error <= 4096 u.
    CHECK(std::abs(s.sum_squares - expect_ss) <= 4096 * dp::tol::kUnitRoundoff * expect_ss);
  }
}
