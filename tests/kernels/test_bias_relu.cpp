// bias_add / bias_backward and relu_forward / relu_backward against naive double
// references (their finite-difference checks are in test_backward_fd.cpp).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/bias.h"
#include "kernels/relu.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::test::Mismatches;
const dp::kernels::Context kCtx;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

const std::int64_t kRows[] = {1, 7, 4097};
const std::int64_t kCols[] = {1, 5, 130};

}  // namespace

TEST_CASE("bias_add: Y[i,j] += b[j] for rows 1, odd and large", "[bias]") {
  std::uint64_t seed = 1;
  for (auto rows : kRows)
    for (auto cols : kCols) {
      INFO("rows=" << rows << " cols=" << cols);
      dp::Rng rng(++seed);
      const auto y0 = dp::test::normal_floats(rng, rows * cols, 3.0);
      const auto b = dp::test::normal_floats(rng, cols, 1.0);
      auto y = y0;
      dp::kernels::bias_add(kCtx, y.data(), b.data(), rows, cols);
      Mismatches mm;
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j) {
          const auto at = i * cols + j;
          // One correctly rounded float addition: half an ulp of the result.
          const double want = static_cast<double>(y0[at]) + static_cast<double>(b[j]);
          mm.check(at, static_cast<double>(y[at]), want,
                   dp::tol::kElementwiseRel * std::fabs(want) + dp::tol::kElementwiseAbs);
        }
      INFO(mm.report());
      REQUIRE(mm.checked() == rows * cols);
      REQUIRE(mm.wrong() == 0);
    }
}

TEST_CASE("bias_backward: db[j] = sum_i dY[i,j], overwriting db", "[bias]") {
  std::uint64_t seed = 50;
  for (auto rows : kRows)
    for (auto cols : kCols) {
      INFO("rows=" << rows << " cols=" << cols);
      dp::Rng rng(++seed);
      // Mean-shifted per column so the sums are far from zero for some columns and
      // cancel for others.
      auto dy = dp::test::normal_floats(rng, rows * cols, 1.0);
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j) dy[i * cols + j] += static_cast<float>(j % 3) - 1.0f;
      std::vector<float> db(cols, kNaN);  // must be overwritten, not accumulated into
      dp::kernels::bias_backward(kCtx, dy.data(), db.data(), rows, cols);
      Mismatches mm;
      for (std::int64_t j = 0; j < cols; ++j) {
        double want = 0.0, scale = 0.0;
        for (std::int64_t i = 0; i < rows; ++i) {
          want += static_cast<double>(dy[i * cols + j]);
          scale += std::fabs(static_cast<double>(dy[i * cols + j]));
        }
        mm.check(j, static_cast<double>(db[j]), want, dp::tol::reduction_tol(rows) * scale);
      }
      INFO(mm.report());
      REQUIRE(mm.checked() == cols);
      REQUIRE(mm.wrong() == 0);
    }
}

TEST_CASE("bias_backward: zero rows gives db = 0", "[bias]") {
  std::vector<float> db(4, kNaN);
  dp::kernels::bias_backward(kCtx, nullptr, db.data(), 0, 4);
  for (float x : db) REQUIRE(x == 0.0f);
}

TEST_CASE("bias_backward with accumulate adds the column sums to db (gradient accumulation)", "[bias]") {
  dp::Rng rng(77);
  const std::int64_t rows = 33, cols = 17;
  const auto dy = dp::test::normal_floats(rng, rows * cols, 1.0);
  const auto start = dp::test::normal_floats(rng, cols, 5.0);
  std::vector<float> db = start;
  dp::kernels::bias_backward(kCtx, dy.data(), db.data(), rows, cols, /*accumulate=*/true);
  Mismatches mm;
  for (std::int64_t j = 0; j < cols; ++j) {
    double want = static_cast<double>(start[j]), scale = std::fabs(want);
    for (std::int64_t i = 0; i < rows; ++i) {
      want += static_cast<double>(dy[i * cols + j]);
      scale += std::fabs(static_cast<double>(dy[i * cols + j]));
    }
    mm.check(j, static_cast<double>(db[j]), want, dp::tol::reduction_tol(rows + 1) * scale);
  }
  INFO(mm.report());
  REQUIRE(mm.wrong() == 0);
  // Zero rows with accumulate leaves db as it was.
  std::vector<float> same = start;
  dp::kernels::bias_backward(kCtx, nullptr, same.data(), 0, cols, /*accumulate=*/true);
  REQUIRE(same == start);
}

