// GEMM against a naive double-precision reference.
//
// C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C[m,n], row-major, with leading
// dimensions (row strides) that may exceed the minimal ones. The error of each element
// is bounded by tol::reduction_tol(k) relative to the scale of its terms,
// |alpha| * sum_p |op(A)[i,p] * op(B)[p,j]| + |beta * C0[i,j]|, not relative to the
// (possibly cancelled) result.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "tests/kernels/test_util.h"
#include "tests/tolerance.h"

namespace {

using dp::kernels::Trans;
using dp::test::Mismatches;

// Sentinel written into padding (and A/B) to detect writes outside the logical matrix.
constexpr float kPad = -12345.5f;

struct GemmCase {
  Trans ta, tb;
  std::int64_t m, n, k;
  std::int64_t lda, ldb, ldc;
  float alpha, beta;
};

const char* trans_name(Trans t) {
  return t == Trans::yes ? "T" : "N";
}

// Storage of op(X) [rows, cols]: X itself is [rows, cols] (no) or [cols, rows] (yes).
std::int64_t stored_rows(Trans t, std::int64_t rows, std::int64_t cols) {
  return t == Trans::no ? rows : cols;
}
std::int64_t stored_cols(Trans t, std::int64_t rows, std::int64_t cols) {
  return t == Trans::no ? cols : rows;
}

// A matrix of stored_rows x ld with the logical [stored_rows, stored_cols] block random and the
// padding columns set to kPad.
std::vector<float> padded_matrix(dp::Rng& rng, std::int64_t srows, std::int64_t scols, std::int64_t ld) {
  std::vector<float> x(static_cast<std::size_t>(srows * ld), kPad);
  for (std::int64_t r = 0; r < srows; ++r)
    for (std::int64_t c = 0; c < scols; ++c)
      x[static_cast<std::size_t>(r * ld + c)] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return x;
}

double op_at(const std::vector<float>& x, Trans t, std::int64_t ld, std::int64_t i, std::int64_t p) {
  return static_cast<double>(t == Trans::no ? x[static_cast<std::size_t>(i * ld + p)]
                                            : x[static_cast<std::size_t>(p * ld + i)]);
}

// Runs one case through the kernel entry and compares with the reference; returns the
// report (empty when everything matched) so the caller can REQUIRE on it with context.
std::string run_case(const GemmCase& g, std::uint64_t seed) {
  dp::Rng rng(seed);
  const std::int64_t a_rows = stored_rows(g.ta, g.m, g.k), a_cols = stored_cols(g.ta, g.m, g.k);
  const std::int64_t b_rows = stored_rows(g.tb, g.k, g.n), b_cols = stored_cols(g.tb, g.k, g.n);
  const std::vector<float> a = padded_matrix(rng, a_rows, a_cols, g.lda);
  const std::vector<float> b = padded_matrix(rng, b_rows, b_cols, g.ldb);
  const std::vector<float> c0 = padded_matrix(rng, g.m, g.n, g.ldc);
  const std::vector<float> a_copy = a, b_copy = b;
  std::vector<float> c = c0;

  dp::kernels::gemm(dp::kernels::Context{}, g.ta, g.tb, g.m, g.n, g.k, g.alpha, a.data(), g.lda, b.data(),
                    g.ldb, g.beta, c.data(), g.ldc);

  Mismatches values, padding, inputs;
  for (std::int64_t i = 0; i < g.m; ++i) {
    for (std::int64_t j = 0; j < g.n; ++j) {
      double dot = 0.0, scale = 0.0;
      for (std::int64_t p = 0; p < g.k; ++p) {
        const double term = op_at(a, g.ta, g.lda, i, p) * op_at(b, g.tb, g.ldb, p, j);
        dot += term;
        scale += std::fabs(term);
      }
      const double c_old = static_cast<double>(c0[static_cast<std::size_t>(i * g.ldc + j)]);
      const double want = static_cast<double>(g.alpha) * dot + static_cast<double>(g.beta) * c_old;
      scale =
          std::fabs(static_cast<double>(g.alpha)) * scale + std::fabs(static_cast<double>(g.beta) * c_old);
      values.check(i * g.ldc + j, static_cast<double>(c[static_cast<std::size_t>(i * g.ldc + j)]), want,
                   dp::tol::reduction_tol(g.k) * scale);
    }
    for (std::int64_t j = g.n; j < g.ldc; ++j)  // padding of C: untouched, bit for bit
      padding.check(i * g.ldc + j,
                    dp::test::same_bits(c[static_cast<std::size_t>(i * g.ldc + j)], kPad) ? 0.0 : 1.0, 0.0,
                    0.0);
  }
  for (std::size_t i = 0; i < a.size(); ++i)
    inputs.check(static_cast<std::int64_t>(i), dp::test::same_bits(a[i], a_copy[i]) ? 0.0 : 1.0, 0.0, 0.0);
  for (std::size_t i = 0; i < b.size(); ++i)
    inputs.check(static_cast<std::int64_t>(i), dp::test::same_bits(b[i], b_copy[i]) ? 0.0 : 1.0, 0.0, 0.0);

  std::string out;
  if (values.wrong() != 0) out += "values: " + values.report() + "\n";
  if (padding.wrong() != 0) out += "C padding written: " + padding.report() + "\n";
  if (inputs.wrong() != 0) out += "A or B modified: " + inputs.report() + "\n";
  if (values.checked() != g.m * g.n) out += "not every element was checked\n";
  return out;
}

std::string describe(const GemmCase& g) {
  std::ostringstream s;
  s << "gemm " << trans_name(g.ta) << trans_name(g.tb) << " m=" << g.m << " n=" << g.n << " k=" << g.k
    << " lda=" << g.lda << " ldb=" << g.ldb << " ldc=" << g.ldc << " alpha=" << g.alpha << " beta=" << g.beta;
  return s.str();
}

const Trans kTrans[] = {Trans::no, Trans::yes};
const std::int64_t kSizes[] = {1, 3, 17, 64, 129};

}  // namespace

