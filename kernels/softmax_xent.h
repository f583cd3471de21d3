// Softmax + cross-entropy over logits Z[rows, classes] with integer labels y[rows].
//   loss_i  = logsumexp(Z_i) - Z_i[y_i]        (stable: max subtracted first)
//   forward: losses[i] = loss_i; returns sum_i loss_i (double accumulation)
//   fused forward+backward (training):
//            losses[i] = loss_i and dZ[i,j] = grad_scale * (softmax(Z_i)_j - [j == y_i])
//            grad_scale is d(total loss)/d(loss_i), e.g. 1/rows for a mean over the batch.
//            dZ may alias Z (the logits are consumed).
// Labels must be in [0, classes); the entry checks that.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

double softmax_xent_forward(const Context& ctx, const float* logits, const std::int32_t* labels,
                            float* losses, std::int64_t rows, std::int64_t classes);
double softmax_xent_forward_backward(const Context& ctx, const float* logits, const std::int32_t* labels,
                                     float grad_scale, float* losses, float* dlogits, std::int64_t rows,
                                     std::int64_t classes);

namespace cpu {
double softmax_xent_forward(const float* logits, const std::int32_t* labels, float* losses, std::int64_t rows,
                            std::int64_t classes);
double softmax_xent_forward_backward(const float* logits, const std::int32_t* labels, float grad_scale,
                                     float* losses, float* dlogits, std::int64_t rows, std::int64_t classes);
}  // namespace cpu

// The CUDA twin cannot check labels on the host (they are device memory): a label outside
// [0, classes) gives that row a NaN loss (and NaN gradients), which the trainer's
// non-finite check turns into a clear error.
namespace cuda {
double softmax_xent_forward(const Context& ctx, const float* logits, const std::int32_t* labels,
                            float* losses, std::int64_t rows, std::int64_t classes);
double softmax_xent_forward_backward(const Context& ctx, const float* logits, const std::int32_t* labels,
                                     float grad_scale, float* losses, float* dlogits, std::int64_t rows,
                                     std::int64_t classes);
}  // namespace cuda

}  // namespace dp::kernels
