// CUDA twins of kernels/cpu/softmax_xent.cpp, kernels/cpu/mse.cpp and
// kernels/cpu/accuracy.cpp.
//
// One warp per row (rows grid-stride over the warps of the grid), lanes strided over the
// row's columns, warp shuffles for the row's max / sum / argmax: any row length works
// (1 class or 5000). The per-row float arithmetic is the CPU twin's, except that a row's
// sum is taken as 32 lane sums and a fixed butterfly instead of left to right. The
// returned totals are the per-row losses summed in double on the device
// (kernels/cuda/reduce.cuh: fixed order, deterministic).
#include <math_constants.h>

#include <cstdint>

#include "kernels/accuracy.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/loss_rows.h"
#include "kernels/mse.h"
#include "kernels/softmax_xent.h"

namespace dp::kernels {
namespace cuda_detail {
namespace {

// ---- softmax + cross-entropy ---------------------------------------------------------

// losses[i] = log(sum_j exp(z_j - zmax)) + (zmax - z_y), as the CPU twin; with kBackward
// also dz_j = s * (exp(z_j - zmax) * (1 / sum)) - s * [j == y].
// dz may alias z: z_y, the max and the sum are read before any write, and in the final
// pass each lane reads z_j and then writes dz_j of the same j. A label outside
// [0, classes) makes the row's loss and every dz_j NaN.
template <bool kBackward>
__global__ void __launch_bounds__(kThreads)
    softmax_xent_kernel(const float* logits, const std::int32_t* labels, float grad_scale, float* losses,
                        float* dlogits, std::int64_t rows, std::int64_t classes) {
  const int lane = lane_id();
  for (std::int64_t row = global_warp(); row < rows; row += grid_warps()) {
    const float* z = logits + row * classes;
    const std::int32_t y = labels[row];
    const bool valid = y >= 0 && y < classes;
    const float zy = valid ? z[y] : CUDART_NAN_F;  // NaN makes the loss NaN below

    float zmax = -CUDART_INF_F;
    for (std::int64_t j = lane; j < classes; j += kWarpSize) zmax = fmaxf(zmax, z[j]);
    zmax = warp_max(zmax);
    // (A NaN logit is skipped by fmaxf but makes its exp, hence the sum, NaN: the row's
    // loss and gradients are then NaN, as on the CPU.)

    float sum = 0.0f;
    for (std::int64_t j = lane; j < classes; j += kWarpSize) sum += expf(z[j] - zmax);
    sum = warp_sum(sum);
    // Every lane's reads of z (zy included) happen before any lane writes dz, which may
    // alias z: a shuffle orders the lanes' execution but is not a memory fence.
    __syncwarp();

    if (lane == 0) losses[row] = logf(sum) + (zmax - zy);

    if constexpr (kBackward) {
      float* dz = dlogits + row * classes;
      const float inv_sum = 1.0f / sum;
      for (std::int64_t j = lane; j < classes; j += kWarpSize) {
        // Two roundings as on the CPU: fl(s * fl(e * inv_sum)), then minus s at the label.
        float d = __fmul_rn(grad_scale, __fmul_rn(expf(z[j] - zmax), inv_sum));
        if (j == y) d = __fsub_rn(d, grad_scale);
        dz[j] = valid ? d : CUDART_NAN_F;
      }
    }
  }
}

// ---- squared error ---------------------------------------------------------------------

// losses[i] = sum_j (p_ij - t_ij)^2 in float; with kBackward dp_ij = two_scale * (p_ij - t_ij)
// (the same single rounding as the CPU twin: bit-identical). dpred may alias pred: each
// element is read before the same lane writes it.
template <bool kBackward>
__global__ void __launch_bounds__(kThreads)
    mse_kernel(const float* pred, const float* target, float two_scale, float* losses, float* dpred,
               std::int64_t rows, std::int64_t cols) {
  const int lane = lane_id();
  for (std::int64_t row = global_warp(); row < rows; row += grid_warps()) {
    const std::int64_t base = row * cols;
    float sum = 0.0f;
    for (std::int64_t j = lane; j < cols; j += kWarpSize) {
      const float d = pred[base + j] - target[base + j];
      sum += d * d;
      if constexpr (kBackward) dpred[base + j] = two_scale * d;
    }
    sum = warp_sum(sum);
    if (lane == 0) losses[row] = sum;
  }
}

// ---- argmax ------------------------------------------------------------------------------

// Whether candidate (a, ia) beats (b, ib) under the CPU twin's rule: a NaN never beats a
// number, a larger value wins, equal values (and two NaNs) go to the lower index. This is
// a strict total order on (value, index) pairs, so the winner of a row does not depend on
// the order in which candidates meet: the lane scans and the butterfly below give the
// CPU's left-to-right answer, including 0 for a row of only NaN.
__device__ __forceinline__ bool beats(float a, int ia, float b, int ib) {
  const bool a_nan = a != a, b_nan = b != b;
  if (a_nan != b_nan) return b_nan;
  if (!a_nan && a != b) return a > b;
  return ia < ib;
}

// The argmax of row z (all 32 lanes call it; every lane gets the answer).
__device__ int warp_row_argmax(const float* z, std::int64_t classes) {
  const int lane = lane_id();
  // A lane without columns holds (NaN, INT32_MAX), which loses to every real candidate.
  float best = CUDART_NAN_F;
  int best_j = INT32_MAX;
  for (std::int64_t j = lane; j < classes; j += kWarpSize) {
    const float v = z[j];
    if (beats(v, static_cast<int>(j), best, best_j)) {
      best = v;
      best_j = static_cast<int>(j);
    }
  }
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(kFullMask, best, offset);
    const int other_j = __shfl_xor_sync(kFullMask, best_j, offset);
    if (beats(other, other_j, best, best_j)) {
      best = other;
      best_j = other_j;
    }
  }
  return best_j;
}

__global__ void __launch_bounds__(kThreads)
    argmax_kernel(const float* logits, std::int32_t* pred, std::int64_t rows, std::int64_t classes) {
  for (std::int64_t row = global_warp(); row < rows; row += grid_warps()) {
    const int best = warp_row_argmax(logits + row * classes, classes);
    if (lane_id() == 0) pred[row] = best;
  }
}

// Pass 1 of count_correct (kernels/cuda/reduce.cuh): each block's number of rows whose
// argmax equals the label.
static_assert(kThreads == kReduceThreads, "count_correct_kernel is a reduction pass 1");
__global__ void __launch_bounds__(kReduceThreads)
    count_correct_kernel(const float* logits, const std::int32_t* labels, std::int64_t rows,
                         std::int64_t classes, CountI64* partials) {
  long long correct = 0;
  for (std::int64_t row = global_warp(); row < rows; row += grid_warps()) {
    const int best = warp_row_argmax(logits + row * classes, classes);
    if (lane_id() == 0 && best == labels[row]) ++correct;
  }
  const CountI64 total = block_reduce(CountI64{correct});
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Loader for the loss totals: the per-row float losses, widened to double.
struct LossLoad {
  const float* losses;
  __device__ SumF64 operator()(std::int64_t i) const { return {static_cast<double>(losses[i])}; }
};

double sum_losses_to_host(const Context& ctx, const float* losses, std::int64_t rows) {
  return reduce_to_host<SumF64>(ctx, rows, LossLoad{losses}).value;
}

// total: also sum the losses on the host (synchronises the stream); else return 0.
template <bool kBackward>
double softmax_xent(const Context& ctx, const float* logits, const std::int32_t* labels, float grad_scale,
                    float* losses, float* dlogits, std::int64_t rows, std::int64_t classes,
                    bool total = true) {
  if (rows == 0) return 0.0;
  softmax_xent_kernel<kBackward><<<grid_for(rows, kWarpsPerBlock), kThreads, 0, stream_of(ctx.stream)>>>(
      logits, labels, grad_scale, losses, dlogits, rows, classes);
  KERNEL_CHECK();
  return total ? sum_losses_to_host(ctx, losses, rows) : 0.0;
}

template <bool kBackward>
double mse(const Context& ctx, const float* pred, const float* target, float grad_scale, float* losses,
           float* dpred, std::int64_t rows, std::int64_t cols, bool total = true) {
  if (rows == 0) return 0.0;
  const float two_scale = 2.0f * grad_scale;  // as the CPU twin
  mse_kernel<kBackward><<<grid_for(rows, kWarpsPerBlock), kThreads, 0, stream_of(ctx.stream)>>>(
      pred, target, two_scale, losses, dpred, rows, cols);
  KERNEL_CHECK();
  return total ? sum_losses_to_host(ctx, losses, rows) : 0.0;
}

}  // namespace
}  // namespace cuda_detail

namespace cuda {

using cuda_detail::grid_for;
using cuda_detail::kThreads;
using cuda_detail::kWarpsPerBlock;
using cuda_detail::stream_of;

double softmax_xent_forward(const Context& ctx, const float* logits, const std::int32_t* labels,
                            float* losses, std::int64_t rows, std::int64_t classes) {
  return cuda_detail::softmax_xent<false>(ctx, logits, labels, 0.0f, losses, nullptr, rows, classes);
}

double softmax_xent_forward_backward(const Context& ctx, const float* logits, const std::int32_t* labels,
                                     float grad_scale, float* losses, float* dlogits, std::int64_t rows,
                                     std::int64_t classes) {
  return cuda_detail::softmax_xent<true>(ctx, logits, labels, grad_scale, losses, dlogits, rows, classes);
}

void softmax_xent_rows(const Context& ctx, const float* logits, const std::int32_t* labels, float grad_scale,
                       float* losses, float* dlogits, std::int64_t rows, std::int64_t classes) {
  cuda_detail::softmax_xent<true>(ctx, logits, labels, grad_scale, losses, dlogits, rows, classes, false);
}

void mse_rows(const Context& ctx, const float* pred, const float* target, float grad_scale, float* losses,
              float* dpred, std::int64_t rows, std::int64_t cols) {
  cuda_detail::mse<true>(ctx, pred, target, grad_scale, losses, dpred, rows, cols, false);
}

void accumulate_sum(const Context& ctx, const float* x, std::int64_t count, double scale, float* out,
                    bool accumulate) {
  cuda_detail::reduce_to_device<cuda_detail::SumF64>(ctx, count, cuda_detail::LossLoad{x}, scale, out,
                                                     accumulate);
}

double mse_forward(const Context& ctx, const float* pred, const float* target, float* losses,
                   std::int64_t rows, std::int64_t cols) {
  return cuda_detail::mse<false>(ctx, pred, target, 0.0f, losses, nullptr, rows, cols);
}

double mse_forward_backward(const Context& ctx, const float* pred, const float* target, float grad_scale,
                            float* losses, float* dpred, std::int64_t rows, std::int64_t cols) {
  return cuda_detail::mse<true>(ctx, pred, target, grad_scale, losses, dpred, rows, cols);
}

void argmax(const Context& ctx, const float* logits, std::int32_t* pred, std::int64_t rows,
            std::int64_t classes) {
  if (rows == 0) return;
  cuda_detail::argmax_kernel<<<grid_for(rows, kWarpsPerBlock), kThreads, 0, stream_of(ctx.stream)>>>(
      logits, pred, rows, classes);
  KERNEL_CHECK();
}

std::int64_t count_correct(const Context& ctx, const float* logits, const std::int32_t* labels,
                           std::int64_t rows, std::int64_t classes) {
  using cuda_detail::CountI64;
  if (rows == 0) return 0;
  const int blocks = cuda_detail::reduce_blocks(rows, cuda_detail::kReduceThreads / cuda_detail::kWarpSize);
  cuda_detail::count_correct_kernel<<<static_cast<unsigned>(blocks), cuda_detail::kReduceThreads, 0,
                                      stream_of(ctx.stream)>>>(logits, labels, rows, classes,
                                                               cuda_detail::reduce_partials<CountI64>(ctx));
  KERNEL_CHECK();
  return static_cast<std::int64_t>(cuda_detail::finish_reduce_to_host<CountI64>(ctx, blocks).value);
}

}  // namespace cuda
}  // namespace dp::kernels
