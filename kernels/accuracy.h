// Argmax and accuracy over logits Z[rows, classes].
//   argmax:        pred[i] = the first j with Z[i,j] == max_j Z[i,j] (ties -> lowest index;
//                  NaN never wins; a row of only NaN gives 0). Every backend must agree.
//   count_correct: number of rows with argmax(Z_i) == labels[i]
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

void argmax(const Context& ctx, const float* logits, std::int32_t* pred, std::int64_t rows,
            std::int64_t classes);
std::int64_t count_correct(const Context& ctx, const float* logits, const std::int32_t* labels,
                           std::int64_t rows, std::int64_t classes);

namespace cpu {
void argmax(const float* logits, std::int32_t* pred, std::int64_t rows, std::int64_t classes);
std::int64_t count_correct(const float* logits, const std::int32_t* labels, std::int64_t rows,
                           std::int64_t classes);
}  // namespace cpu

namespace cuda {
void argmax(const Context& ctx, const float* logits, std::int32_t* pred, std::int64_t rows,
            std::int64_t classes);
std::int64_t count_correct(const Context& ctx, const float* logits, const std::int32_t* labels,
                           std::int64_t rows, std::int64_t classes);
}  // namespace cuda

}  // namespace dp::kernels
