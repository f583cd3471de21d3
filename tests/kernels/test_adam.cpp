// Fused Adam / AdamW against a double-precision reference of torch.optim.Adam / AdamW.
//
// torch (per element, t = step, g = grad):
//   Adam:   g = g + wd * p
//   AdamW:  p = p * (1 - lr * wd)
//   m = b1*m + (1-b1)*g ;  v = b2*v + (1-b2)*g^2
//   p = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The kernel also scales the incoming gradient by grad_scale first.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/adam.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::kernels::AdamHyper;
using dp::kernels::WeightDecayMode;
using dp::test::Mismatches;
const dp::kernels::Context kCtx;

// Double reference state plus a running error budget per element for p, m and v.
//
// Error model: each float operation rounds relative to its operands, so m's error stays
// below a few ulps of the running magnitude ms = b1*ms + (1-b1)*|g| (|g| counted as
// |s*grad| + |wd*p|, the terms before cancellation), v's below a few ulps of v (no
// cancellation), and p's update error is the update's magnitude computed with ms in place
// of |m|. Each step adds kElementwiseRel of these scales to the budget (16 ulps, against
// ~3-6 roundings per quantity), so the budget grows linearly with the number of steps.
struct AdamRef {
  std::vector<double> p, m, v, p_tol, m_tol, v_tol, ms;

  AdamRef(const std::vector<float>& p0, const std::vector<float>& m0, const std::vector<float>& v0)
      : p(p0.begin(), p0.end()),
        m(m0.begin(), m0.end()),
        v(v0.begin(), v0.end()),
        p_tol(p0.size(), 0.0),
        m_tol(p0.size(), 0.0),
        v_tol(p0.size(), 0.0),
        ms(m0.size()) {
    for (std::size_t i = 0; i < m0.size(); ++i) ms[i] = std::fabs(m[i]);
  }

  void step(const std::vector<float>& grads, const AdamHyper& h) {
    const double lr = h.lr, b1 = h.beta1, b2 = h.beta2, eps = h.eps, wd = h.weight_decay, s = h.grad_scale;
    const double t = static_cast<double>(h.step);
    const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
    const double rel = dp::tol::kElementwiseRel;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = s * static_cast<double>(grads[i]);
      double g_abs = std::fabs(g);
      if (h.decay_mode == WeightDecayMode::l2) {
        g += wd * p[i];
        g_abs += std::fabs(wd * p[i]);
      }
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      ms[i] = b1 * ms[i] + (1.0 - b1) * g_abs;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      const double v_scale = b2 * v[i] + (1.0 - b2) * g_abs * g_abs;
      const double p_before = p[i];
      if (h.decay_mode == WeightDecayMode::decoupled) p[i] *= 1.0 - lr * wd;
      const double denom = std::sqrt(v[i] / bc2) + eps;
      const double update = lr / bc1 * m[i] / denom;
      p[i] -= update;
      // Budgets: carried error (scaled like the recurrences) plus this step's roundings.
      m_tol[i] = b1 * m_tol[i] + rel * ms[i];
      v_tol[i] = b2 * v_tol[i] + rel * v_scale;
      // The update's sensitivity to m and v errors: d(update)/dm = lr/bc1/denom and
      // |d(update)/dv| <= |update| / (2 v).
      const double from_m = lr / bc1 * (m_tol[i] + rel * ms[i]) / denom;
      const double from_v = v[i] > 0.0 ? std::fabs(update) * v_tol[i] / (2.0 * v[i]) : 0.0;
      p_tol[i] += from_m + from_v + rel * (std::fabs(p_before) + std::fabs(update));
    }
  }
};

