// The optimizer state of one replica: Adam's m and v in two flat buffers laid out like
// the parameters, and the step counter. step() is the fused kernel over the whole buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/adam.h"

namespace dp {

class AdamOptimizer {
 public:
  AdamOptimizer(std::int64_t count, const kernels::AdamHyper& hyper);

  // One update with learning rate lr; grad_scale multiplies every gradient first (the
  // 1/world_size of an all-reduce SUM).
  void step(const kernels::Context& ctx, float* params, const float* grads, double lr, float grad_scale);

  std::int64_t steps_taken() const { return steps_; }
  // Restores the state saved in a checkpoint (same sizes as this optimizer's buffers).
  void load_state(std::vector<float> m, std::vector<float> v, std::int64_t steps_taken);
  const std::vector<float>& m() const { return m_; }
  const std::vector<float>& v() const { return v_; }

 private:
  kernels::AdamHyper hyper_;
  std::vector<float> m_, v_;
  std::int64_t steps_ = 0;
};

}  // namespace dp
