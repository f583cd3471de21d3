// Internal to kernels/cuda: deterministic reductions whose result ends on the host (loss
// sums, correct counts, buffer statistics).
//
//   pass 1  a fixed number of blocks (a function of n only) each reduce their grid-stride
//           share into one partial, written to ctx.d_scratch;
//   pass 2  one block reduces the partials in index order;
//   then    the result is copied to ctx.h_scratch (pinned) on ctx.stream, the stream is
//           synchronised, and the value is returned.
// Every combination happens in an order fixed by n alone (per-thread grid-stride order,
// then a fixed shared-memory tree), never by timing: the same input gives the same bits
// on every run. No atomics.
//
// An accumulator type Acc is a trivially copyable struct with
//   static __host__ __device__ Acc identity();
//   static __device__ Acc combine(Acc a, Acc b);
// A pass-1 loader is a trivially copyable functor with `__device__ Acc operator()(int64 i)`
// for i in [0, n).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"

namespace dp::kernels::cuda_detail {

constexpr int kReduceThreads = 256;     // blockDim.x of every reduction kernel
constexpr int kReduceMaxBlocks = 1024;  // partials per reduction (pass 2 reads them all)

struct SumF64 {
  double value;
  static __host__ __device__ SumF64 identity() { return {0.0}; }
  static __device__ SumF64 combine(SumF64 a, SumF64 b) { return {a.value + b.value}; }
};

struct CountI64 {
  long long value;
  static __host__ __device__ CountI64 identity() { return {0}; }
  static __device__ CountI64 combine(CountI64 a, CountI64 b) { return {a.value + b.value}; }
};

// Reduces one value per thread of a block of kReduceThreads threads (all of them must
// call it); returns the block's total to every thread. Fixed pairing: a shared-memory tree.
template <typename Acc>
__device__ Acc block_reduce(Acc v) {
  __shared__ Acc buf[kReduceThreads];
  const unsigned t = threadIdx.x;
  buf[t] = v;
  __syncthreads();
  for (unsigned width = kReduceThreads / 2; width > 0; width /= 2) {
    if (t < width) buf[t] = Acc::combine(buf[t], buf[t + width]);
    __syncthreads();
  }
  const Acc total = buf[0];
  __syncthreads();  // buf may be reused by a later call
  return total;
}

template <typename Acc, typename Load>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_partials_kernel(Load load, std::int64_t n, Acc* partials) {
  Acc acc = Acc::identity();
  for (std::int64_t i = global_thread(); i < n; i += grid_threads()) acc = Acc::combine(acc, load(i));
  acc = block_reduce(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

template <typename Acc>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_final_kernel(const Acc* partials, int count, Acc* out) {
  Acc acc = Acc::identity();
  for (int i = static_cast<int>(threadIdx.x); i < count; i += kReduceThreads)
    acc = Acc::combine(acc, partials[i]);
  acc = block_reduce(acc);
  if (threadIdx.x == 0) *out = acc;
}

// Scratch layout: [0] the result, [1, 1 + kReduceMaxBlocks) the partials.
template <typename Acc>
Acc* reduce_partials(const Context& ctx) {
  static_assert(std::is_trivially_copyable_v<Acc>, "accumulators are copied as bytes");
  static_assert((1 + kReduceMaxBlocks) * sizeof(Acc) <= Context::kScratchNbytes,
                "the partials must fit the device scratch");
  return static_cast<Acc*>(ctx.d_scratch) + 1;
}

// Pass-1 blocks for `work` items at items_per_block per block: at least 1, at most
// kReduceMaxBlocks. A function of the work alone, so the summation order is too.
inline int reduce_blocks(std::int64_t work, std::int64_t items_per_block = kReduceThreads) {
  const std::int64_t blocks = ceil_div(work, items_per_block);
  return static_cast<int>(blocks < 1 ? 1 : (blocks > kReduceMaxBlocks ? kReduceMaxBlocks : blocks));
}

// Pass 2 and the trip to the host, after a pass 1 that wrote `blocks` partials into
// reduce_partials<Acc>(ctx) on ctx.stream. Synchronises ctx.stream.
template <typename Acc>
Acc finish_reduce_to_host(const Context& ctx, int blocks) {
  const cudaStream_t stream = stream_of(ctx.stream);
  Acc* d_result = static_cast<Acc*>(ctx.d_scratch);
  reduce_final_kernel<Acc><<<1, kReduceThreads, 0, stream>>>(reduce_partials<Acc>(ctx), blocks, d_result);
  KERNEL_CHECK();
  CUDA_CHECK(cudaMemcpyAsync(ctx.h_scratch, d_result, sizeof(Acc), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  Acc result;
  std::memcpy(&result, ctx.h_scratch, sizeof(Acc));
  return result;
}

// out[0] = (accumulate ? out[0] : 0) + float(scale * total), total the double sum of the
// partials in index order; the CPU twin's float arithmetic (kernels/cpu/loss_rows.cpp).
template <typename Acc>
__global__ void __launch_bounds__(kReduceThreads)
    accumulate_final_kernel(const Acc* partials, int count, double scale, float* out, bool accumulate) {
  Acc acc = Acc::identity();
  for (int i = static_cast<int>(threadIdx.x); i < count; i += kReduceThreads)
    acc = Acc::combine(acc, partials[i]);
  acc = block_reduce(acc);
  if (threadIdx.x == 0) {
    const float add = static_cast<float>(scale * acc.value);
    *out = accumulate ? *out + add : add;
  }
}

// Like reduce_to_host, but the (scaled) total stays on the device, added to or written
// into out[0] on ctx.stream: no synchronisation. n == 0 adds 0 (or writes 0).
template <typename Acc, typename Load>
void reduce_to_device(const Context& ctx, std::int64_t n, const Load& load, double scale, float* out,
                      bool accumulate) {
  static_assert(std::is_same_v<Acc, SumF64>, "device totals are float sums");
  static_assert(std::is_trivially_copyable_v<Load>, "loaders are kernel arguments");
  const int blocks = reduce_blocks(n < 1 ? 1 : n);
  reduce_partials_kernel<Acc, Load>
      <<<static_cast<unsigned>(blocks), kReduceThreads, 0, stream_of(ctx.stream)>>>(
          load, n, reduce_partials<Acc>(ctx));
  KERNEL_CHECK();
  accumulate_final_kernel<Acc><<<1, kReduceThreads, 0, stream_of(ctx.stream)>>>(
      reduce_partials<Acc>(ctx), blocks, scale, out, accumulate);
  KERNEL_CHECK();
}

// The combination of load(i) over i in [0, n), on the host. Synchronises ctx.stream
// (n == 0 returns the identity without touching the device).
template <typename Acc, typename Load>
Acc reduce_to_host(const Context& ctx, std::int64_t n, const Load& load) {
  static_assert(std::is_trivially_copyable_v<Load>, "loaders are kernel arguments");
  if (n <= 0) return Acc::identity();
  const int blocks = reduce_blocks(n);
  reduce_partials_kernel<Acc, Load>
      <<<static_cast<unsigned>(blocks), kReduceThreads, 0, stream_of(ctx.stream)>>>(
          load, n, reduce_partials<Acc>(ctx));
  KERNEL_CHECK();
  return finish_reduce_to_host<Acc>(ctx, blocks);
}

}  // namespace dp::kernels::cuda_detail
