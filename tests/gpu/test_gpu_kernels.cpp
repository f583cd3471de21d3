// Every op's CUDA twin (kernels/cuda) against its CPU twin (kernels/cpu), through the op
// entries: the same inputs go to a CPU Context and to a device::Runtime's Context.
//
// Where the two twins evaluate the same IEEE operations (bias_add, ReLU, argmax, the MSE
// gradient, a k == 0 GEMM) the results must be identical (NaN matching NaN). Elsewhere each
// element is compared within the tolerances of tests/tolerance.h, taken relative to the
// scale of the terms that produced it (not to the possibly cancelled result). Double sums
// computed on the device are also checked against a host double sum of the same values.
// Without a device gpu_main.cpp exits 77 (ctest: skipped) before any of this runs.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/accuracy.h"
#include "kernels/adam.h"
#include "kernels/bias.h"
#include "kernels/buffer_stats.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "kernels/mse.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "src/tensor/buffer.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::Array;
using dp::Backend;
using dp::kernels::Context;
using dp::kernels::Trans;
using dp::test::Mismatches;

const Context kCpu;  // the CPU backend
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Device copy of a host vector (uploaded on ctx.stream).
template <typename T>
Array<T> to_device(const std::vector<T>& host, const Context& ctx, std::int64_t extra = 0) {
  Array<T> a(Backend::cuda, static_cast<std::int64_t>(host.size()) + extra);
  a.upload(host.data(), static_cast<std::int64_t>(host.size()), ctx, extra);
  return a;
}

// Downloads n elements starting at offset.
template <typename T>
std::vector<T> from_device(const Array<T>& a, const Context& ctx, std::int64_t n, std::int64_t offset = 0) {
  std::vector<T> out(static_cast<std::size_t>(n));
  a.download(out.data(), n, ctx, offset);
  return out;
}

// Same value: identical bits, or both NaN (NaN payloads are not specified).
bool identical(float a, float b) {
  return dp::test::same_bits(a, b) || (a != a && b != b);
}

void check_identical(Mismatches& mm, std::int64_t index, float got, float want) {
  mm.check(index, identical(got, want) ? 0.0 : 1.0, 0.0, 0.0);
}

std::string shape(std::int64_t rows, std::int64_t cols) {
  std::ostringstream s;
  s << rows << "x" << cols;
  return s.str();
}

// ---- GEMM ------------------------------------------------------------------------------

constexpr float kPad = -12345.5f;  // padding sentinel: must survive untouched

std::vector<float> padded_matrix(dp::Rng& rng, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                                 float fill_logical = 0.0f, bool random = true) {
  std::vector<float> x(static_cast<std::size_t>(rows * ld), kPad);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      x[r * ld + c] = random ? static_cast<float>(rng.uniform(-1.0, 1.0)) : fill_logical;
  return x;
}

struct GemmCase {
  Trans ta, tb;
  std::int64_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
};

std::string describe(const GemmCase& g) {
  std::ostringstream s;
  s << "gemm " << (g.ta == Trans::yes ? "T" : "N") << (g.tb == Trans::yes ? "T" : "N") << " m=" << g.m
    << " n=" << g.n << " k=" << g.k << " lda=" << g.lda << " ldb=" << g.ldb << " ldc=" << g.ldc
    << " alpha=" << g.alpha << " beta=" << g.beta;
  return s.str();
}

// Runs one case on both twins; returns "" when the CUDA result matches. beta == 0 fills C
// with NaN (it must not be read).
std::string run_gemm_case(const Context& ctx, const GemmCase& g, std::uint64_t seed) {
  dp::Rng rng(seed);
  const std::int64_t a_rows = g.ta == Trans::no ? g.m : g.k, a_cols = g.ta == Trans::no ? g.k : g.m;
  const std::int64_t b_rows = g.tb == Trans::no ? g.k : g.n, b_cols = g.tb == Trans::no ? g.n : g.k;
  const auto a = padded_matrix(rng, a_rows, a_cols, g.lda);
  const auto b = padded_matrix(rng, b_rows, b_cols, g.ldb);
  const auto c0 = padded_matrix(rng, g.m, g.n, g.ldc, kNaN, g.beta != 0.0f);

  std::vector<float> c_cpu = c0;
  dp::kernels::gemm(kCpu, g.ta, g.tb, g.m, g.n, g.k, g.alpha, a.data(), g.lda, b.data(), g.ldb, g.beta,
                    c_cpu.data(), g.ldc);
  auto d_a = to_device(a, ctx), d_b = to_device(b, ctx);
  auto d_c = to_device(c0, ctx);
  dp::kernels::gemm(ctx, g.ta, g.tb, g.m, g.n, g.k, g.alpha, d_a.data(), g.lda, d_b.data(), g.ldb, g.beta,
                    d_c.data(), g.ldc);
  const auto c_gpu = d_c.to_host(ctx);

  Mismatches values, padding;
  for (std::int64_t i = 0; i < g.m; ++i) {
    for (std::int64_t j = 0; j < g.n; ++j) {
      double scale = 0.0;
      for (std::int64_t p = 0; p < g.k; ++p) {
        const float av = g.ta == Trans::no ? a[i * g.lda + p] : a[p * g.lda + i];
        const float bv = g.tb == Trans::no ? b[p * g.ldb + j] : b[j * g.ldb + p];
        scale += std::fabs(static_cast<double>(av) * static_cast<double>(bv));
      }
      scale *= std::fabs(static_cast<double>(g.alpha));
      if (g.beta != 0.0f)
        scale += std::fabs(static_cast<double>(g.beta) * static_cast<double>(c0[i * g.ldc + j]));
      values.check(i * g.ldc + j, static_cast<double>(c_gpu[i * g.ldc + j]),
                   static_cast<double>(c_cpu[i * g.ldc + j]), dp::tol::twin_reduction_tol(g.k + 1) * scale);
    }
    for (std::int64_t j = g.n; j < g.ldc; ++j)
      check_identical(padding, i * g.ldc + j, c_gpu[i * g.ldc + j], kPad);
  }
  std::string out;
  if (values.wrong() != 0) out += "values: " + values.report() + "\n";
  if (padding.wrong() != 0) out += "C padding written: " + padding.report() + "\n";
  if (values.checked() != g.m * g.n) out += "not every element was checked\n";
  return out;
}