TEST_CASE("relu_forward: y = max(x, 0), NaN propagates, in place allowed", "[relu]") {
  const float denorm = std::numeric_limits<float>::denorm_min();
  std::vector<float> x = {0.0f,  -0.0f, -1.0f, 1.0f,  -denorm, denorm, kNaN,
                          -kNaN, kInf,  -kInf, 3e38f, -3e38f,  1e-30f, -1e-30f};
  dp::Rng rng(3);
  for (int i = 0; i < 1001; ++i) x.push_back(static_cast<float>(rng.normal()));
  const auto count = static_cast<std::int64_t>(x.size());

  std::vector<float> y(x.size(), 42.0f);
  dp::kernels::relu_forward(kCtx, x.data(), y.data(), count);
  std::int64_t positives = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    INFO("i=" << i << " x=" << x[i] << " y=" << y[i]);
    if (std::isnan(x[i])) {
      REQUIRE(std::isnan(y[i]));
    } else if (x[i] > 0.0f) {
      REQUIRE(dp::test::same_bits(y[i], x[i]));
      ++positives;
    } else {
      REQUIRE(y[i] == 0.0f);
    }
  }
  REQUIRE(positives > 400);  // the random part exercises both branches

  // In place: bit-identical to the out-of-place result (NaN payloads aside).
  auto inplace = x;
  dp::kernels::relu_forward(kCtx, inplace.data(), inplace.data(), count);
  for (std::int64_t i = 0; i < count; ++i) {
    INFO("i=" << i);
    REQUIRE((dp::test::same_bits(inplace[i], y[i]) || (std::isnan(inplace[i]) && std::isnan(y[i]))));
  }
}

TEST_CASE("relu_backward: dx = dy * [y > 0] from the forward output, in place allowed", "[relu]") {
  dp::Rng rng(4);
  std::vector<float> x = {0.0f, -0.0f, -2.0f, 2.0f, std::numeric_limits<float>::denorm_min()};
  for (int i = 0; i < 1001; ++i) x.push_back(static_cast<float>(rng.normal()));
  const auto count = static_cast<std::int64_t>(x.size());
  std::vector<float> y(x.size());
  dp::kernels::relu_forward(kCtx, x.data(), y.data(), count);
  const auto dy = dp::test::normal_floats(rng, x.size(), 2.0);

  std::vector<float> dx(x.size(), kNaN);
  dp::kernels::relu_backward(kCtx, y.data(), dy.data(), dx.data(), count);
  std::int64_t passed = 0, blocked = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    INFO("i=" << i << " x=" << x[i] << " dy=" << dy[i] << " dx=" << dx[i]);
    if (x[i] > 0.0f) {
      REQUIRE(dp::test::same_bits(dx[i], dy[i]));
      ++passed;
    } else {
      REQUIRE(dx[i] == 0.0f);  // derivative at exactly 0 is 0
      ++blocked;
    }
  }
  REQUIRE(passed > 400);
  REQUIRE(blocked > 400);

  auto inplace = dy;
  dp::kernels::relu_backward(kCtx, y.data(), inplace.data(), inplace.data(), count);
  for (std::int64_t i = 0; i < count; ++i) {
    INFO("i=" << i);
    REQUIRE(dp::test::same_bits(inplace[i], dx[i]));
  }
}
