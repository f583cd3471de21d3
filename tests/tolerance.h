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

// N-rank vs 1-rank training (golden test): after S Adam steps the runs differ only by
// the summation order of the gradient all-reduce and of the per-rank GEMMs. Adam
// divides by sqrt(v), so a component whose gradient is pure rounding noise can move by
// up to lr per step in either run: bound the worst element by 2*lr*S/10 and the
// relative L2 difference of the whole parameter vector by 1e-4. Both are measured in
// docs/architecture.md (golden test section).
constexpr double kGoldenRelL2 = 1e-4;
inline double golden_max_abs(double lr, std::int64_t steps) { return 2.0 * lr * static_cast<double>(steps) / 10.0; }

// linreg vs the closed-form least-squares solution (issue acceptance: 1e-3 relative).
constexpr double kLeastSquaresRel = 1e-3;

}  // namespace dp::tol
