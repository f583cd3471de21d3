// Every backward kernel against central finite differences of a double-precision
// reference of its forward function. The float kernel's analytic gradient is compared
// with tol::kFiniteDiffFloatRel (see tests/tolerance.h); GEMM's part in backward is
// covered by the model test (tests/model).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/bias.h"
#include "kernels/mse.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::test::Mismatches;
const dp::kernels::Context kCtx;

std::vector<double> to_double(const std::vector<float>& x) {
  return std::vector<double>(x.begin(), x.end());
}

// Central differences (f(x + h e_k) - f(x - h e_k)) / 2h in double for every k.
template <typename F>
std::vector<double> central_fd(const F& f, std::vector<double> x) {
  const double h = dp::tol::kFiniteDiffStep;
  std::vector<double> g(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double xk = x[k];
    x[k] = xk + h;
    const double fp = f(x);
    x[k] = xk - h;
    const double fm = f(x);
    x[k] = xk;
    g[k] = (fp - fm) / (2.0 * h);
  }
  return g;
}

// |g - fd| <= kFiniteDiffFloatRel * (|fd| + max|fd|); empty string when all match.
std::string compare_fd(const std::vector<float>& analytic, const std::vector<double>& fd) {
  double scale = 0.0;
  for (double x : fd) scale = std::max(scale, std::fabs(x));
  Mismatches mm;
  for (std::size_t k = 0; k < fd.size(); ++k)
    mm.check(static_cast<std::int64_t>(k), static_cast<double>(analytic[k]), fd[k],
             dp::tol::kFiniteDiffFloatRel * (std::fabs(fd[k]) + scale));
  if (scale == 0.0) return "finite differences are all zero: the test is vacuous";
  if (analytic.size() != fd.size()) return "size mismatch";
  return mm.wrong() == 0 ? std::string() : mm.report();
}

}  // namespace

TEST_CASE("softmax_xent backward matches finite differences of grad_scale * sum_i CE_i",
          "[fd][softmax_xent]") {
  const std::int64_t rows = 5, classes = 7;
  for (float s : {0.2f, 2.5f, -1.0f}) {
    INFO("grad_scale=" << s);
    dp::Rng rng(200);
    const auto logits = dp::test::normal_floats(rng, rows * classes, 2.0);
    const auto labels = dp::test::random_labels(rng, rows, classes);
    // Reference forward in double: loss(z) = s * sum_i (logsumexp(z_i) - z_i[y_i]).
    auto loss = [&](const std::vector<double>& z) {
      double total = 0.0;
      for (std::int64_t i = 0; i < rows; ++i) {
        const double* row = z.data() + i * classes;
        const double zmax = *std::max_element(row, row + classes);
        double sum = 0.0;
        for (std::int64_t j = 0; j < classes; ++j) sum += std::exp(row[j] - zmax);
        total += zmax + std::log(sum) - row[labels[i]];
      }
      return static_cast<double>(s) * total;
    };
    const auto fd = central_fd(loss, to_double(logits));
    std::vector<float> losses(rows), dz(rows * classes);
    dp::kernels::softmax_xent_forward_backward(kCtx, logits.data(), labels.data(), s, losses.data(),
                                               dz.data(), rows, classes);
    CHECK(compare_fd(dz, fd) == "");
  }
}

TEST_CASE("mse backward matches finite differences of grad_scale * sum_ij (p - t)^2", "[fd][mse]") {
  const std::int64_t rows = 4, cols = 3;
  for (float s : {1.0f / 12.0f, -1.5f}) {
    INFO("grad_scale=" << s);
    dp::Rng rng(201);
    const auto pred = dp::test::normal_floats(rng, rows * cols);
    const auto target = dp::test::normal_floats(rng, rows * cols);
    auto loss = [&](const std::vector<double>& p) {
      double total = 0.0;
      for (std::size_t k = 0; k < p.size(); ++k) {
        const double d = p[k] - static_cast<double>(target[k]);
        total += d * d;
      }
      return static_cast<double>(s) * total;
    };
    const auto fd = central_fd(loss, to_double(pred));
    std::vector<float> losses(rows), dpred(rows * cols);
    dp::kernels::mse_forward_backward(kCtx, pred.data(), target.data(), s, losses.data(), dpred.data(), rows,
                                      cols);
    CHECK(compare_fd(dpred, fd) == "");
  }
}

