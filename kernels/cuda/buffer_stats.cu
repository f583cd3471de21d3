// CUDA twin of kernels/cpu/buffer_stats.cpp, in one pass: every element is tested for
// finiteness; the finite ones are squared and summed in double (a float's square is exact
// in double and cannot overflow there), the others counted. This is the CPU twin's exact
// ("rare") path, and within double rounding of its fast path's float lanes.
// Deterministic: kernels/cuda/reduce.cuh (fixed blocks, per-block partials in
// ctx.d_scratch, one final block, then ctx.h_scratch after a stream synchronisation).
#include <cstdint>

#include "kernels/buffer_stats.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/reduce.cuh"

namespace dp::kernels {
namespace cuda_detail {
namespace {

struct StatsAcc {
  double sum_squares;
  long long nonfinite;
  static __host__ __device__ StatsAcc identity() { return {0.0, 0}; }
  static __device__ StatsAcc combine(StatsAcc a, StatsAcc b) {
    return {a.sum_squares + b.sum_squares, a.nonfinite + b.nonfinite};
  }
};

__device__ __forceinline__ void add_element(StatsAcc& acc, float x) {
  if (isfinite(x)) {
    const double d = static_cast<double>(x);
    acc.sum_squares += d * d;
  } else {
    ++acc.nonfinite;
  }
}

// Item i is the float4 x[4i, 4i+4) (x 16-byte aligned); the last item stops at count.
struct Float4Load {
  const float* x;
  std::int64_t count;
  __device__ StatsAcc operator()(std::int64_t i) const {
    StatsAcc acc = StatsAcc::identity();
    const std::int64_t first = 4 * i;
    if (first + 4 <= count) {
      const float4 q = reinterpret_cast<const float4*>(x)[i];
      add_element(acc, q.x);
      add_element(acc, q.y);
      add_element(acc, q.z);
      add_element(acc, q.w);
    } else {
      for (std::int64_t e = first; e < count; ++e) add_element(acc, x[e]);
    }
    return acc;
  }
};

// Item i is the element x[i] (x not 16-byte aligned).
struct ScalarLoad {
  const float* x;
  __device__ StatsAcc operator()(std::int64_t i) const {
    StatsAcc acc = StatsAcc::identity();
    add_element(acc, x[i]);
    return acc;
  }
};

}  // namespace
}  // namespace cuda_detail

namespace cuda {

BufferStats buffer_stats(const Context& ctx, const float* x, std::int64_t count) {
  using cuda_detail::StatsAcc;
  BufferStats out;
  if (count == 0) return out;
  StatsAcc acc{};
  if (reinterpret_cast<std::uintptr_t>(x) % 16 == 0)
    acc = cuda_detail::reduce_to_host<StatsAcc>(ctx, cuda_detail::ceil_div(count, 4),
                                                cuda_detail::Float4Load{x, count});
  else
    acc = cuda_detail::reduce_to_host<StatsAcc>(ctx, count, cuda_detail::ScalarLoad{x});
  out.sum_squares = acc.sum_squares;
  out.nonfinite = static_cast<std::int64_t>(acc.nonfinite);
  return out;
}

}  // namespace cuda
}  // namespace dp::kernels