const Trans kTrans[] = {Trans::no, Trans::yes};

// ---- softmax + cross-entropy ---------------------------------------------------------

// Tolerances of one row for the CUDA twin against the CPU twin (tests/tolerance.h):
// both sums of exp(z_j - zmax) (the argument is the same IEEE subtraction on both) differ
// by kGpuElementwiseRel (exp implementations) plus twin_reduction_tol(K) (order), relative
// to the sum; log turns that into an absolute error of the loss, and the final roundings
// are relative to log(sum) + (zmax - z_y).
struct SoftmaxTol {
  double loss = 0.0;
  std::vector<double> dz;  // per element, already multiplied by |grad_scale|
};

SoftmaxTol softmax_tol(const float* z, std::int32_t y, std::int64_t classes, float grad_scale) {
  double zmax = static_cast<double>(z[0]);
  for (std::int64_t j = 1; j < classes; ++j) zmax = std::max(zmax, static_cast<double>(z[j]));
  double sum = 0.0;
  for (std::int64_t j = 0; j < classes; ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
  const double rel = dp::tol::kGpuElementwiseRel, red = dp::tol::twin_reduction_tol(classes);
  SoftmaxTol t;
  t.loss = rel + red + rel * (std::log(sum) + (zmax - static_cast<double>(z[y])));
  t.dz.resize(static_cast<std::size_t>(classes));
  const double s = std::fabs(static_cast<double>(grad_scale));
  for (std::int64_t j = 0; j < classes; ++j) {
    const double p = std::exp(static_cast<double>(z[j]) - zmax) / sum;
    t.dz[j] = s * ((rel + red) * p + (j == y ? rel : 0.0)) + dp::tol::kFloatUnderflowAbs;
  }
  return t;
}

// ---- Adam ------------------------------------------------------------------------------

// Error budget of the CUDA twin's state against the CPU twin's, carried across steps (the
// two states evolve separately). Per step, with rel = kGpuElementwiseRel:
//   m: its recurrence carries the old budget, adds rel of the running term scale
//      ms = b1*ms + (1-b1)*|g|_terms and the L2 term's share of the p budget;
//   v: likewise with vs = b2*vs + (1-b2)*|g|_terms^2 (no cancellation: vs ~ v);
//   p: the update step_size * m / (sqrt(v) / sqrt(bc2) + eps) moves with m's budget
//      (step_size / denom per unit) and v's (|update| * dv / 2v), plus rel of |p| and |update|.
struct AdamBudget {
  std::vector<double> ms, vs, m_tol, v_tol, p_tol;
  AdamBudget(const std::vector<float>& m0, const std::vector<float>& v0)
      : ms(m0.size()), vs(v0.size()), m_tol(m0.size(), 0.0), v_tol(m0.size(), 0.0), p_tol(m0.size(), 0.0) {
    for (std::size_t i = 0; i < m0.size(); ++i) {
      ms[i] = std::fabs(static_cast<double>(m0[i]));
      vs[i] = static_cast<double>(v0[i]);
    }
  }
  // p_before: the CPU parameters before the step; m, v: the CPU moments after it.
  void step(const dp::kernels::AdamHyper& h, const std::vector<float>& grads,
            const std::vector<float>& p_before, const std::vector<float>& m, const std::vector<float>& v) {
    const double rel = dp::tol::kGpuElementwiseRel;
    const double b1 = h.beta1, b2 = h.beta2, t = static_cast<double>(h.step);
    const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
    const double step_size = static_cast<double>(h.lr) / bc1;
    const bool l2 = h.decay_mode == dp::kernels::WeightDecayMode::l2;
    const double l2_decay = l2 ? static_cast<double>(h.weight_decay) : 0.0;
    const double keep = l2 ? 1.0 : 1.0 - static_cast<double>(h.lr) * static_cast<double>(h.weight_decay);
    for (std::size_t i = 0; i < ms.size(); ++i) {
      const double p0 = static_cast<double>(p_before[i]);
      const double g_terms = std::fabs(static_cast<double>(h.grad_scale) * static_cast<double>(grads[i])) +
                             std::fabs(l2_decay * p0);
      const double g_err = l2_decay * p_tol[i] + rel * g_terms;
      ms[i] = b1 * ms[i] + (1.0 - b1) * g_terms;
      vs[i] = b2 * vs[i] + (1.0 - b2) * g_terms * g_terms;
      m_tol[i] = b1 * m_tol[i] + (1.0 - b1) * g_err + rel * ms[i];
      v_tol[i] = b2 * v_tol[i] + (1.0 - b2) * 2.0 * g_terms * g_err + rel * vs[i];
      const double vi = static_cast<double>(v[i]);
      const double denom = std::sqrt(vi / bc2) + static_cast<double>(h.eps);
      const double update = step_size * static_cast<double>(m[i]) / denom;
      p_tol[i] = std::fabs(keep) * p_tol[i] + rel * (std::fabs(p0) + std::fabs(update)) +
                 step_size * m_tol[i] / denom + (vi > 0.0 ? std::fabs(update) * v_tol[i] / (2.0 * vi) : 0.0);
    }
  }
};

}  // namespace

