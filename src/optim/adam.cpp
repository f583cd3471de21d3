#include "src/optim/adam.h"

#include "src/util/check.h"

namespace dp {

AdamOptimizer::AdamOptimizer(std::int64_t count, const kernels::AdamHyper& hyper, Backend backend)
    : hyper_(hyper), m_(backend, count), v_(backend, count) {}

void AdamOptimizer::load_state(const std::vector<float>& m, const std::vector<float>& v,
                               std::int64_t steps_taken, const kernels::Context& ctx) {
  const auto count = static_cast<std::size_t>(m_.count());
  DP_CHECK(m.size() == count && v.size() == count && steps_taken >= 0, "adam load_state: sizes ", m.size(),
           "/", v.size(), " vs ", count);
  m_.upload(m, ctx);
  v_.upload(v, ctx);
  steps_ = steps_taken;
}

void AdamOptimizer::step(const kernels::Context& ctx, float* params, const float* grads, double lr,
                         float grad_scale) {
  kernels::AdamHyper h = hyper_;
  h.lr = static_cast<float>(lr);
  h.grad_scale = grad_scale;
  h.step = ++steps_;
  kernels::adam_step(ctx, params, grads, m_.data(), v_.data(), m_.count(), h);
}

}  // namespace dp
