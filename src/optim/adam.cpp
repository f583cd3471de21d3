#include "src/optim/adam.h"

#include "src/util/check.h"

namespace dp {

AdamOptimizer::AdamOptimizer(std::int64_t count, const kernels::AdamHyper& hyper)
    : hyper_(hyper), m_(static_cast<std::size_t>(count), 0.0f), v_(static_cast<std::size_t>(count), 0.0f) {}

void AdamOptimizer::load_state(std::vector<float> m, std::vector<float> v, std::int64_t steps_taken) {
  DP_CHECK(m.size() == m_.size() && v.size() == v_.size() && steps_taken >= 0, "adam load_state: sizes ",
           m.size(), "/", v.size(), " vs ", m_.size());
  m_ = std::move(m);
  v_ = std::move(v);
  steps_ = steps_taken;
}

void AdamOptimizer::step(const kernels::Context& ctx, float* params, const float* grads, double lr,
                         float grad_scale) {
  kernels::AdamHyper h = hyper_;
  h.lr = static_cast<float>(lr);
  h.grad_scale = grad_scale;
  h.step = ++steps_;
  kernels::adam_step(ctx, params, grads, m_.data(), v_.data(), static_cast<std::int64_t>(m_.size()), h);
}

}  // namespace dp
