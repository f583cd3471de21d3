// The training step's loss without a trip to the host (the GPU path keeps the step free
// of synchronisations until the gradients are checked):
//   softmax_xent_rows / mse_rows: the fused forward+backward of softmax_xent.h / mse.h
//       (per-row losses and the gradient, the same kernels), without the returned total.
//   accumulate_sum: out[0] = (accumulate ? out[0] : 0) + float(scale * sum_i x[i]), the sum
//       in double in a fixed order; out is one float in the backend's memory.
// Labels are not checked here on any backend (softmax_xent_rows is the training path; the
// data loader has validated the labels, and an invalid one still gives a NaN row on the GPU).
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

void softmax_xent_rows(const Context& ctx, const float* logits, const std::int32_t* labels, float grad_scale,
                       float* losses, float* dlogits, std::int64_t rows, std::int64_t classes);
void mse_rows(const Context& ctx, const float* pred, const float* target, float grad_scale, float* losses,
              float* dpred, std::int64_t rows, std::int64_t cols);
void accumulate_sum(const Context& ctx, const float* x, std::int64_t count, double scale, float* out,
                    bool accumulate);

namespace cpu {
void accumulate_sum(const float* x, std::int64_t count, double scale, float* out, bool accumulate);
}

namespace cuda {
void softmax_xent_rows(const Context& ctx, const float* logits, const std::int32_t* labels, float grad_scale,
                       float* losses, float* dlogits, std::int64_t rows, std::int64_t classes);
void mse_rows(const Context& ctx, const float* pred, const float* target, float grad_scale, float* losses,
              float* dpred, std::int64_t rows, std::int64_t cols);
void accumulate_sum(const Context& ctx, const float* x, std::int64_t count, double scale, float* out,
                    bool accumulate);
}  // namespace cuda

}  // namespace dp::kernels
