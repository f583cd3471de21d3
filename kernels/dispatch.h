// Internal to kernels/: helpers the op entries share.
#pragma once

#include "kernels/backend.h"

namespace dp::kernels {

// Aborts with a clear message when ctx.backend is not compiled in / has no device.
void require_backend_built(const Context& ctx, const char* op);

}  // namespace dp::kernels

// DP_DISPATCH(ctx, cpu_call, cuda_call): the twin for ctx.backend. In a build without
// the CUDA backend the CUDA twins do not exist, so the expression is only the CPU call
// (require_backend_built has already refused a CUDA context).
#if defined(DPTRAIN_HAVE_CUDA)
#define DP_DISPATCH(ctx, cpu_call, cuda_call) \
  ((ctx).backend == ::dp::Backend::cuda ? (cuda_call) : (cpu_call))
#else
#define DP_DISPATCH(ctx, cpu_call, cuda_call) (cpu_call)
#endif
