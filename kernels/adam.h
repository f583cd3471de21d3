// Fused Adam / AdamW over one flat buffer of count parameters (one pass, in place).
// For each element, with g = grad_scale * grad (grad_scale folds the 1/world_size of an
// all-reduce SUM) and t = step >= 1:
//   adam  (L2):      g += weight_decay * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
//   adamw (decoupled): p -= lr * weight_decay * p
//   p -= lr * m_hat / (sqrt(v_hat) + eps)
// This is the update of torch.optim.Adam / AdamW (same eps placement). lr is the
// scheduled learning rate of this step.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

enum class WeightDecayMode { l2, decoupled };

struct AdamHyper {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  WeightDecayMode decay_mode = WeightDecayMode::decoupled;
  float grad_scale = 1.0f;
  std::int64_t step = 1;  // 1-based, for bias correction
};

void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t count,
               const AdamHyper& hyper);

namespace cpu {
void adam_step(float* params, const float* grads, float* m, float* v, std::int64_t count,
               const AdamHyper& hyper);
}

namespace cuda {
void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t count,
               const AdamHyper& hyper);
}

}  // namespace dp::kernels
