// CUDA twin of kernels/cpu/gemm.cpp: cuBLAS SGEMM on ctx.blas_handle (bound to ctx.stream
// by device::Runtime). Host code only.
//
// cuBLAS is column-major. A row-major [r, c] matrix with row stride ld is, read
// column-major, its transpose [c, r] with leading dimension ld. So the row-major
//   C = alpha op(A) op(B) + beta C
// is the column-major
//   C^T = alpha op(B)^T op(A)^T + beta C^T,
// i.e. cublasSgemm(opB, opA, n, m, k, B, ldb, A, lda, C, ldc) with the same op flags:
// op(B)^T is op(B^T) read column-major. The leading dimensions carry over unchanged and
// satisfy cuBLAS's requirements exactly when they satisfy the entry's checks.
#include "kernels/gemm.h"

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"

namespace dp::kernels::cuda {

void gemm(const Context& ctx, Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
          float* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // C = beta * C; beta == 0 writes zeros without reading C, beta == 1 leaves C as it is
    // (the CPU twin's BLAS does the same). A and B are not touched (they may be null).
    if (beta != 1.0f) cuda_detail::scale_matrix(ctx, c, m, n, ldc, beta);
    return;
  }
  auto* handle = static_cast<cublasHandle_t>(ctx.blas_handle);
  DP_CHECK(handle != nullptr, "cuda::gemm: the context has no cuBLAS handle");
  // alpha and beta are host scalars (whatever another user of the handle set before).
  CUBLAS_CHECK(cuda_detail::cublas().set_pointer_mode(handle, CUBLAS_POINTER_MODE_HOST));
  const cublasOperation_t op_a = trans_a == Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b == Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  // The 64-bit API: no int range limit on the sizes or leading dimensions. With beta == 0
  // cuBLAS does not read C (documented), so NaN in an uninitialised C is overwritten.
  CUBLAS_CHECK(
      cuda_detail::cublas().sgemm_64(handle, op_b, op_a, n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
  cuda_detail::forget_library_errors();
}

}  // namespace dp::kernels::cuda
