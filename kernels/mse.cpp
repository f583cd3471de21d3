#include "kernels/mse.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

double mse_forward(const Context& ctx, const float* pred, const float* target, float* losses,
                   std::int64_t rows, std::int64_t cols) {
  DP_CHECK(rows >= 0 && cols >= 1, "mse_forward: bad shape ", rows, "x", cols);
  DP_CHECK(rows == 0 || (pred && target && losses), "mse_forward: null pointer");
  require_backend_built(ctx, "mse_forward");
  return DP_DISPATCH(ctx, cpu::mse_forward(pred, target, losses, rows, cols),
                     cuda::mse_forward(ctx, pred, target, losses, rows, cols));
}

double mse_forward_backward(const Context& ctx, const float* pred, const float* target, float grad_scale,
                            float* losses, float* dpred, std::int64_t rows, std::int64_t cols) {
  DP_CHECK(rows >= 0 && cols >= 1, "mse_forward_backward: bad shape ", rows, "x", cols);
  DP_CHECK(rows == 0 || (pred && target && losses && dpred), "mse_forward_backward: null pointer");
  require_backend_built(ctx, "mse_forward_backward");
  return DP_DISPATCH(ctx, cpu::mse_forward_backward(pred, target, grad_scale, losses, dpred, rows, cols),
                     cuda::mse_forward_backward(ctx, pred, target, grad_scale, losses, dpred, rows, cols));
}

}  // namespace dp::kernels
