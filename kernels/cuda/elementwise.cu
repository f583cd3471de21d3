// CUDA twins of kernels/cpu/bias.cpp and kernels/cpu/relu.cpp, and the matrix scaling
// that gemm's k == 0 case needs (kernels/cuda/elementwise.h).
//
// Results are bit-identical to the CPU twins: bias_add and ReLU are single IEEE operations
// or selections; bias_backward sums in a different (fixed) order, see below.
#include <cstdint>

#include "kernels/bias.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/relu.h"

namespace dp::kernels {
namespace cuda_detail {
namespace {

__global__ void __launch_bounds__(kThreads)
    bias_add_kernel(float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
  const std::int64_t count = rows * cols;
  for (std::int64_t i = global_thread(); i < count; i += grid_threads()) y[i] += bias[i % cols];
}

// Column sums. A block owns a tile of kTileCols columns (threadIdx.x, consecutive, so a
// warp reads consecutive addresses of a row) and kRowLanes lanes over the rows
// (threadIdx.y): lane r sums rows r, r + kRowLanes, ... in order, then lane 0 adds the
// kRowLanes partial sums in lane order. The order depends on rows alone: deterministic.
constexpr int kTileCols = 32;
constexpr int kRowLanes = kThreads / kTileCols;

__global__ void __launch_bounds__(kThreads)
    bias_backward_kernel(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols,
                         bool accumulate) {
  __shared__ float partial[kRowLanes][kTileCols + 1];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  // The tile loop is uniform across the block (it depends on blockIdx only), so the
  // barriers inside it are reached by every thread.
  for (std::int64_t tile = static_cast<std::int64_t>(blockIdx.x) * kTileCols; tile < cols;
       tile += static_cast<std::int64_t>(gridDim.x) * kTileCols) {
    const std::int64_t j = tile + tx;
    float sum = 0.0f;
    if (j < cols)
      for (std::int64_t i = ty; i < rows; i += kRowLanes) sum += dy[i * cols + j];
    partial[ty][tx] = sum;
    __syncthreads();
    if (ty == 0 && j < cols) {
      float total = partial[0][tx];
      for (int r = 1; r < kRowLanes; ++r) total += partial[r][tx];
      dbias[j] = accumulate ? dbias[j] + total : total;
    }
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kThreads)
    relu_forward_kernel(const float* x, float* y, std::int64_t count) {
  for (std::int64_t i = global_thread(); i < count; i += grid_threads()) {
    const float v = x[i];
    // As the CPU twin: NaN propagates (v != v), everything not > 0 becomes +0.
    y[i] = v > 0.0f ? v : (v != v ? v : 0.0f);
  }
}

__global__ void __launch_bounds__(kThreads)
    relu_backward_kernel(const float* y, const float* dy, float* dx, std::int64_t count) {
  for (std::int64_t i = global_thread(); i < count; i += grid_threads()) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void __launch_bounds__(kThreads)
    scale_matrix_kernel(float* c, std::int64_t rows, std::int64_t cols, std::int64_t ld, float beta) {
  const std::int64_t count = rows * cols;
  for (std::int64_t e = global_thread(); e < count; e += grid_threads()) {
    float* at = c + (e / cols) * ld + e % cols;
    *at = beta == 0.0f ? 0.0f : beta * *at;
  }
}

}  // namespace

void scale_matrix(const Context& ctx, float* c, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                  float beta) {
  if (rows == 0 || cols == 0) return;
  scale_matrix_kernel<<<grid_for(rows * cols), kThreads, 0, stream_of(ctx.stream)>>>(c, rows, cols, ld, beta);
  KERNEL_CHECK();
}

}  // namespace cuda_detail

namespace cuda {

using cuda_detail::grid_for;
using cuda_detail::kThreads;
using cuda_detail::stream_of;

void bias_add(const Context& ctx, float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
  if (rows == 0 || cols == 0) return;
  cuda_detail::bias_add_kernel<<<grid_for(rows * cols), kThreads, 0, stream_of(ctx.stream)>>>(y, bias, rows,
                                                                                              cols);
  KERNEL_CHECK();
}

void bias_backward(const Context& ctx, const float* dy, float* dbias, std::int64_t rows, std::int64_t cols,
                   bool accumulate) {
  // Nothing to add: leave dbias untouched (the kernel would turn -0 into +0).
  if (cols == 0 || (rows == 0 && accumulate)) return;
  const dim3 block(cuda_detail::kTileCols, cuda_detail::kRowLanes);
  cuda_detail::
      bias_backward_kernel<<<grid_for(cols, cuda_detail::kTileCols), block, 0, stream_of(ctx.stream)>>>(
          dy, dbias, rows, cols, accumulate);
  KERNEL_CHECK();
}

void relu_forward(const Context& ctx, const float* x, float* y, std::int64_t count) {
  if (count == 0) return;
  cuda_detail::relu_forward_kernel<<<grid_for(count), kThreads, 0, stream_of(ctx.stream)>>>(x, y, count);
  KERNEL_CHECK();
}

void relu_backward(const Context& ctx, const float* y, const float* dy, float* dx, std::int64_t count) {
  if (count == 0) return;
  cuda_detail::relu_backward_kernel<<<grid_for(count), kThreads, 0, stream_of(ctx.stream)>>>(y, dy, dx,
                                                                                             count);
  KERNEL_CHECK();
}

}  // namespace cuda
}  // namespace dp::kernels
