#include "kernels/gemm.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

void gemm(const Context& ctx, Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
          float* c, std::int64_t ldc) {
  DP_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m=", m, " n=", n, " k=", k);
  // Row-major storage: the row length of op(X)'s storage bounds its leading dimension.
  DP_CHECK(lda >= (trans_a == Trans::no ? k : m) && lda >= 1, "gemm: lda=", lda, " too small");
  DP_CHECK(ldb >= (trans_b == Trans::no ? n : k) && ldb >= 1, "gemm: ldb=", ldb, " too small");
  DP_CHECK(ldc >= n && ldc >= 1, "gemm: ldc=", ldc, " < n=", n);
  DP_CHECK(m * n == 0 || c != nullptr, "gemm: null C");
  DP_CHECK(m * n * k == 0 || (a != nullptr && b != nullptr), "gemm: null A or B");
  require_backend_built(ctx, "gemm");
  DP_DISPATCH(ctx, cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
              cuda::gemm(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
}

}  // namespace dp::kernels
