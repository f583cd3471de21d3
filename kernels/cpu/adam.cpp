#include "kernels/adam.h"

#include <cmath>

namespace dp::kernels::cpu {

void adam_step(float* __restrict params, const float* __restrict grads, float* __restrict m,
               float* __restrict v, std::int64_t count, const AdamHyper& h) {
  // Bias corrections in double (beta^t for large t), folded into two scalars:
  //   p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  const float step_size = static_cast<float>(h.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float one_minus_b1 = 1.0f - h.beta1;
  const float one_minus_b2 = 1.0f - h.beta2;
  // Both decay modes in one branch-free loop: l2_decay is 0 for AdamW (g + 0*p == g for
  // finite p), decoupled_keep is 1 for Adam.
  const float l2_decay = h.decay_mode == WeightDecayMode::l2 ? h.weight_decay : 0.0f;
  const float decoupled_keep =
      h.decay_mode == WeightDecayMode::decoupled ? 1.0f - h.lr * h.weight_decay : 1.0f;
  for (std::int64_t i = 0; i < count; ++i) {
    float p = params[i];
    const float g = h.grad_scale * grads[i] + l2_decay * p;
    const float mi = h.beta1 * m[i] + one_minus_b1 * g;
    const float vi = h.beta2 * v[i] + one_minus_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    p *= decoupled_keep;
    params[i] = p - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + h.eps);
  }
}

}  // namespace dp::kernels::cpu