// ==== GEMM ==============================================================================

TEST_CASE("gemm: cuBLAS matches the CPU twin for all transposes, padded lds, alpha and beta", "[gemm]") {
  dp::device::Runtime rt(0, /*allow_tf32=*/false);
  const Context& ctx = rt.context();
  // Sizes around the warp (31, 33), odd and large-K shapes; beta 0 (C NaN), 1 and general.
  const std::int64_t shapes[][3] = {{1, 1, 1},    {1, 33, 31},     {31, 33, 7},    {33, 31, 129},
                                    {64, 64, 64}, {17, 129, 1000}, {300, 200, 513}};
  const float alpha_beta[][2] = {{1.0f, 0.0f}, {0.75f, 1.0f}, {-1.5f, -0.5f}};
  std::uint64_t seed = 1000;
  int cases = 0;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (const auto& s : shapes)
        for (const auto& ab : alpha_beta)
          for (int pad = 0; pad < 2; ++pad) {
            const std::int64_t m = s[0], n = s[1], k = s[2];
            const GemmCase g{ta,
                             tb,
                             m,
                             n,
                             k,
                             (ta == Trans::no ? k : m) + 3 * pad,
                             (tb == Trans::no ? n : k) + 5 * pad,
                             n + 7 * pad,
                             ab[0],
                             ab[1]};
            INFO(describe(g));
            CHECK(run_gemm_case(ctx, g, ++seed) == "");
            ++cases;
          }
  REQUIRE(cases == 4 * 7 * 3 * 2);
}

TEST_CASE("gemm: k == 0 gives C = beta * C exactly as the CPU twin, m or n == 0 is a no-op", "[gemm]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t m = 17, n = 3, ldc = 5;
  const std::vector<float> ab(64, 1.0f);  // A and B: never read
  auto d_ab = to_device(ab, ctx);
  const float betas[] = {0.0f, 1.0f, -0.5f, 3.0f};
  std::uint64_t seed = 2000;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (float beta : betas) {
        INFO("trans " << (ta == Trans::yes) << (tb == Trans::yes) << " beta " << beta);
        dp::Rng rng(++seed);
        auto c0 = padded_matrix(rng, m, n, ldc);
        c0[0] = kNaN;  // beta == 0 must overwrite it; otherwise it stays NaN
        c0[1] = kInf;
        std::vector<float> c_cpu = c0;
        const std::int64_t lda = ta == Trans::no ? 1 : m, ldb = tb == Trans::no ? n : 1;
        dp::kernels::gemm(kCpu, ta, tb, m, n, 0, 1.25f, ab.data(), lda, ab.data(), ldb, beta, c_cpu.data(),
                          ldc);
        auto d_c = to_device(c0, ctx);
        dp::kernels::gemm(ctx, ta, tb, m, n, 0, 1.25f, d_ab.data(), lda, d_ab.data(), ldb, beta, d_c.data(),
                          ldc);
        const auto c_gpu = d_c.to_host(ctx);
        Mismatches mm;
        for (std::size_t i = 0; i < c0.size(); ++i)
          check_identical(mm, static_cast<std::int64_t>(i), c_gpu[i], c_cpu[i]);
        INFO(mm.report());
        REQUIRE(mm.wrong() == 0);
        REQUIRE(mm.checked() == m * ldc);
      }
  // An empty C: nothing is launched and nothing changes.
  dp::Rng rng(7);
  const auto c0 = padded_matrix(rng, 2, 3, 3);
  auto d_c = to_device(c0, ctx);
  dp::kernels::gemm(ctx, Trans::no, Trans::no, 0, 3, 4, 1.0f, d_ab.data(), 4, d_ab.data(), 3, 0.0f,
                    d_c.data(), 3);
  dp::kernels::gemm(ctx, Trans::no, Trans::no, 2, 0, 4, 1.0f, d_ab.data(), 4, d_ab.data(), 1, 0.0f,
                    d_c.data(), 1);
  const auto c_gpu = d_c.to_host(ctx);
  Mismatches mm;
  for (std::size_t i = 0; i < c0.size(); ++i)
    check_identical(mm, static_cast<std::int64_t>(i), c_gpu[i], c0[i]);
  INFO(mm.report());
  REQUIRE(mm.wrong() == 0);
}

// ==== bias ================================================================================

TEST_CASE("bias_add: identical to the CPU twin", "[bias]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t shapes[][2] = {{1, 1},    {1, 33},      {31, 10},    {33, 31},
                                    {7, 1000}, {1000, 1000}, {1 << 16, 3}};
  std::uint64_t seed = 3000;
  for (const auto& s : shapes) {
    const std::int64_t rows = s[0], cols = s[1];
    INFO(shape(rows, cols));
    dp::Rng rng(++seed);
    auto y = dp::test::normal_floats(rng, rows * cols);
    const auto bias = dp::test::normal_floats(rng, cols);
    y[0] = kNaN;
    auto d_y = to_device(y, ctx);
    const auto d_bias = to_device(bias, ctx);
    dp::kernels::bias_add(kCpu, y.data(), bias.data(), rows, cols);
    dp::kernels::bias_add(ctx, d_y.data(), d_bias.data(), rows, cols);
    const auto y_gpu = d_y.to_host(ctx);
    Mismatches mm;
    for (std::size_t i = 0; i < y.size(); ++i)
      check_identical(mm, static_cast<std::int64_t>(i), y_gpu[i], y[i]);
    INFO(mm.report());
    REQUIRE(mm.wrong() == 0);
  }
}

