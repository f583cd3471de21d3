#include <cmath>

#include "kernels/buffer_stats.h"

namespace dp::kernels::cpu {

BufferStats buffer_stats(const float* x, std::int64_t count) {
  // Blocks of 4096 summed in float (vectorises), the block sums in double: the error is
  // that of a 4096-term float sum per block, far below what a norm for logging needs.
  BufferStats s;
  constexpr std::int64_t block = 4096;
  for (std::int64_t b = 0; b < count; b += block) {
    const std::int64_t end = b + block < count ? b + block : count;
    float partial = 0.0f;
    std::int64_t bad = 0;
    for (std::int64_t i = b; i < end; ++i) {
      const float v = x[i];
      // v - v is 0 for finite v and NaN for NaN/Inf.
      const bool finite = (v - v) == 0.0f;
      bad += finite ? 0 : 1;
      partial += finite ? v * v : 0.0f;
    }
    s.sum_squares += static_cast<double>(partial);
    s.nonfinite += bad;
  }
  return s;
}

}  // namespace dp::kernels::cpu
