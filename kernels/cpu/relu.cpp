#include "kernels/relu.h"

namespace dp::kernels::cpu {

void relu_forward(const float* x, float* y, std::int64_t count) {
  // x > 0 ? x : 0 (not std::max) so that NaN propagates instead of becoming 0.
  for (std::int64_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : (x[i] != x[i] ? x[i] : 0.0f);
}

void relu_backward(const float* y, const float* dy, float* dx, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace dp::kernels::cpu
