// The GPU training step's loss path: softmax_xent_rows / mse_rows are the fused kernels
// without the host total (bit-identical rows and gradients), and accumulate_sum leaves
// the scaled double sum on the device, matching the CPU twin to a float rounding.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/device.h"
#include "kernels/loss_rows.h"
#include "kernels/mse.h"
#include "kernels/softmax_xent.h"
#include "src/tensor/buffer.h"
#include "src/util/rng.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

TEST_CASE("softmax_xent_rows and mse_rows: the fused kernels without the host total", "[gpu][loss_rows]") {
  dp::device::Runtime rt(0, false);
  const auto& ctx = rt.context();
  dp::Rng rng(31);
  const std::int64_t rows = 1000, k = 10;
  const auto z = dp::test::normal_floats(rng, static_cast<std::size_t>(rows * k), 3.0);
  const auto t = dp::test::normal_floats(rng, static_cast<std::size_t>(rows * k));
  const auto labels = dp::test::random_labels(rng, static_cast<std::size_t>(rows), k);
  dp::Array<float> d_z(dp::Backend::cuda, rows * k), d_t(dp::Backend::cuda, rows * k);
  dp::Array<std::int32_t> d_labels(dp::Backend::cuda, rows);
  dp::Array<float> d_dz1(dp::Backend::cuda, rows * k), d_dz2(dp::Backend::cuda, rows * k);
  dp::Array<float> d_l1(dp::Backend::cuda, rows), d_l2(dp::Backend::cuda, rows);
  d_z.upload(z, ctx);
  d_t.upload(t, ctx);
  d_labels.upload(labels, ctx);
  const float scale = 1.0f / static_cast<float>(rows);
  dp::kernels::softmax_xent_forward_backward(ctx, d_z.data(), d_labels.data(), scale, d_l1.data(),
                                             d_dz1.data(), rows, k);
  dp::kernels::softmax_xent_rows(ctx, d_z.data(), d_labels.data(), scale, d_l2.data(), d_dz2.data(), rows, k);
  CHECK(d_l2.to_host(ctx) == d_l1.to_host(ctx));
  CHECK(d_dz2.to_host(ctx) == d_dz1.to_host(ctx));
  dp::kernels::mse_forward_backward(ctx, d_z.data(), d_t.data(), scale, d_l1.data(), d_dz1.data(), rows, k);
  dp::kernels::mse_rows(ctx, d_z.data(), d_t.data(), scale, d_l2.data(), d_dz2.data(), rows, k);
  CHECK(d_l2.to_host(ctx) == d_l1.to_host(ctx));
  CHECK(d_dz2.to_host(ctx) == d_dz1.to_host(ctx));
}

TEST_CASE("accumulate_sum on the GPU matches the CPU twin", "[gpu][loss_rows]") {
  dp::device::Runtime rt(0, false);
  const auto& ctx = rt.context();
  const dp::kernels::Context cpu;
  dp::Rng rng(37);
  for (std::int64_t n : {0, 1, 31, 1000, 300001}) {
    INFO("n " << n);
    const auto x = dp::test::uniform_floats(rng, static_cast<std::size_t>(n), 0.0, 3.0);
    float want = 0.5f;
    dp::kernels::accumulate_sum(cpu, x.data(), n, 1.0 / 7.0, &want, true);
    dp::Array<float> d_x(dp::Backend::cuda, n), d_out(dp::Backend::cuda, 1);
    d_x.upload(x, ctx);
    d_out.upload(std::vector<float>{0.5f}, ctx);
    dp::kernels::accumulate_sum(ctx, d_x.data(), n, 1.0 / 7.0, d_out.data(), true);
    const float got = d_out.to_host(ctx)[0];
    // Both sum in double (different orders: ~n * 2^-53 relative), then round once to float
    // and add 0.5 in float: at most an ulp or two apart.
    CHECK(std::fabs(static_cast<double>(got) - static_cast<double>(want)) <=
          4 * dp::tol::kUnitRoundoff * std::fabs(static_cast<double>(want)));
    dp::kernels::accumulate_sum(ctx, d_x.data(), n, 1.0 / 7.0, d_out.data(), false);
    float overwrite = 9.0f;
    dp::kernels::accumulate_sum(cpu, x.data(), n, 1.0 / 7.0, &overwrite, false);
    CHECK(std::fabs(static_cast<double>(d_out.to_host(ctx)[0]) - static_cast<double>(overwrite)) <=
          4 * dp::tol::kUnitRoundoff * std::fabs(static_cast<double>(overwrite)));
  }
}