TEST_CASE("bias_backward: column sums match the CPU twin, overwrite and accumulate", "[bias]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t shapes[][2] = {{0, 5},    {1, 1},     {31, 10},     {33, 31},
                                    {256, 10}, {4096, 33}, {1000, 1000}, {100000, 3}};
  std::uint64_t seed = 4000;
  for (const auto& s : shapes)
    for (bool accumulate : {false, true}) {
      const std::int64_t rows = s[0], cols = s[1];
      INFO(shape(rows, cols) << " accumulate " << accumulate);
      dp::Rng rng(++seed);
      const auto dy = dp::test::normal_floats(rng, rows * cols);
      // Without accumulate the old contents must not matter: NaN.
      auto db = accumulate ? dp::test::normal_floats(rng, cols) : std::vector<float>(cols, kNaN);
      const auto db0 = db;
      auto d_dy = to_device(dy, ctx, 1);  // one leading element: dy unaligned to 16 bytes
      auto d_db = to_device(db, ctx);
      dp::kernels::bias_backward(kCpu, dy.data(), db.data(), rows, cols, accumulate);
      dp::kernels::bias_backward(ctx, d_dy.data() + 1, d_db.data(), rows, cols, accumulate);
      const auto db_gpu = d_db.to_host(ctx);
      Mismatches mm;
      for (std::int64_t j = 0; j < cols; ++j) {
        double scale = accumulate ? std::fabs(static_cast<double>(db0[j])) : 0.0;
        for (std::int64_t i = 0; i < rows; ++i) scale += std::fabs(static_cast<double>(dy[i * cols + j]));
        if (rows == 0)
          check_identical(mm, j, db_gpu[j], db[j]);  // untouched, or exactly 0
        else
          mm.check(j, static_cast<double>(db_gpu[j]), static_cast<double>(db[j]),
                   dp::tol::twin_reduction_tol(rows + 1) * scale);
      }
      INFO(mm.report());
      REQUIRE(mm.wrong() == 0);
      REQUIRE(mm.checked() == cols);
    }
}

// ==== ReLU ================================================================================

TEST_CASE("relu forward and backward: identical to the CPU twin, NaN/Inf/-0, in place", "[relu]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t counts[] = {1, 31, 33, 1000, (1 << 20) + 3};
  const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1e-42f, -1e-42f, -1.0f, 1.0f};
  std::uint64_t seed = 5000;
  for (std::int64_t count : counts)
    for (bool in_place : {false, true}) {
      INFO("count " << count << " in place " << in_place);
      dp::Rng rng(++seed);
      auto x = dp::test::normal_floats(rng, count);
      for (std::size_t i = 0; i < std::size(specials) && i < x.size(); ++i) x[i * 7 % x.size()] = specials[i];
      const auto dy = dp::test::normal_floats(rng, count);

      std::vector<float> y(x.size()), dx(x.size());
      dp::kernels::relu_forward(kCpu, x.data(), y.data(), count);
      dp::kernels::relu_backward(kCpu, y.data(), dy.data(), dx.data(), count);

      auto d_x = to_device(x, ctx);
      auto d_dy = to_device(dy, ctx);
      Array<float> d_y_out(Backend::cuda, count), d_dx_out(Backend::cuda, count);
      float* d_y = in_place ? d_x.data() : d_y_out.data();
      float* d_dx = in_place ? d_dy.data() : d_dx_out.data();
      dp::kernels::relu_forward(ctx, d_x.data(), d_y, count);
      dp::kernels::relu_backward(ctx, d_y, d_dy.data(), d_dx, count);
      const auto y_gpu = in_place ? d_x.to_host(ctx) : d_y_out.to_host(ctx);
      const auto dx_gpu = in_place ? d_dy.to_host(ctx) : d_dx_out.to_host(ctx);

      Mismatches fwd, bwd;
      for (std::int64_t i = 0; i < count; ++i) {
        check_identical(fwd, i, y_gpu[i], y[i]);
        check_identical(bwd, i, dx_gpu[i], dx[i]);
      }
      INFO("forward: " << fwd.report());
      INFO("backward: " << bwd.report());
      REQUIRE(fwd.wrong() == 0);
      REQUIRE(bwd.wrong() == 0);
    }
}

// ==== softmax + cross-entropy ==============================================================

