#include "kernels/mse.h"

namespace dp::kernels::cpu {

double mse_forward(const float* pred, const float* target, float* losses, std::int64_t rows,
                   std::int64_t cols) {
  double total = 0.0;
  for (std::int64_t i = 0; i < rows; ++i) {
    float row_sum = 0.0f;
    for (std::int64_t j = 0; j < cols; ++j) {
      const float d = pred[i * cols + j] - target[i * cols + j];
      row_sum += d * d;
    }
    losses[i] = row_sum;
    total += row_sum;
  }
  return total;
}

double mse_forward_backward(const float* pred, const float* target, float grad_scale, float* losses,
                            float* dpred, std::int64_t rows, std::int64_t cols) {
  double total = 0.0;
  const float two_scale = 2.0f * grad_scale;
  for (std::int64_t i = 0; i < rows; ++i) {
    float row_sum = 0.0f;
    for (std::int64_t j = 0; j < cols; ++j) {
      const std::int64_t at = i * cols + j;
      const float d = pred[at] - target[at];  // read before dpred (may alias pred) is written
      row_sum += d * d;
      dpred[at] = two_scale * d;
    }
    losses[i] = row_sum;
    total += row_sum;
  }
  return total;
}

}  // namespace dp::kernels::cpu