std::string compare(const std::vector<float>& p, const std::vector<float>& m, const std::vector<float>& v,
                    const AdamRef& r) {
  Mismatches mp, mm, mv;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto at = static_cast<std::int64_t>(i);
    mp.check(at, static_cast<double>(p[i]), r.p[i], r.p_tol[i] + 1e-30);
    mm.check(at, static_cast<double>(m[i]), r.m[i], r.m_tol[i] + 1e-30);
    mv.check(at, static_cast<double>(v[i]), r.v[i], r.v_tol[i] + 1e-30);
  }
  std::string out;
  if (mp.wrong()) out += "params: " + mp.report() + "\n";
  if (mm.wrong()) out += "m: " + mm.report() + "\n";
  if (mv.wrong()) out += "v: " + mv.report() + "\n";
  return out;
}

}  // namespace

TEST_CASE("adam_step: several steps match the torch update in both decay modes", "[adam]") {
  const std::int64_t count = 1031;
  for (WeightDecayMode mode : {WeightDecayMode::l2, WeightDecayMode::decoupled})
    for (float grad_scale : {1.0f, 0.25f, 1.0f / 3.0f}) {
      INFO((mode == WeightDecayMode::l2 ? "adam (l2)" : "adamw (decoupled)") << " grad_scale=" << grad_scale);
      dp::Rng rng(mode == WeightDecayMode::l2 ? 11u : 12u);
      auto p = dp::test::normal_floats(rng, count, 1.0);
      std::vector<float> m(count, 0.0f), v(count, 0.0f);
      AdamRef ref(p, m, v);
      const auto p0 = p;
      AdamHyper h;
      h.lr = 3e-3f;
      h.beta1 = 0.8f;
      h.beta2 = 0.99f;
      h.eps = 1e-6f;
      h.weight_decay = 0.05f;
      h.decay_mode = mode;
      h.grad_scale = grad_scale;
      for (std::int64_t t = 1; t <= 6; ++t) {
        INFO("step " << t);
        h.step = t;
        auto grads = dp::test::normal_floats(rng, count, 2.0);
        grads[0] = 0.0f;  // zero gradient: only decay moves the parameter
        const auto grads_copy = grads;
        dp::kernels::adam_step(kCtx, p.data(), grads.data(), m.data(), v.data(), count, h);
        ref.step(grads, h);
        REQUIRE(grads == grads_copy);  // gradients are read-only
        CHECK(compare(p, m, v, ref) == "");
      }
      // Sanity: the parameters moved by more than one step of lr (so the comparison was not vacuous).
      double moved = 0.0;
      for (std::int64_t i = 0; i < count; ++i) moved += std::fabs(static_cast<double>(p[i] - p0[i]));
      REQUIRE(moved / static_cast<double>(count) > 3e-3);
    }
}

TEST_CASE("adam_step: step 1 from zero moments moves each parameter by ~lr*sign(g)", "[adam]") {
  // Bias correction at t = 1: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps).
  const std::int64_t count = 257;
  dp::Rng rng(13);
  const auto p0 = dp::test::normal_floats(rng, count);
  const auto grads = dp::test::normal_floats(rng, count, 1e-2);
  for (float beta1 : {0.9f, 0.5f})
    for (float beta2 : {0.999f, 0.9f}) {
      INFO("beta1=" << beta1 << " beta2=" << beta2);
      auto p = p0;
      std::vector<float> m(count, 0.0f), v(count, 0.0f);
      AdamHyper h;
      h.lr = 1e-2f;
      h.beta1 = beta1;
      h.beta2 = beta2;
      h.eps = 1e-8f;
      h.step = 1;
      dp::kernels::adam_step(kCtx, p.data(), grads.data(), m.data(), v.data(), count, h);
      Mismatches mm;
      for (std::int64_t i = 0; i < count; ++i) {
        const double g = static_cast<double>(grads[i]);
        const double want = static_cast<double>(p0[i]) - 1e-2 * g / (std::fabs(g) + 1e-8);
        mm.check(i, static_cast<double>(p[i]), want, dp::tol::kElementwiseRel * (std::fabs(want) + 1e-2));
      }
      INFO(mm.report());
      REQUIRE(mm.wrong() == 0);
    }
}