TEST_CASE("softmax_xent: forward and fused backward match the CPU twin, dz aliasing z", "[losses]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t class_counts[] = {1, 10, 33, 1000, 5000};
  const std::int64_t row_counts[] = {1, 7, 33, 256};
  std::uint64_t seed = 6000;
  for (std::int64_t classes : class_counts)
    for (std::int64_t rows : row_counts) {
      INFO(shape(rows, classes));
      dp::Rng rng(++seed);
      auto z = dp::test::normal_floats(rng, rows * classes, 3.0);
      for (std::size_t i = 0; i < z.size(); i += 5) z[i] += 40.0f;  // rows whose max is far from 0
      const auto labels = dp::test::random_labels(rng, rows, classes);
      const float grad_scale = 1.0f / static_cast<float>(rows);

      std::vector<float> loss_cpu(rows), dz_cpu(z.size());
      const double total_cpu = dp::kernels::softmax_xent_forward_backward(
          kCpu, z.data(), labels.data(), grad_scale, loss_cpu.data(), dz_cpu.data(), rows, classes);

      const auto d_z = to_device(z, ctx);
      const auto d_labels = to_device(labels, ctx);
      Array<float> d_loss_fwd(Backend::cuda, rows), d_loss(Backend::cuda, rows),
          d_dz(Backend::cuda, rows * classes);
      auto d_alias = to_device(z, ctx);  // consumed in place: dz == z
      Array<float> d_loss_alias(Backend::cuda, rows);
      const double total_gpu_fwd = dp::kernels::softmax_xent_forward(ctx, d_z.data(), d_labels.data(),
                                                                     d_loss_fwd.data(), rows, classes);
      const double total_gpu = dp::kernels::softmax_xent_forward_backward(
          ctx, d_z.data(), d_labels.data(), grad_scale, d_loss.data(), d_dz.data(), rows, classes);
      const double total_gpu_alias =
          dp::kernels::softmax_xent_forward_backward(ctx, d_alias.data(), d_labels.data(), grad_scale,
                                                     d_loss_alias.data(), d_alias.data(), rows, classes);
      const double total_gpu_again = dp::kernels::softmax_xent_forward(ctx, d_z.data(), d_labels.data(),
                                                                       d_loss_fwd.data(), rows, classes);
      const auto loss_fwd = d_loss_fwd.to_host(ctx), loss = d_loss.to_host(ctx);
      const auto loss_alias = d_loss_alias.to_host(ctx);
      const auto dz = d_dz.to_host(ctx), dz_alias = d_alias.to_host(ctx);

      Mismatches losses, grads, same;
      double loss_tol_sum = 0.0, abs_sum = 0.0, gpu_sum = 0.0;
      for (std::int64_t i = 0; i < rows; ++i) {
        const SoftmaxTol t = softmax_tol(&z[i * classes], labels[i], classes, grad_scale);
        losses.check(i, static_cast<double>(loss[i]), static_cast<double>(loss_cpu[i]), t.loss);
        loss_tol_sum += t.loss;
        abs_sum += std::fabs(static_cast<double>(loss[i]));
        gpu_sum += static_cast<double>(loss[i]);
        // The forward-only and in-place runs compute the same bits as the fused one.
        check_identical(same, i, loss_fwd[i], loss[i]);
        check_identical(same, i, loss_alias[i], loss[i]);
        for (std::int64_t j = 0; j < classes; ++j) {
          const std::int64_t at = i * classes + j;
          grads.check(at, static_cast<double>(dz[at]), static_cast<double>(dz_cpu[at]), t.dz[j]);
          check_identical(same, at, dz_alias[at], dz[at]);
        }
      }
      INFO("losses: " << losses.report());
      INFO("dz: " << grads.report());
      INFO("forward-only / aliased vs fused: " << same.report());
      REQUIRE(losses.wrong() == 0);
      REQUIRE(grads.wrong() == 0);
      REQUIRE(same.wrong() == 0);
      // The device total is the double sum of its own per-row losses, deterministically.
      INFO("totals: gpu " << total_gpu << " cpu " << total_cpu << " sum of gpu losses " << gpu_sum);
      REQUIRE(std::fabs(total_gpu - gpu_sum) <= dp::tol::double_sum_tol(rows) * abs_sum);
      REQUIRE(std::fabs(total_gpu - total_cpu) <= loss_tol_sum + dp::tol::double_sum_tol(rows) * abs_sum);
      REQUIRE(total_gpu_fwd == total_gpu);
      REQUIRE(total_gpu_alias == total_gpu);
      REQUIRE(total_gpu_again == total_gpu);
    }
}

TEST_CASE("softmax_xent: a label outside 0..classes-1 gives that row NaN loss and gradients", "[losses]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  for (std::int64_t classes : {std::int64_t{1}, std::int64_t{10}, std::int64_t{33}}) {
    INFO("classes " << classes);
    const std::int64_t rows = 9;
    dp::Rng rng(7000 + static_cast<std::uint64_t>(classes));
    auto z = dp::test::normal_floats(rng, rows * classes);
    auto labels = dp::test::random_labels(rng, rows, classes);
    const std::int32_t c = static_cast<std::int32_t>(classes);
    const std::int32_t bad[] = {-1, c, c + 1, std::numeric_limits<std::int32_t>::min(),
                                std::numeric_limits<std::int32_t>::max()};
    const std::int64_t bad_rows[] = {0, 2, 4, 6, 8};  // rows 1, 3, 5, 7 are valid
    auto cpu_labels = labels;                         // the CPU twin only takes valid labels
    for (std::size_t r = 0; r < std::size(bad_rows); ++r) labels[bad_rows[r]] = bad[r];
    const float grad_scale = 0.25f;

    std::vector<float> loss_cpu(rows), dz_cpu(z.size());
    dp::kernels::softmax_xent_forward_backward(kCpu, z.data(), cpu_labels.data(), grad_scale, loss_cpu.data(),
                                               dz_cpu.data(), rows, classes);
    auto d_z = to_device(z, ctx);
    const auto d_labels = to_device(labels, ctx);
    Array<float> d_loss(Backend::cuda, rows), d_loss_fwd(Backend::cuda, rows);
    const double total_fwd =
        dp::kernels::softmax_xent_forward(ctx, d_z.data(), d_labels.data(), d_loss_fwd.data(), rows, classes);
    const double total = dp::kernels::softmax_xent_forward_backward(
        ctx, d_z.data(), d_labels.data(), grad_scale, d_loss.data(), d_z.data(), rows, classes);
    const auto loss = d_loss.to_host(ctx), loss_fwd = d_loss_fwd.to_host(ctx), dz = d_z.to_host(ctx);
    REQUIRE(std::isnan(total));
    REQUIRE(std::isnan(total_fwd));
    Mismatches nan_rows, valid_rows;
    for (std::int64_t i = 0; i < rows; ++i) {
      const bool bad_row = i % 2 == 0;
      if (bad_row) {
        nan_rows.check(i, std::isnan(loss[i]) && std::isnan(loss_fwd[i]) ? 0.0 : 1.0, 0.0, 0.0);
        for (std::int64_t j = 0; j < classes; ++j)
          nan_rows.check(i * classes + j, std::isnan(dz[i * classes + j]) ? 0.0 : 1.0, 0.0, 0.0);
      } else {
        const SoftmaxTol t = softmax_tol(&z[i * classes], cpu_labels[i], classes, grad_scale);
        valid_rows.check(i, static_cast<double>(loss[i]), static_cast<double>(loss_cpu[i]), t.loss);
        for (std::int64_t j = 0; j < classes; ++j)
          valid_rows.check(i * classes + j, static_cast<double>(dz[i * classes + j]),
                           static_cast<double>(dz_cpu[i * classes + j]), t.dz[j]);
      }
    }
    INFO("rows with a bad label: " << nan_rows.report());
    INFO("valid rows: " << valid_rows.report());
    REQUIRE(nan_rows.wrong() == 0);
    REQUIRE(valid_rows.wrong() == 0);
    REQUIRE(nan_rows.checked() == 5 * (classes + 1));
  }
}

