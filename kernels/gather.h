// Row gather: the batch of a step taken out of a whole data set held by the backend.
//   gather_rows:  dst[i, :] = src[index[i], :]   for i in [0, rows), rows of `width`
//                 elements; float features/targets or int32 labels (width 1).
// index values must lie in [0, src_rows): the entry checks host indices (CPU backend);
// the CUDA twin cannot read device indices from the host and writes a NaN row (floats)
// or -1 (labels) for an index outside the table, which the loss then reports.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

void gather_rows(const Context& ctx, const float* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, float* dst);
void gather_rows(const Context& ctx, const std::int32_t* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, std::int32_t* dst);

namespace cpu {
void gather_rows(const float* src, std::int64_t width, const std::int64_t* index, std::int64_t rows,
                 float* dst);
void gather_rows(const std::int32_t* src, std::int64_t width, const std::int64_t* index, std::int64_t rows,
                 std::int32_t* dst);
}  // namespace cpu

namespace cuda {
void gather_rows(const Context& ctx, const float* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, float* dst);
void gather_rows(const Context& ctx, const std::int32_t* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, std::int32_t* dst);
}  // namespace cuda

}  // namespace dp::kernels
