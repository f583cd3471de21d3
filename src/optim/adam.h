// The optimizer state of one replica: Adam's m and v in two flat buffers laid out like
// the parameters (in the memory of the run's backend), and the step counter. step() is
// the fused kernel over the whole buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/adam.h"
#include "src/tensor/buffer.h"

namespace dp {

class AdamOptimizer {
 public:
  AdamOptimizer(std::int64_t count, const kernels::AdamHyper& hyper, Backend backend = Backend::cpu);

  // One update with learning rate lr; grad_scale multiplies every gradient first (the
  // 1/world_size of an all-reduce SUM).
  void step(const kernels::Context& ctx, float* params, const float* grads, double lr, float grad_scale);

  std::int64_t steps_taken() const { return steps_; }
  // Restores the state saved in a checkpoint (same sizes as this optimizer's buffers).
  void load_state(const std::vector<float>& m, const std::vector<float>& v, std::int64_t steps_taken,
                  const kernels::Context& ctx);
  // Host copies of the moments (for checkpoints).
  std::vector<float> m(const kernels::Context& ctx) const { return m_.to_host(ctx); }
  std::vector<float> v(const kernels::Context& ctx) const { return v_.to_host(ctx); }

 private:
  kernels::AdamHyper hyper_;
  Array<float> m_, v_;
  std::int64_t steps_ = 0;
};

}  // namespace dp
