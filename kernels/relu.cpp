#include "kernels/relu.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

void relu_forward(const Context& ctx, const float* x, float* y, std::int64_t count) {
  DP_CHECK(count >= 0, "relu_forward: negative count ", count);
  DP_CHECK(count == 0 || (x && y), "relu_forward: null pointer");
  require_backend_built(ctx, "relu_forward");
  DP_DISPATCH(ctx, cpu::relu_forward(x, y, count), cuda::relu_forward(ctx, x, y, count));
}

void relu_backward(const Context& ctx, const float* y, const float* dy, float* dx, std::int64_t count) {
  DP_CHECK(count >= 0, "relu_backward: negative count ", count);
  DP_CHECK(count == 0 || (y && dy && dx), "relu_backward: null pointer");
  require_backend_built(ctx, "relu_backward");
  DP_DISPATCH(ctx, cpu::relu_backward(y, dy, dx, count), cuda::relu_backward(ctx, y, dy, dx, count));
}

}  // namespace dp::kernels