TEST_CASE("softmax_xent: a NaN or Inf logit makes the row NaN on both twins", "[losses]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t rows = 4, classes = 40;
  dp::Rng rng(7500);
  auto z = dp::test::normal_floats(rng, rows * classes);
  z[0 * classes + 0] = kNaN;   // first element (the CPU twin's starting max)
  z[1 * classes + 35] = kNaN;  // a later lane's element
  z[2 * classes + 3] = kInf;   // exp(Inf - Inf)
  const std::vector<std::int32_t> labels = {1, 2, 3, 4};
  std::vector<float> loss_cpu(rows), dz_cpu(z.size());
  dp::kernels::softmax_xent_forward_backward(kCpu, z.data(), labels.data(), 0.5f, loss_cpu.data(),
                                             dz_cpu.data(), rows, classes);
  auto d_z = to_device(z, ctx);
  const auto d_labels = to_device(labels, ctx);
  Array<float> d_loss(Backend::cuda, rows), d_dz(Backend::cuda, rows * classes);
  dp::kernels::softmax_xent_forward_backward(ctx, d_z.data(), d_labels.data(), 0.5f, d_loss.data(),
                                             d_dz.data(), rows, classes);
  const auto loss = d_loss.to_host(ctx), dz = d_dz.to_host(ctx);
  Mismatches mm;
  for (std::int64_t i = 0; i < 3; ++i) {
    REQUIRE(std::isnan(loss_cpu[i]));  // the premise: the CPU twin's answer
    check_identical(mm, i, loss[i], loss_cpu[i]);
    for (std::int64_t j = 0; j < classes; ++j)
      check_identical(mm, i * classes + j, dz[i * classes + j], dz_cpu[i * classes + j]);
  }
  const SoftmaxTol t = softmax_tol(&z[3 * classes], labels[3], classes, 0.5f);
  mm.check(3, static_cast<double>(loss[3]), static_cast<double>(loss_cpu[3]), t.loss);
  INFO(mm.report());
  REQUIRE(mm.wrong() == 0);
}

// ==== MSE ===================================================================================

TEST_CASE("mse: forward and fused backward match the CPU twin, dpred aliasing pred", "[losses]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t shapes[][2] = {{1, 1}, {33, 1}, {7, 33}, {256, 10}, {31, 1000}, {1000, 1000}};
  std::uint64_t seed = 8000;
  for (const auto& s : shapes) {
    const std::int64_t rows = s[0], cols = s[1];
    INFO(shape(rows, cols));
    dp::Rng rng(++seed);
    const auto pred = dp::test::normal_floats(rng, rows * cols);
    const auto target = dp::test::normal_floats(rng, rows * cols);
    const float grad_scale = 1.0f / static_cast<float>(rows * cols);

    std::vector<float> loss_cpu(rows), dp_cpu(pred.size());
    const double total_cpu = dp::kernels::mse_forward_backward(kCpu, pred.data(), target.data(), grad_scale,
                                                               loss_cpu.data(), dp_cpu.data(), rows, cols);

    const auto d_pred = to_device(pred, ctx), d_target = to_device(target, ctx);
    auto d_alias = to_device(pred, ctx);
    Array<float> d_loss(Backend::cuda, rows), d_loss_fwd(Backend::cuda, rows),
        d_loss_alias(Backend::cuda, rows);
    Array<float> d_dp(Backend::cuda, rows * cols);
    const double total_fwd =
        dp::kernels::mse_forward(ctx, d_pred.data(), d_target.data(), d_loss_fwd.data(), rows, cols);
    const double total = dp::kernels::mse_forward_backward(ctx, d_pred.data(), d_target.data(), grad_scale,
                                                           d_loss.data(), d_dp.data(), rows, cols);
    const double total_alias = dp::kernels::mse_forward_backward(
        ctx, d_alias.data(), d_target.data(), grad_scale, d_loss_alias.data(), d_alias.data(), rows, cols);
    const auto loss = d_loss.to_host(ctx), loss_fwd = d_loss_fwd.to_host(ctx);
    const auto loss_alias = d_loss_alias.to_host(ctx);
    const auto dpred = d_dp.to_host(ctx), dpred_alias = d_alias.to_host(ctx);

    Mismatches losses, grads;
    double loss_tol_sum = 0.0, abs_sum = 0.0, gpu_sum = 0.0;
    for (std::int64_t i = 0; i < rows; ++i) {
      double scale = 0.0;  // sum of the squared terms (no cancellation)
      for (std::int64_t j = 0; j < cols; ++j) {
        const double d = static_cast<double>(pred[i * cols + j] - target[i * cols + j]);
        scale += d * d;
        // One identical IEEE product on both twins: bit-identical.
        check_identical(grads, i * cols + j, dpred[i * cols + j], dp_cpu[i * cols + j]);
        check_identical(grads, i * cols + j, dpred_alias[i * cols + j], dp_cpu[i * cols + j]);
      }
      const double tol = (dp::tol::kGpuElementwiseRel + dp::tol::twin_reduction_tol(cols)) * scale;
      losses.check(i, static_cast<double>(loss[i]), static_cast<double>(loss_cpu[i]), tol);
      check_identical(losses, i, loss_fwd[i], loss[i]);
      check_identical(losses, i, loss_alias[i], loss[i]);
      loss_tol_sum += tol;
      abs_sum += std::fabs(static_cast<double>(loss[i]));
      gpu_sum += static_cast<double>(loss[i]);
    }
    INFO("losses: " << losses.report());
    INFO("dpred: " << grads.report());
    REQUIRE(losses.wrong() == 0);
    REQUIRE(grads.wrong() == 0);
    REQUIRE(std::fabs(total - gpu_sum) <= dp::tol::double_sum_tol(rows) * abs_sum);
    REQUIRE(std::fabs(total - total_cpu) <= loss_tol_sum + dp::tol::double_sum_tol(rows) * abs_sum);
    REQUIRE(total_fwd == total);
    REQUIRE(total_alias == total);
  }
}

