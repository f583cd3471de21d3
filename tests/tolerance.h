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

// ---- The CUDA backend against its CPU twin (tests/gpu) ------------------------------------
//
// The same float32 expression evaluated by nvcc and by the host compiler may differ in the
// last bits: nvcc contracts a*b + c into one FMA (one rounding instead of two) where the
// x86-64 host build rounds twice, and CUDA's expf / logf (maximum error 2 ulp / 1 ulp) are
// not glibc's (< 1 ulp). Each such operation moves a result by at most ~3 ulp of the terms
// involved; the longest chain compared elementwise (a softmax gradient: exp, the reciprocal
// of the row sum, two products) has a handful. 16 ulp = 32 u relative to the terms' scale
// covers that with margin; a wrong formula, index or dropped element is off by far more.
constexpr double kGpuElementwiseRel = 32.0 * kUnitRoundoff;  // ~1.9e-6

// A K-term float reduction computed by both twins in different orders (cuBLAS tiles and
// split-K against OpenBLAS; warp trees against left-to-right loops): each is within
// reduction_tol(K) of the exact result (relative to sum |terms|), so the two are within twice that.
inline double twin_reduction_tol(std::int64_t k) {
  return 2.0 * reduction_tol(k);
}

// Sums accumulated in double (loss totals, buffer statistics): each order is within
// (K-1) * 2^-53 * sum|terms| of the exact sum (worst case, not random rounding), so two
// orders agree within 2 * K * 2^-53 relative to sum|terms|.
constexpr double kDoubleUnitRoundoff = 1.1102230246251565e-16;  // 2^-53
inline double double_sum_tol(std::int64_t k) {
  return 2.0 * static_cast<double>(k < 1 ? 1 : k) * kDoubleUnitRoundoff;
}

// Absolute floor for float results that may legitimately fall below float's normal range
// (exp of very negative logits): there every result is rounding.
constexpr double kFloatUnderflowAbs = 1.1754943508222875e-38;  // FLT_MIN

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