TEST_CASE("adam_step: bias correction at step 1000 from an existing state", "[adam]") {
  // 1 - 0.999^1000 = 0.632: the second-moment correction still matters at t = 1000,
  // while 1 - 0.9^1000 = 1 to double precision.
  const std::int64_t count = 513;
  for (WeightDecayMode mode : {WeightDecayMode::l2, WeightDecayMode::decoupled}) {
    INFO((mode == WeightDecayMode::l2 ? "adam (l2)" : "adamw (decoupled)"));
    dp::Rng rng(14);
    auto p = dp::test::normal_floats(rng, count);
    auto m = dp::test::normal_floats(rng, count, 0.1);
    std::vector<float> v(count);
    for (auto& x : v) x = static_cast<float>(rng.uniform(1e-4, 1e-2));
    AdamRef ref(p, m, v);
    AdamHyper h;
    h.lr = 1e-3f;
    h.weight_decay = 0.1f;
    h.decay_mode = mode;
    h.grad_scale = 0.5f;
    for (std::int64_t t = 1000; t <= 1002; ++t) {
      INFO("step " << t);
      h.step = t;
      const auto grads = dp::test::normal_floats(rng, count, 0.1);
      dp::kernels::adam_step(kCtx, p.data(), grads.data(), m.data(), v.data(), count, h);
      ref.step(grads, h);
      CHECK(compare(p, m, v, ref) == "");
    }
  }
}

TEST_CASE("adam_step: a wrong bias correction would be detected", "[adam]") {
  // Guards the test above against a tolerance so loose that the t = 1000 second-moment
  // correction (a factor sqrt(0.632) = 0.795 in the update) goes unnoticed: the reference
  // with t = 10^6 (no correction) must disagree with the kernel at t = 1000.
  const std::int64_t count = 64;
  dp::Rng rng(15);
  auto p = dp::test::normal_floats(rng, count);
  auto m = dp::test::normal_floats(rng, count, 0.1);
  std::vector<float> v(count, 1e-3f);
  AdamRef ref(p, m, v);
  AdamHyper h;
  h.step = 1000;
  const auto grads = dp::test::normal_floats(rng, count, 0.1);
  dp::kernels::adam_step(kCtx, p.data(), grads.data(), m.data(), v.data(), count, h);
  h.step = 1000000;
  ref.step(grads, h);
  REQUIRE(compare(p, m, v, ref) != "");
}

TEST_CASE("adam_step: grad_scale is the same as pre-scaled gradients", "[adam]") {
  // A power-of-two scale is exact, so folding it into the kernel must be bit-identical.
  const std::int64_t count = 100;
  dp::Rng rng(16);
  const auto p0 = dp::test::normal_floats(rng, count);
  const auto grads = dp::test::normal_floats(rng, count);
  std::vector<float> scaled(grads);
  for (auto& g : scaled) g *= 0.25f;
  for (WeightDecayMode mode : {WeightDecayMode::l2, WeightDecayMode::decoupled}) {
    AdamHyper h;
    h.weight_decay = 0.01f;
    h.decay_mode = mode;
    auto pa = p0, pb = p0;
    std::vector<float> ma(count, 0.0f), va(count, 0.0f), mb(count, 0.0f), vb(count, 0.0f);
    for (std::int64_t t = 1; t <= 3; ++t) {
      h.step = t;
      h.grad_scale = 0.25f;
      dp::kernels::adam_step(kCtx, pa.data(), grads.data(), ma.data(), va.data(), count, h);
      h.grad_scale = 1.0f;
      dp::kernels::adam_step(kCtx, pb.data(), scaled.data(), mb.data(), vb.data(), count, h);
    }
    REQUIRE(pa == pb);
    REQUIRE(ma == mb);
    REQUIRE(va == vb);
    REQUIRE(pa != p0);
  }
}
