// Forward of a linear layer with its activation, fused where the backend can:
//   y[rows, out] = act(x[rows, in] · W^T + b)    W [out, in] row-major (nn.Linear), b [out]
//   act = ReLU when relu, else the identity. NaN: the CPU twin's ReLU keeps a NaN
//   (kernels/relu.h); cuBLASLt's fused ReLU is max(z, 0) and may turn it into 0. Either
//   way a NaN from the parameters or the input still reaches the gradients (dW = dzᵀ·x,
//   dx = dz·W), where the trainer's non-finite check sees it.
// y must not alias x, W or b.
// CPU twin: gemm + bias_add (+ relu_forward), the MLP's former three calls, bit for bit.
// CUDA twin: one cuBLASLt matmul with a BIAS or RELU_BIAS epilogue (no separate passes
// over y for the bias and the ReLU); where cuBLASLt is not usable (no library, no
// algorithm for the shape, DPTRAIN_CUBLASLT=0) the cuBLAS GEMM and the two kernels.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

void linear_forward(const Context& ctx, const float* x, const float* w, const float* b, float* y,
                    std::int64_t rows, std::int64_t in, std::int64_t out, bool relu);

namespace cpu {
void linear_forward(const float* x, const float* w, const float* b, float* y, std::int64_t rows,
                    std::int64_t in, std::int64_t out, bool relu);
}

namespace cuda {
void linear_forward(const Context& ctx, const float* x, const float* w, const float* b, float* y,
                    std::int64_t rows, std::int64_t in, std::int64_t out, bool relu);
// How many calls so far ran the fused cuBLASLt matmul (the others the fallback): for tests.
std::int64_t fused_linear_calls();
}  // namespace cuda

}  // namespace dp::kernels
