// Bias of a linear layer, row-major activations Y[rows, cols], bias b[cols].
//   bias_add:      Y[i,j] += b[j]
//   bias_backward: db[j] = sum_i dY[i,j]      (the reduction the backward pass needs);
//                  with accumulate, db[j] += sum_i dY[i,j] (gradient accumulation)
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

void bias_add(const Context& ctx, float* y, const float* bias, std::int64_t rows, std::int64_t cols);
void bias_backward(const Context& ctx, const float* dy, float* dbias, std::int64_t rows, std::int64_t cols,
                   bool accumulate = false);

namespace cpu {
void bias_add(float* y, const float* bias, std::int64_t rows, std::int64_t cols);
void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols, bool accumulate);
}  // namespace cpu

namespace cuda {
void bias_add(const Context& ctx, float* y, const float* bias, std::int64_t rows, std::int64_t cols);
void bias_backward(const Context& ctx, const float* dy, float* dbias, std::int64_t rows, std::int64_t cols,
                   bool accumulate);
}  // namespace cuda

}  // namespace dp::kernels
