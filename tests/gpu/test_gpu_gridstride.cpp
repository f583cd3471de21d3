// Sizes beyond one pass of the capped grids (16384 blocks x 256 threads = 4,194,304
// threads; 131,072 warps for the row kernels), so every grid-stride loop runs more than
// once: relu (elementwise), argmax and softmax (a warp per row), bias_backward (columns).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/accuracy.h"
#include "kernels/bias.h"
#include "kernels/device.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "src/tensor/buffer.h"
#include "src/util/rng.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {
template <typename T>
dp::Array<T> on_device(const std::vector<T>& h, const dp::kernels::Context& ctx) {
  dp::Array<T> a(dp::Backend::cuda, static_cast<std::int64_t>(h.size()));
  a.upload(h, ctx);
  return a;
}
}  // namespace

TEST_CASE("grid-stride loops: sizes beyond one pass of the grid", "[gpu][gridstride]") {
  dp::device::Runtime rt(0, false);
  const auto& ctx = rt.context();
  const dp::kernels::Context cpu;
  dp::Rng rng(23);

  // relu: 4M + 5 elements, identical to the CPU twin.
  const std::int64_t n = (std::int64_t{1} << 22) + 5;
  const auto x = dp::test::normal_floats(rng, static_cast<std::size_t>(n));
  std::vector<float> y_cpu(x.size());
  dp::kernels::relu_forward(cpu, x.data(), y_cpu.data(), n);
  auto d_x = on_device(x, ctx);
  dp::Array<float> d_y(dp::Backend::cuda, n);
  dp::kernels::relu_forward(ctx, d_x.data(), d_y.data(), n);
  CHECK(d_y.to_host(ctx) == y_cpu);

  // argmax and softmax over 140,000 rows (> 131,072 warps).
  const std::int64_t rows = 140000, classes = 2;
  const auto z = dp::test::normal_floats(rng, static_cast<std::size_t>(rows * classes));
  const auto labels = dp::test::random_labels(rng, static_cast<std::size_t>(rows), classes);
  std::vector<std::int32_t> pred_cpu(static_cast<std::size_t>(rows));
  dp::kernels::argmax(cpu, z.data(), pred_cpu.data(), rows, classes);
  auto d_z = on_device(z, ctx);
  auto d_labels = on_device(labels, ctx);
  dp::Array<std::int32_t> d_pred(dp::Backend::cuda, rows);
  dp::kernels::argmax(ctx, d_z.data(), d_pred.data(), rows, classes);
  CHECK(d_pred.to_host(ctx) == pred_cpu);

  std::vector<float> loss_cpu(static_cast<std::size_t>(rows));
  dp::kernels::softmax_xent_forward(cpu, z.data(), labels.data(), loss_cpu.data(), rows, classes);
  dp::Array<float> d_loss(dp::Backend::cuda, rows);
  dp::kernels::softmax_xent_forward(ctx, d_z.data(), d_labels.data(), d_loss.data(), rows, classes);
  const auto loss_gpu = d_loss.to_host(ctx);
  dp::test::Mismatches mm;
  for (std::int64_t i = 0; i < rows; ++i) {
    const auto at = static_cast<std::size_t>(i);
    // A 2-class loss is O(1): a few elementwise roundings plus a 2-term sum.
    mm.check(i, loss_gpu[at], loss_cpu[at],
             (dp::tol::kGpuElementwiseRel + dp::tol::twin_reduction_tol(classes)) *
                 (1.0 + std::fabs(loss_cpu[at])));
  }
  INFO(mm.report());
  CHECK(mm.wrong() == 0);

  // bias_backward over 600,000 columns (> one pass of column tiles) and 2 rows.
  const std::int64_t cols = 600000;
  const auto dy = dp::test::normal_floats(rng, static_cast<std::size_t>(2 * cols));
  std::vector<float> db_cpu(static_cast<std::size_t>(cols));
  dp::kernels::bias_backward(cpu, dy.data(), db_cpu.data(), 2, cols);
  auto d_dy = on_device(dy, ctx);
  dp::Array<float> d_db(dp::Backend::cuda, cols);
  dp::kernels::bias_backward(ctx, d_dy.data(), d_db.data(), 2, cols);
  // Two terms: the sum of two floats is correctly rounded in either order.
  CHECK(d_db.to_host(ctx) == db_cpu);
}
