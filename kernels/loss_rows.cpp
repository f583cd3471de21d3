#include "kernels/loss_rows.h"

#include "kernels/dispatch.h"
#include "kernels/mse.h"
#include "kernels/softmax_xent.h"
#include "src/util/check.h"

namespace dp::kernels {

void softmax_xent_rows(const Context& ctx, const float* logits, const std::int32_t* labels, float grad_scale,
                       float* losses, float* dlogits, std::int64_t rows, std::int64_t classes) {
  DP_CHECK(rows >= 0 && classes >= 1 && classes <= INT32_MAX, "softmax_xent_rows: bad shape ", rows, "x",
           classes);
  DP_CHECK(rows == 0 || (logits && labels && losses && dlogits), "softmax_xent_rows: null pointer");
  require_backend_built(ctx, "softmax_xent_rows");
  DP_DISPATCH(
      ctx,
      (void)cpu::softmax_xent_forward_backward(logits, labels, grad_scale, losses, dlogits, rows, classes),
      cuda::softmax_xent_rows(ctx, logits, labels, grad_scale, losses, dlogits, rows, classes));
}

void mse_rows(const Context& ctx, const float* pred, const float* target, float grad_scale, float* losses,
              float* dpred, std::int64_t rows, std::int64_t cols) {
  DP_CHECK(rows >= 0 && cols >= 1, "mse_rows: bad shape ", rows, "x", cols);
  DP_CHECK(rows == 0 || (pred && target && losses && dpred), "mse_rows: null pointer");
  require_backend_built(ctx, "mse_rows");
  DP_DISPATCH(ctx, (void)cpu::mse_forward_backward(pred, target, grad_scale, losses, dpred, rows, cols),
              cuda::mse_rows(ctx, pred, target, grad_scale, losses, dpred, rows, cols));
}

void accumulate_sum(const Context& ctx, const float* x, std::int64_t count, double scale, float* out,
                    bool accumulate) {
  DP_CHECK(count >= 0, "accumulate_sum: negative count ", count);
  DP_CHECK(out && (count == 0 || x), "accumulate_sum: null pointer");
  require_backend_built(ctx, "accumulate_sum");
  DP_DISPATCH(ctx, cpu::accumulate_sum(x, count, scale, out, accumulate),
              cuda::accumulate_sum(ctx, x, count, scale, out, accumulate));
}

}  // namespace dp::kernels
