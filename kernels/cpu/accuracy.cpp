#include "kernels/accuracy.h"

namespace dp::kernels::cpu {
namespace {
std::int32_t row_argmax(const float* z, std::int64_t classes) {
  std::int64_t best = 0;
  // Strict '>' keeps the first maximum; a NaN compares false, so it never wins
  // (an all-NaN row yields 0).
  for (std::int64_t j = 1; j < classes; ++j)
    if (z[j] > z[best] || (z[best] != z[best] && z[j] == z[j])) best = j;
  return static_cast<std::int32_t>(best);
}
}  // namespace

void argmax(const float* logits, std::int32_t* pred, std::int64_t rows, std::int64_t classes) {
  for (std::int64_t i = 0; i < rows; ++i) pred[i] = row_argmax(logits + i * classes, classes);
}

std::int64_t count_correct(const float* logits, const std::int32_t* labels, std::int64_t rows,
                           std::int64_t classes) {
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < rows; ++i)
    correct += row_argmax(logits + i * classes, classes) == labels[i] ? 1 : 0;
  return correct;
}

}  // namespace dp::kernels::cpu