// ==== argmax / accuracy ======================================================================

TEST_CASE("argmax and count_correct: identical to the CPU twin, ties, NaN and Inf rows", "[accuracy]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t class_counts[] = {1, 2, 10, 33, 1000};
  const std::int64_t row_counts[] = {1, 33, 1000, 100000};
  std::uint64_t seed = 9000;
  for (std::int64_t classes : class_counts)
    for (std::int64_t rows : row_counts) {
      if (rows * classes > 20'000'000) continue;
      INFO(shape(rows, classes));
      dp::Rng rng(++seed);
      // Small integers: many ties within a row.
      std::vector<float> z(static_cast<std::size_t>(rows * classes));
      for (auto& x : z) x = static_cast<float>(rng.uniform_index(4)) - 1.0f;
      // Planted rows (where the shape has room): all NaN; NaN first; NaN among equal maxima;
      // +Inf ties; all -Inf; -0 before +0; a lone maximum in the last column.
      auto row = [&](std::int64_t i) { return &z[i * classes]; };
      if (rows >= 33) {
        for (std::int64_t j = 0; j < classes; ++j) {
          row(0)[j] = kNaN;
          row(1)[j] = j == 0 ? kNaN : static_cast<float>(j % 3);
          row(2)[j] = j % 2 == 0 ? kNaN : 5.0f;
          row(3)[j] = j % 4 == 3 ? kInf : 1.0f;
          row(4)[j] = -kInf;
          row(5)[j] = j == 0 ? -0.0f : (j == 1 ? 0.0f : -1.0f);
          row(6)[j] = j == classes - 1 ? 2.0f : 1.0f;
          row(7)[j] = j == classes - 1 ? kNaN : -3.0f;
        }
      }
      auto labels = dp::test::random_labels(rng, rows, classes);
      std::vector<std::int32_t> pred_cpu(rows);
      dp::kernels::argmax(kCpu, z.data(), pred_cpu.data(), rows, classes);
      for (std::int64_t i = 0; i < rows; i += 3) labels[i] = pred_cpu[i];  // plenty of hits
      const std::int64_t correct_cpu =
          dp::kernels::count_correct(kCpu, z.data(), labels.data(), rows, classes);

      const auto d_z = to_device(z, ctx);
      const auto d_labels = to_device(labels, ctx);
      Array<std::int32_t> d_pred(Backend::cuda, rows);
      dp::kernels::argmax(ctx, d_z.data(), d_pred.data(), rows, classes);
      const std::int64_t correct =
          dp::kernels::count_correct(ctx, d_z.data(), d_labels.data(), rows, classes);
      const auto pred = d_pred.to_host(ctx);
      Mismatches mm;
      for (std::int64_t i = 0; i < rows; ++i)
        mm.check(i, static_cast<double>(pred[i]), static_cast<double>(pred_cpu[i]), 0.0);
      INFO(mm.report());
      REQUIRE(mm.wrong() == 0);
      if (rows >= 33) {  // the planted rows' answers, independently of the CPU twin
        CHECK(pred[0] == 0);
        CHECK(pred[1] == (classes >= 3 ? 2 : (classes == 2 ? 1 : 0)));
        CHECK(pred[2] == (classes >= 2 ? 1 : 0));
        CHECK(pred[3] == (classes >= 4 ? 3 : 0));
        CHECK(pred[4] == 0);
        CHECK(pred[5] == 0);
        CHECK(pred[6] == classes - 1);
        CHECK(pred[7] == 0);
      }
      REQUIRE(correct == correct_cpu);
      REQUIRE(correct >= (rows + 2) / 3);
    }
}

// ==== Adam ====================================================================================

