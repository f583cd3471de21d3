// Internal to kernels/cuda: launch geometry and warp-level helpers shared by the .cu files.
//
// Every kernel indexes with std::int64_t and loops grid-stride, so the grid is capped
// (kMaxBlocks) and any element count works; a launch never covers more than it needs.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace dp::kernels::cuda_detail {

constexpr int kThreads = 256;  // threads per block of the elementwise and row kernels
constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = kThreads / kWarpSize;
constexpr std::int64_t kMaxBlocks = 16384;  // 4M threads: ~15 waves on an H100; grid-stride beyond
constexpr unsigned kFullMask = 0xffffffffu;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// Blocks of kThreads for `work` independent items (elements, or rows with items_per_block
// rows a block), at least 1, at most kMaxBlocks.
inline unsigned grid_for(std::int64_t work, std::int64_t items_per_block = kThreads) {
  const std::int64_t blocks = ceil_div(work, items_per_block);
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

__device__ __forceinline__ std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t grid_threads() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}
// Warp-per-row kernels: the warp's index in the grid and the number of warps in the grid.
__device__ __forceinline__ std::int64_t global_warp() {
  return global_thread() / kWarpSize;
}
__device__ __forceinline__ std::int64_t grid_warps() {
  return grid_threads() / kWarpSize;
}
__device__ __forceinline__ int lane_id() {
  return static_cast<int>(threadIdx.x % kWarpSize);
}

// Butterfly reductions over the 32 lanes of a warp (all lanes active). The pairing order
// is fixed, so results are deterministic; the final shuffle from lane 0 gives every lane
// the same bits.
__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  return __shfl_sync(kFullMask, x, 0);
}
__device__ __forceinline__ float warp_max(float x) {  // fmaxf: a NaN operand is ignored
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    x = fmaxf(x, __shfl_xor_sync(kFullMask, x, offset));
  return __shfl_sync(kFullMask, x, 0);
}

}  // namespace dp::kernels::cuda_detail
