// Learning rate of step s (0-based; s = number of optimizer steps already taken):
//   warmup (s < W):  lr * (s + 1) / W
//   constant:        lr
//   cosine:          min_lr + (lr - min_lr) * (1 + cos(pi * p)) / 2,  p = (s - W) / (T - W)
// where T is the total number of steps of the run (p is clamped to [0, 1]).
#pragma once

#include <cstdint>
#include <string>

namespace dp {

enum class LrScheduleKind { constant, cosine };

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::constant;
  double lr = 1e-3;
  double min_lr = 0.0;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;

  double at(std::int64_t step) const;
};

}  // namespace dp
