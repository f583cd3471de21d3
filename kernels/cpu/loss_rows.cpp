#include "kernels/loss_rows.h"

namespace dp::kernels::cpu {

void accumulate_sum(const float* x, std::int64_t count, double scale, float* out, bool accumulate) {
  double total = 0.0;
  for (std::int64_t i = 0; i < count; ++i) total += static_cast<double>(x[i]);
  const float add = static_cast<float>(scale * total);
  *out = accumulate ? *out + add : add;
}

}  // namespace dp::kernels::cpu
