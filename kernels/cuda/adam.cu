// CUDA twin of kernels/cpu/adam.cpp: one fused, grid-stride pass over the flat buffer.
//
// The host folds the bias corrections and the decay mode into float scalars exactly as the
// CPU twin does (in double, then rounded), and the kernel evaluates the CPU twin's
// expression with the same operations in the same order, each rounded on its own
// (__fmul_rn & co. are IEEE round-to-nearest operations that nvcc never contracts into an
// FMA; __fsqrt_rn and __fdiv_rn are IEEE sqrt and division). Against a CPU twin compiled
// without FMA contraction (x86-64 without -mfma) the results are bit-identical.
#include <cmath>
#include <cstdint>

#include "kernels/adam.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"

namespace dp::kernels {
namespace cuda_detail {
namespace {

struct AdamScalars {
  float grad_scale, l2_decay, beta1, one_minus_b1, beta2, one_minus_b2, decoupled_keep, step_size,
      inv_sqrt_bc2, eps;
};

// The CPU twin's loop body for one element.
__device__ __forceinline__ void adam_element(float& p, float grad, float& m, float& v, const AdamScalars& s) {
  const float g = __fadd_rn(__fmul_rn(s.grad_scale, grad), __fmul_rn(s.l2_decay, p));
  const float mi = __fadd_rn(__fmul_rn(s.beta1, m), __fmul_rn(s.one_minus_b1, g));
  const float vi = __fadd_rn(__fmul_rn(s.beta2, v), __fmul_rn(__fmul_rn(s.one_minus_b2, g), g));
  m = mi;
  v = vi;
  const float kept = __fmul_rn(p, s.decoupled_keep);
  const float denom = __fadd_rn(__fmul_rn(__fsqrt_rn(vi), s.inv_sqrt_bc2), s.eps);
  p = __fsub_rn(kept, __fdiv_rn(__fmul_rn(s.step_size, mi), denom));
}

__device__ __forceinline__ void adam_float4(float4& p, const float4& g, float4& m, float4& v,
                                            const AdamScalars& s) {
  adam_element(p.x, g.x, m.x, v.x, s);
  adam_element(p.y, g.y, m.y, v.y, s);
  adam_element(p.z, g.z, m.z, v.z, s);
  adam_element(p.w, g.w, m.w, v.w, s);
}

// kVector: all four pointers are 16-byte aligned; elements [0, 4*(count/4)) move as
// float4, the count % 4 tail elements are done by the first threads of the grid.
template <bool kVector>
__global__ void __launch_bounds__(kThreads)
    adam_kernel(float* params, const float* grads, float* m, float* v, std::int64_t count, AdamScalars s) {
  std::int64_t scalar_begin = 0;
  if constexpr (kVector) {
    const std::int64_t quads = count / 4;
    auto* p4 = reinterpret_cast<float4*>(params);
    const auto* g4 = reinterpret_cast<const float4*>(grads);
    auto* m4 = reinterpret_cast<float4*>(m);
    auto* v4 = reinterpret_cast<float4*>(v);
    for (std::int64_t q = global_thread(); q < quads; q += grid_threads()) {
      float4 pq = p4[q], mq = m4[q], vq = v4[q];
      const float4 gq = g4[q];
      adam_float4(pq, gq, mq, vq, s);
      p4[q] = pq;
      m4[q] = mq;
      v4[q] = vq;
    }
    scalar_begin = quads * 4;
  }
  for (std::int64_t i = scalar_begin + global_thread(); i < count; i += grid_threads()) {
    float p = params[i], mi = m[i], vi = v[i];
    adam_element(p, grads[i], mi, vi, s);
    params[i] = p;
    m[i] = mi;
    v[i] = vi;
  }
}

bool aligned16(const void* ptr) {
  return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0;
}

}  // namespace
}  // namespace cuda_detail

namespace cuda {

void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t count,
               const AdamHyper& h) {
  using namespace cuda_detail;
  if (count == 0) return;
  // Exactly the CPU twin's scalars (kernels/cpu/adam.cpp).
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  AdamScalars s{};
  s.grad_scale = h.grad_scale;
  s.l2_decay = h.decay_mode == WeightDecayMode::l2 ? h.weight_decay : 0.0f;
  s.beta1 = h.beta1;
  s.one_minus_b1 = 1.0f - h.beta1;
  s.beta2 = h.beta2;
  s.one_minus_b2 = 1.0f - h.beta2;
  s.decoupled_keep = h.decay_mode == WeightDecayMode::decoupled ? 1.0f - h.lr * h.weight_decay : 1.0f;
  s.step_size = static_cast<float>(h.lr / bc1);
  s.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  s.eps = h.eps;

  const cudaStream_t stream = stream_of(ctx.stream);
  if (aligned16(params) && aligned16(grads) && aligned16(m) && aligned16(v)) {
    // One thread per float4 (the tail needs at most 3 threads, which the grid always has).
    adam_kernel<true><<<grid_for(ceil_div(count, 4)), kThreads, 0, stream>>>(params, grads, m, v, count, s);
  } else {
    adam_kernel<false><<<grid_for(count), kThreads, 0, stream>>>(params, grads, m, v, count, s);
  }
  KERNEL_CHECK();
}

}  // namespace cuda
}  // namespace dp::kernels