TEST_CASE("gemm: all transpose combinations and sizes, minimal leading dimensions", "[gemm]") {
  std::uint64_t seed = 100;
  std::int64_t cases = 0;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (auto m : kSizes)
        for (auto n : kSizes)
          for (auto k : kSizes) {
            GemmCase g{ta, tb, m, n, k, ta == Trans::no ? k : m, tb == Trans::no ? n : k, n, 1.0f, 0.0f};
            INFO(describe(g));
            const std::string failure = run_case(g, ++seed);
            CHECK(failure == "");
            ++cases;
          }
  REQUIRE(cases == 4 * 125);
}

TEST_CASE("gemm: padded leading dimensions stay untouched, alpha and beta accumulate", "[gemm]") {
  // Odd, non-power-of-two shapes with every leading dimension padded by a different
  // amount, alpha/beta away from 1/0 (negative too), beta accumulating into C.
  const std::int64_t shapes[][3] = {{1, 1, 1},   {3, 17, 5},    {17, 3, 129},
                                    {64, 33, 7}, {129, 65, 17}, {5, 129, 64}};
  const float alphas[] = {0.75f, -1.5f};
  const float betas[] = {1.0f, -0.5f, 2.25f};
  std::uint64_t seed = 900;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (const auto& s : shapes)
        for (float alpha : alphas)
          for (float beta : betas) {
            const std::int64_t m = s[0], n = s[1], k = s[2];
            GemmCase g{ta,    tb,    m,   n, k, (ta == Trans::no ? k : m) + 3, (tb == Trans::no ? n : k) + 5,
                       n + 7, alpha, beta};
            INFO(describe(g));
            const std::string failure = run_case(g, ++seed);
            CHECK(failure == "");
          }
}

TEST_CASE("gemm: k == 0 gives C = beta * C", "[gemm]") {
  const float betas[] = {0.0f, 1.0f, -0.5f, 3.0f};
  std::uint64_t seed = 5000;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (float beta : betas) {
        // lda/ldb must be >= 1 even though A and B are never read.
        GemmCase g{ta, tb, 17, 3, 0, ta == Trans::no ? 1 : 17, tb == Trans::no ? 3 : 1, 5, 1.25f, beta};
        INFO(describe(g));
        const std::string failure = run_case(g, ++seed);
        CHECK(failure == "");
      }
}

