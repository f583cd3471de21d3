#include "kernels/softmax_xent.h"

#include <cmath>

namespace dp::kernels::cpu {
namespace {
// For one row: returns max_j z_j and writes e_j = exp(z_j - max) (0 < e_j <= 1, so no
// overflow), returning their sum through *sum_out (>= 1, so its log is safe).
float row_exp(const float* z, float* e, std::int64_t classes, float* sum_out) {
  float zmax = z[0];
  for (std::int64_t j = 1; j < classes; ++j) zmax = z[j] > zmax ? z[j] : zmax;
  float sum = 0.0f;
  for (std::int64_t j = 0; j < classes; ++j) {
    e[j] = std::exp(z[j] - zmax);
    sum += e[j];
  }
  *sum_out = sum;
  return zmax;
}
}  // namespace

double softmax_xent_forward(const float* logits, const std::int32_t* labels, float* losses, std::int64_t rows,
                            std::int64_t classes) {
  double total = 0.0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * classes;
    // loss = log(sum_j exp(z_j - max)) + max - z_y; the exponentials are not stored
    // (only the backward pass needs them).
    float zmax = z[0];
    for (std::int64_t j = 1; j < classes; ++j) zmax = z[j] > zmax ? z[j] : zmax;
    float sum = 0.0f;
    for (std::int64_t j = 0; j < classes; ++j) sum += std::exp(z[j] - zmax);
    // (zmax - z_y) first: adding zmax to log(sum) first would round the loss to ulp(zmax).
    losses[i] = std::log(sum) + (zmax - z[labels[i]]);
    total += losses[i];
  }
  return total;
}

double softmax_xent_forward_backward(const float* logits, const std::int32_t* labels, float grad_scale,
                                     float* losses, float* dlogits, std::int64_t rows, std::int64_t classes) {
  double total = 0.0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * classes;
    float* dz = dlogits + i * classes;  // may alias z: row_exp reads z[j] before writing e[j]
    const float zy = z[labels[i]];
    float sum = 0.0f;
    const float zmax = row_exp(z, dz, classes, &sum);
    losses[i] = std::log(sum) + (zmax - zy);
    total += losses[i];
    // dL/dz_j = softmax_j - [j == y]
    const float inv_sum = 1.0f / sum;
    for (std::int64_t j = 0; j < classes; ++j) dz[j] = grad_scale * (dz[j] * inv_sum);
    dz[labels[i]] -= grad_scale;
  }
  return total;
}

}  // namespace dp::kernels::cpu
