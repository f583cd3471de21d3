// Internal to kernels/cuda: launchers defined in elementwise.cu that host-only code
// (gemm.cpp, compiled by the host compiler) needs.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels::cuda_detail {

// C[i, j] = beta * C[i, j] for i < rows, j < cols, row stride ld, on ctx.stream, with the
// BLAS convention that beta == 0 writes zeros without reading C (NaN included).
// Elements C[i, cols..ld) are untouched.
void scale_matrix(const Context& ctx, float* c, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                  float beta);

}  // namespace dp::kernels::cuda_detail
