// Squared error for regression, predictions P[rows, cols], targets T[rows, cols].
//   forward:  losses[i] = sum_j (P[i,j] - T[i,j])^2 ; returns sum_i losses[i] (double)
//   fused forward+backward: also dP[i,j] = grad_scale * 2 * (P[i,j] - T[i,j])
//            With grad_scale = 1/(rows*cols) the total is the mean squared error
//            (PyTorch's MSELoss(reduction='mean')). dP may alias P.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

double mse_forward(const Context& ctx, const float* pred, const float* target, float* losses,
                   std::int64_t rows, std::int64_t cols);
double mse_forward_backward(const Context& ctx, const float* pred, const float* target, float grad_scale,
                            float* losses, float* dpred, std::int64_t rows, std::int64_t cols);

namespace cpu {
double mse_forward(const float* pred, const float* target, float* losses, std::int64_t rows,
                   std::int64_t cols);
double mse_forward_backward(const float* pred, const float* target, float grad_scale, float* losses,
                            float* dpred, std::int64_t rows, std::int64_t cols);
}  // namespace cpu

namespace cuda {
double mse_forward(const Context& ctx, const float* pred, const float* target, float* losses,
                   std::int64_t rows, std::int64_t cols);
double mse_forward_backward(const Context& ctx, const float* pred, const float* target, float grad_scale,
                            float* losses, float* dpred, std::int64_t rows, std::int64_t cols);
}  // namespace cuda

}  // namespace dp::kernels
