// Every numerical tolerance of the test suite, in one place, with the reason for it.
//
// u = 2^-24 ~ 6e-8 is the unit roundoff of float32. A sum of K float32 terms computed in
// any order has an error bound of about K*u*sum|terms| in the worst case and
// ~sqrt(K)*u*sum|terms| for random rounding; GEMM and reductions are compared with the
// latter scaled by a safety factor, elementwise ops with a few ulps.
#pragma once

#include <cmath>
#include <cstdint>

namespace dp::tol {

constexpr double kUnitRoundoff = 5.9604644775390625e-08;  // 2^-24

// Elementwise float32 ops (bias add, ReLU, Adam, softmax of one row) against a double
// reference: a handful of roundings, so a few ulps relative.
constexpr double kElementwiseRel = 1e-6;
constexpr double kElementwiseAbs = 1e-7;

// Reductions of K terms (GEMM inner products, bias gradient, loss sums): random-rounding
// bound sqrt(K)*u, times 8 for safety, relative to sum_k |a_k * b_k| (the scale of the
// terms, not of the possibly cancelled result).
inline double reduction_tol(std::int64_t k) {
  return 8.0 * std::sqrt(static_cast<double>(k < 1 ? 1 : k)) * kUnitRoundoff;
}

// Central finite differences in double: (f(x+h) - f(x-h)) / 2h has truncation error
// O(h^2 * f''') and roundoff O(u_double * |f| / h); h = 1e-5 balances them to ~1e-10
// for our smooth, O(1) losses. ReLU kinks are kept away from by the test inputs.
constexpr double kFiniteDiffStep = 1e-5;
constexpr double kFiniteDiffRel = 1e-6;
constexpr double kFiniteDiffAbs = 1e-8;

// A float32 kernel's (or the float32 model's) analytic gradient against central finite
// differences of a double-precision reference: the FD error (~1e-10, above) is negligible,
// so the gap is the float gradient's own rounding, ~reduction_tol(K) = 8*sqrt(K)*u relative
// to the scale of the gradient for each K-term reduction it passes through. 1e-5 (~170 u)
// covers a few chained reductions of up to ~100 terms; a wrong formula is off by O(1).
// Compared as |g - fd| <= kFiniteDiffFloatRel * (|fd| + max|fd| over the tensor).
constexpr double kFiniteDiffFloatRel = 1e-5;

// N-rank vs 1-rank training (golden test: 50 Adam steps, lr 1e-3, MLP on Fashion-MNIST).
// In exact arithmetic the runs are identical; in float32 only the summation order of the
// gradient differs (per-rank GEMM partial sums, then the all-reduce), a relative
// perturbation of ~sqrt(K)*u ~ 1e-6 per gradient element. Adam's update m/sqrt(v) is
// scale-free, so it passes such relative perturbations on almost unchanged, except for
// elements whose gradient is mostly cancellation noise. Bounds:
//   relative L2 of the whole parameter difference <= 1e-5, and
//   max |difference| <= 1e-4 = lr/10: no element may have taken a materially different step.
// Measured here: max |diff| 5.0e-7, relative L2 1.2e-7 (2 and 4 ranks vs 1 rank).
constexpr double kGoldenRelL2 = 1e-5;
constexpr double kGoldenMaxAbs = 1e-4;

// linreg vs the closed-form least-squares solution (issue acceptance: 1e-3 relative).
constexpr double kLeastSquaresRel = 1e-3;

}  // namespace dp::tol
