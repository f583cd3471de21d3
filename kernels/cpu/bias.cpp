#include "kernels/bias.h"

namespace dp::kernels::cpu {

void bias_add(float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t i = 0; i < rows; ++i) {
    float* row = y + i * cols;
    for (std::int64_t j = 0; j < cols; ++j) row[j] += bias[j];
  }
}

void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols, bool accumulate) {
  // Row-by-row accumulation keeps the inner loop contiguous (vectorises); the sum order
  // over rows is fixed (0..rows-1), so the result is deterministic.
  if (!accumulate)
    for (std::int64_t j = 0; j < cols; ++j) dbias[j] = 0.0f;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = dy + i * cols;
    for (std::int64_t j = 0; j < cols; ++j) dbias[j] += row[j];
  }
}

}  // namespace dp::kernels::cpu
