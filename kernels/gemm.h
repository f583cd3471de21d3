// GEMM, row-major: C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C[m,n]
// op(X) = X or X^T. Leading dimensions are row strides in elements:
//   A is [m,k] (lda >= k) or, transposed, stored as [k,m] (lda >= m); likewise B.
// beta == 0 overwrites C: its old contents, even NaN, are never read (callers rely on it
// to "write" gradients into uninitialised buffers). k == 0 gives C = beta * C.
// The MLP uses all three forms: Y = X·W^T (N,T), dW = dY^T·X (T,N), dX = dY·W (N,N).
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

enum class Trans { no, yes };

void gemm(const Context& ctx, Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
          float* c, std::int64_t ldc);

namespace cpu {
void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc);
}

namespace cuda {
void gemm(const Context& ctx, Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
          float* c, std::int64_t ldc);
}

}  // namespace dp::kernels
