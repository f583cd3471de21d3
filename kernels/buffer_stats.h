// Statistics of a flat buffer in one pass: the sum of squares (for the gradient norm,
// accumulated in double) and the number of non-finite elements (NaN or +-Inf).
// The trainer runs it on the all-reduced gradient buffer, which is identical on every
// rank, so every rank reaches the same decision about a non-finite step without
// another collective.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

struct BufferStats {
  double sum_squares = 0.0;  // over the finite elements only
  std::int64_t nonfinite = 0;
};

// On a GPU the result comes back to the host: when count > 0 the call synchronises
// ctx.stream, so everything queued on it before has completed on return.
BufferStats buffer_stats(const Context& ctx, const float* x, std::int64_t count);

namespace cpu {
BufferStats buffer_stats(const float* x, std::int64_t count);
}

namespace cuda {
BufferStats buffer_stats(const Context& ctx, const float* x, std::int64_t count);
}

}  // namespace dp::kernels