TEST_CASE("gemm: beta == 0 overwrites C even when it holds NaN", "[gemm]") {
  // The model writes gradients with beta = 0 into caller buffers it never clears;
  // BLAS semantics: with beta == 0, C is not read.
  const std::int64_t m = 5, n = 3, k = 4;
  dp::Rng rng(77);
  const auto a = dp::test::uniform_floats(rng, m * k, -1.0, 1.0);
  const auto b = dp::test::uniform_floats(rng, k * n, -1.0, 1.0);
  for (std::int64_t kk : {k, std::int64_t{0}}) {
    INFO("k = " << kk);
    std::vector<float> c(m * n, std::numeric_limits<float>::quiet_NaN());
    dp::kernels::gemm(dp::kernels::Context{}, Trans::no, Trans::no, m, n, kk, 1.0f, a.data(), k, b.data(), n,
                      0.0f, c.data(), n);
    Mismatches mm;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double want = 0.0, scale = 0.0;
        for (std::int64_t p = 0; p < kk; ++p) {
          const double t = static_cast<double>(a[static_cast<std::size_t>(i * k + p)]) *
                           static_cast<double>(b[static_cast<std::size_t>(p * n + j)]);
          want += t;
          scale += std::fabs(t);
        }
        mm.check(i * n + j, static_cast<double>(c[static_cast<std::size_t>(i * n + j)]), want,
                 dp::tol::reduction_tol(kk) * scale);
      }
    INFO(mm.report());
    REQUIRE(mm.wrong() == 0);
  }
}

TEST_CASE("gemm: the entry rejects leading dimensions that are too small", "[gemm]") {
  dp::test::CheckThrows guard;
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
  const dp::kernels::Context ctx;
  // Valid call first, so the test cannot pass merely because every call throws.
  REQUIRE_NOTHROW(dp::kernels::gemm(ctx, Trans::no, Trans::no, 2, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f,
                                    c.data(), 3));
  // A is [2,4]: lda >= 4; transposed, stored [4,2]: lda >= 2.
  REQUIRE_THROWS_AS(dp::kernels::gemm(ctx, Trans::no, Trans::no, 2, 3, 4, 1.0f, a.data(), 3, b.data(), 3,
                                      0.0f, c.data(), 3),
                    dp::test::CheckFailure);
  REQUIRE_NOTHROW(dp::kernels::gemm(ctx, Trans::yes, Trans::no, 2, 3, 4, 1.0f, a.data(), 2, b.data(), 3, 0.0f,
                                    c.data(), 3));
  REQUIRE_THROWS_AS(dp::kernels::gemm(ctx, Trans::yes, Trans::no, 2, 3, 4, 1.0f, a.data(), 1, b.data(), 3,
                                      0.0f, c.data(), 3),
                    dp::test::CheckFailure);
  // B is [4,3]: ldb >= 3; transposed, stored [3,4]: ldb >= 4.
  REQUIRE_THROWS_AS(dp::kernels::gemm(ctx, Trans::no, Trans::no, 2, 3, 4, 1.0f, a.data(), 4, b.data(), 2,
                                      0.0f, c.data(), 3),
                    dp::test::CheckFailure);
  REQUIRE_THROWS_AS(dp::kernels::gemm(ctx, Trans::no, Trans::yes, 2, 3, 4, 1.0f, a.data(), 4, b.data(), 3,
                                      0.0f, c.data(), 3),
                    dp::test::CheckFailure);
  // C is [2,3]: ldc >= 3.
  REQUIRE_THROWS_AS(dp::kernels::gemm(ctx, Trans::no, Trans::no, 2, 3, 4, 1.0f, a.data(), 4, b.data(), 3,
                                      0.0f, c.data(), 2),
                    dp::test::CheckFailure);
}
