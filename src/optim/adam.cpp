#include "src/optim/adam.h"

namespace dp {

AdamOptimizer::AdamOptimizer(std::int64_t count, const kernels::AdamHyper& hyper)
    : hyper_(hyper), m_(static_cast<std::size_t>(count), 0.0f), v_(static_cast<std::size_t>(count), 0.0f) {}

void AdamOptimizer::step(const kernels::Context& ctx, float* params, const float* grads, double lr,
                         float grad_scale) {
  kernels::AdamHyper h = hyper_;
  h.lr = static_cast<float>(lr);
  h.grad_scale = grad_scale;
  h.step = ++steps_;
  kernels::adam_step(ctx, params, grads, m_.data(), v_.data(), static_cast<std::int64_t>(m_.size()), h);
}

}  // namespace dp