TEST_CASE("adam_step: both decay modes over several steps match the CPU twin", "[adam]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  using dp::kernels::WeightDecayMode;
  const std::int64_t counts[] = {1, 3, 33, 1003, (1 << 20) + 3};
  // offsets of params, grads, m, v in their device arrays: all aligned (float4 path), all
  // shifted (scalar path), only grads shifted (one unaligned pointer must pick scalar).
  const std::int64_t offsets[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 0, 0}};
  std::uint64_t seed = 10000;
  for (WeightDecayMode mode : {WeightDecayMode::l2, WeightDecayMode::decoupled})
    for (std::int64_t count : counts)
      for (const auto& off : offsets) {
        INFO("mode " << (mode == WeightDecayMode::l2 ? "l2" : "decoupled") << " count " << count
                     << " offsets " << off[0] << off[1] << off[2] << off[3]);
        dp::Rng rng(++seed);
        auto p = dp::test::normal_floats(rng, count);
        auto m = dp::test::normal_floats(rng, count, 1e-2);
        auto v = dp::test::uniform_floats(rng, count, 1e-6, 1e-4);
        auto d_p = to_device(p, ctx, off[0]), d_m = to_device(m, ctx, off[2]),
             d_v = to_device(v, ctx, off[3]);
        Array<float> d_g(Backend::cuda, count + off[1]);
        const auto p_initial = p;
        AdamBudget budget(m, v);
        dp::kernels::AdamHyper h;
        h.lr = 1e-2f;
        h.weight_decay = mode == WeightDecayMode::l2 ? 1e-2f : 1e-1f;
        h.decay_mode = mode;
        h.grad_scale = 0.5f;
        Mismatches mm_p, mm_m, mm_v;
        for (std::int64_t step = 1; step <= 5; ++step) {
          h.step = step;
          const auto g = dp::test::normal_floats(rng, count, 1e-2);
          d_g.upload(g.data(), count, ctx, off[1]);
          const auto p_before = p;
          dp::kernels::adam_step(kCpu, p.data(), g.data(), m.data(), v.data(), count, h);
          dp::kernels::adam_step(ctx, d_p.data() + off[0], d_g.data() + off[1], d_m.data() + off[2],
                                 d_v.data() + off[3], count, h);
          budget.step(h, g, p_before, m, v);
          const auto p_gpu = from_device(d_p, ctx, count, off[0]);
          const auto m_gpu = from_device(d_m, ctx, count, off[2]);
          const auto v_gpu = from_device(d_v, ctx, count, off[3]);
          for (std::int64_t i = 0; i < count; ++i) {
            mm_p.check(i, static_cast<double>(p_gpu[i]), static_cast<double>(p[i]), budget.p_tol[i]);
            mm_m.check(i, static_cast<double>(m_gpu[i]), static_cast<double>(m[i]), budget.m_tol[i]);
            mm_v.check(i, static_cast<double>(v_gpu[i]), static_cast<double>(v[i]), budget.v_tol[i]);
          }
        }
        INFO("p: " << mm_p.report());
        INFO("m: " << mm_m.report());
        INFO("v: " << mm_v.report());
        REQUIRE(mm_p.wrong() == 0);
        REQUIRE(mm_m.wrong() == 0);
        REQUIRE(mm_v.wrong() == 0);
        REQUIRE(mm_p.checked() == 5 * count);
        // The parameters moved (the comparison is not between two untouched buffers).
        const auto p_final = from_device(d_p, ctx, count, off[0]);
        std::int64_t moved = 0;
        for (std::int64_t i = 0; i < count; ++i) moved += p_final[i] != p_initial[i] ? 1 : 0;
        REQUIRE(moved > count / 2);
      }
}

// ==== buffer statistics =========================================================================

TEST_CASE("buffer_stats: sum of squares and non-finite count match the CPU twin and a double sum",
          "[buffer_stats]") {
  dp::device::Runtime rt(0, false);
  const Context& ctx = rt.context();
  const std::int64_t counts[] = {0, 1, 3, 33, 1000, 4099, (1 << 20) + 3};
  // planted: none; NaN and +-Inf; a finite value whose float square overflows (the CPU
  // twin's slow path, with nothing non-finite).
  enum class Plant { none, nonfinite, huge };
  std::uint64_t seed = 11000;
  for (std::int64_t count : counts)
    for (Plant plant : {Plant::none, Plant::nonfinite, Plant::huge})
      for (std::int64_t offset : {std::int64_t{0}, std::int64_t{1}}) {  // float4 path, scalar path
        INFO("count " << count << " plant " << static_cast<int>(plant) << " offset " << offset);
        dp::Rng rng(++seed);
        auto x = dp::test::normal_floats(rng, count, 3.0);
        if (count > 0 && plant == Plant::nonfinite) {
          x[0] = kNaN;
          x[count / 2] = kInf;
          x[count - 1] = -kInf;  // the tail of the float4 path
        }
        if (count > 0 && plant == Plant::huge) x[count / 3] = 1e20f;
        double ref = 0.0;
        std::int64_t ref_nonfinite = 0;
        for (float v : x) {
          if (std::isfinite(v))
            ref += static_cast<double>(v) * static_cast<double>(v);
          else
            ++ref_nonfinite;
        }
        const auto cpu = dp::kernels::buffer_stats(kCpu, x.data(), count);
        const auto d_x = to_device(x, ctx, offset);
        const auto gpu = dp::kernels::buffer_stats(ctx, d_x.data() + offset, count);
        const auto again = dp::kernels::buffer_stats(ctx, d_x.data() + offset, count);
        INFO("gpu " << gpu.sum_squares << " / " << gpu.nonfinite << ", cpu " << cpu.sum_squares << " / "
                    << cpu.nonfinite << ", double reference " << ref << " / " << ref_nonfinite);
        REQUIRE(gpu.nonfinite == ref_nonfinite);
        REQUIRE(gpu.nonfinite == cpu.nonfinite);
        // All terms are positive: the sums are relative to the result itself.
        REQUIRE(std::fabs(gpu.sum_squares - ref) <= dp::tol::double_sum_tol(count) * ref);
        REQUIRE(std::fabs(gpu.sum_squares - cpu.sum_squares) <= dp::tol::twin_reduction_tol(count) * ref);
        REQUIRE(again.sum_squares == gpu.sum_squares);  // deterministic
        REQUIRE(again.nonfinite == gpu.nonfinite);
      }
}
