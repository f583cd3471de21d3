#include "kernels/gemm.h"

#include <cblas.h>

#include <limits>

#include "src/util/check.h"

namespace dp::kernels::cpu {

void gemm(Trans trans_a, Trans trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  // CBLAS takes int (blasint) sizes; our layers are far below 2^31 per dimension.
  constexpr std::int64_t int_max = std::numeric_limits<int>::max();
  DP_CHECK(m <= int_max && n <= int_max && k <= int_max && lda <= int_max && ldb <= int_max && ldc <= int_max,
           "gemm: dimension exceeds the CBLAS int range");
  // k == 0 is C = beta*C; CBLAS handles that case itself.
  cblas_sgemm(CblasRowMajor, trans_a == Trans::yes ? CblasTrans : CblasNoTrans,
              trans_b == Trans::yes ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
              static_cast<int>(ldc));
}

}  // namespace dp::kernels::cpu

namespace dp::kernels {

void set_cpu_threads(int threads) {
  openblas_set_num_threads(threads);
}
int cpu_threads() {
  return openblas_get_num_threads();
}

}  // namespace dp::kernels