TEST_CASE("relu backward matches finite differences of sum_i w_i * relu(x_i)", "[fd][relu]") {
  const std::int64_t count = 64;
  dp::Rng rng(202);
  // Inputs at least 0.1 away from the kink, both signs.
  std::vector<float> x(count);
  for (auto& xi : x) xi = static_cast<float>((rng.uniform01() < 0.5 ? -1.0 : 1.0) * rng.uniform(0.1, 2.0));
  const auto w = dp::test::normal_floats(rng, count);
  auto f = [&](const std::vector<double>& xd) {
    double total = 0.0;
    for (std::size_t i = 0; i < xd.size(); ++i)
      total += static_cast<double>(w[i]) * (xd[i] > 0.0 ? xd[i] : 0.0);
    return total;
  };
  const auto fd = central_fd(f, to_double(x));
  std::vector<float> y(count), dx(count);
  dp::kernels::relu_forward(kCtx, x.data(), y.data(), count);
  dp::kernels::relu_backward(kCtx, y.data(), w.data(), dx.data(), count);
  CHECK(compare_fd(dx, fd) == "");
  std::int64_t zeros = 0;
  for (double g : fd) zeros += g == 0.0 ? 1 : 0;
  REQUIRE(zeros > 10);  // both branches are exercised
  REQUIRE(zeros < count - 10);
}

TEST_CASE("bias backward matches finite differences of sum_ij w_ij * (Y_ij + b_j)", "[fd][bias]") {
  for (std::int64_t rows : {1, 6, 33}) {
    const std::int64_t cols = 5;
    INFO("rows=" << rows);
    dp::Rng rng(static_cast<std::uint64_t>(203 + rows));
    const auto y = dp::test::normal_floats(rng, rows * cols);
    const auto b = dp::test::normal_floats(rng, cols);
    const auto w = dp::test::normal_floats(rng, rows * cols);  // dL/dY of the linear function
    // Reference forward in double: bias_add, then the linear function.
    auto f = [&](const std::vector<double>& bd) {
      double total = 0.0;
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j)
          total += static_cast<double>(w[i * cols + j]) * (static_cast<double>(y[i * cols + j]) + bd[j]);
      return total;
    };
    const auto fd = central_fd(f, to_double(b));
    std::vector<float> db(cols);
    dp::kernels::bias_backward(kCtx, w.data(), db.data(), rows, cols);
    CHECK(compare_fd(db, fd) == "");
  }
}

TEST_CASE("chained kernels: bias_add -> relu -> softmax_xent backward matches finite differences", "[fd]") {
  // A composite: loss(b) = (1/rows) sum_i CE(relu(Y_i + b), y_i); the analytic gradient is
  // softmax_xent_forward_backward -> relu_backward -> bias_backward, all in place, the way
  // the model chains them.
  const std::int64_t rows = 6, cols = 9;
  dp::Rng rng(210);
  const auto y = dp::test::normal_floats(rng, rows * cols, 1.5);
  const auto b = dp::test::normal_floats(rng, cols, 0.5);
  const auto labels = dp::test::random_labels(rng, rows, cols);
  const float s = 1.0f / static_cast<float>(rows);
  // Keep every pre-activation away from the ReLU kink.
  for (std::int64_t k = 0; k < rows * cols; ++k)
    REQUIRE(std::fabs(static_cast<double>(y[k]) + static_cast<double>(b[k % cols])) > 1e-3);

  auto loss = [&](const std::vector<double>& bd) {
    double total = 0.0;
    for (std::int64_t i = 0; i < rows; ++i) {
      std::vector<double> a(cols);
      for (std::int64_t j = 0; j < cols; ++j)
        a[j] = std::max(0.0, static_cast<double>(y[i * cols + j]) + bd[j]);
      const double amax = *std::max_element(a.begin(), a.end());
      double sum = 0.0;
      for (double aj : a) sum += std::exp(aj - amax);
      total += amax + std::log(sum) - a[labels[i]];
    }
    return static_cast<double>(s) * total;
  };
  const auto fd = central_fd(loss, to_double(b));

  auto act = y;
  dp::kernels::bias_add(kCtx, act.data(), b.data(), rows, cols);
  dp::kernels::relu_forward(kCtx, act.data(), act.data(), rows * cols);
  const auto relu_out = act;
  std::vector<float> losses(rows), db(cols);
  dp::kernels::softmax_xent_forward_backward(kCtx, act.data(), labels.data(), s, losses.data(), act.data(),
                                             rows, cols);
  dp::kernels::relu_backward(kCtx, relu_out.data(), act.data(), act.data(), rows * cols);
  dp::kernels::bias_backward(kCtx, act.data(), db.data(), rows, cols);
  CHECK(compare_fd(db, fd) == "");
}
