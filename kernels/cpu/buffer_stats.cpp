#include "kernels/buffer_stats.h"

#include <cmath>

namespace dp::kernels::cpu {
namespace {

// Sum of squares of x[0, n) in 16 interleaved float lanes (the compiler vectorises this
// without reassociating anything: the order is the one written), lanes summed in double.
double sum_squares(const float* x, std::int64_t n) {
  constexpr int kLanes = 16;
  double total = 0.0;
  constexpr std::int64_t block = 4096;  // float partial sums stay short
  for (std::int64_t b = 0; b < n; b += block) {
    const std::int64_t end = b + block < n ? b + block : n;
    float lane[kLanes] = {};
    std::int64_t i = b;
    for (; i + kLanes <= end; i += kLanes)
      for (int k = 0; k < kLanes; ++k) lane[k] += x[i + k] * x[i + k];
    for (; i < end; ++i) lane[0] += x[i] * x[i];
    for (float v : lane) total += static_cast<double>(v);
  }
  return total;
}

}  // namespace

BufferStats buffer_stats(const float* x, std::int64_t count) {
  BufferStats s;
  // Fast path: NaN and Inf propagate into the sum, so a finite sum means every element
  // is finite (one vectorised pass per step on the gradients).
  s.sum_squares = sum_squares(x, count);
  if (std::isfinite(s.sum_squares)) return s;
  // Rare path: count the non-finite elements and sum the finite ones (a float square
  // can also overflow to Inf from a finite value; that element is then counted finite).
  s.sum_squares = 0.0;
  for (std::int64_t i = 0; i < count; ++i) {
    if (std::isfinite(x[i]))
      s.sum_squares += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    else
      ++s.nonfinite;
  }
  return s;
}

}  // namespace dp::kernels::cpu
