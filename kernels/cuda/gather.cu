// Row gather on the device: one thread per destination element, grid-stride. Rows are
// contiguous, so consecutive threads read consecutive elements of a source row
// (coalesced) whatever the row order of the index.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/gather.h"

namespace dp::kernels::cuda {
namespace {

using cuda_detail::global_thread;
using cuda_detail::grid_threads;

template <typename T>
__device__ __forceinline__ T out_of_range_value();
template <>
__device__ __forceinline__ float out_of_range_value<float>() {
  return __int_as_float(0x7fffffff);  // quiet NaN
}
template <>
__device__ __forceinline__ std::int32_t out_of_range_value<std::int32_t>() {
  return -1;  // not a class: softmax_xent gives the row a NaN loss
}

template <typename T>
__global__ void gather_kernel(const T* __restrict__ src, std::int64_t src_rows, std::int64_t width,
                              const std::int64_t* __restrict__ index, std::int64_t rows,
                              T* __restrict__ dst) {
  const std::int64_t total = rows * width;
  for (std::int64_t e = global_thread(); e < total; e += grid_threads()) {
    const std::int64_t i = e / width, j = e - i * width;
    const std::int64_t from = index[i];
    dst[e] = from >= 0 && from < src_rows ? src[from * width + j] : out_of_range_value<T>();
  }
}

template <typename T>
void launch(const Context& ctx, const T* src, std::int64_t src_rows, std::int64_t width,
            const std::int64_t* index, std::int64_t rows, T* dst) {
  if (rows == 0) return;
  gather_kernel<T>
      <<<cuda_detail::grid_for(rows * width), cuda_detail::kThreads, 0, cuda_detail::stream_of(ctx.stream)>>>(
          src, src_rows, width, index, rows, dst);
  KERNEL_CHECK();
}

}  // namespace

void gather_rows(const Context& ctx, const float* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, float* dst) {
  launch(ctx, src, src_rows, width, index, rows, dst);
}

void gather_rows(const Context& ctx, const std::int32_t* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, std::int32_t* dst) {
  launch(ctx, src, src_rows, width, index, rows, dst);
}

}  // namespace dp::kernels::cuda
