#include "kernels/softmax_xent.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {
namespace {
void check_args(const Context& ctx, const char* op, const float* logits, const std::int32_t* labels,
                const float* losses, std::int64_t rows, std::int64_t classes) {
  DP_CHECK(rows >= 0 && classes >= 1 && classes <= INT32_MAX, op, ": bad shape ", rows, "x", classes);
  DP_CHECK(rows == 0 || (logits && labels && losses), op, ": null pointer");
  // Host labels are checked here; device labels cannot be read from the host, and the
  // CUDA twin gives an out-of-range label's row a NaN loss instead (see the header).
  if (ctx.backend != Backend::cpu) return;
  for (std::int64_t i = 0; i < rows; ++i)
    DP_CHECK(labels[i] >= 0 && labels[i] < classes, op, ": label ", labels[i], " of row ", i, " outside [0, ",
             classes, ")");
}
}  // namespace

double softmax_xent_forward(const Context& ctx, const float* logits, const std::int32_t* labels,
                            float* losses, std::int64_t rows, std::int64_t classes) {
  check_args(ctx, "softmax_xent_forward", logits, labels, losses, rows, classes);
  require_backend_built(ctx, "softmax_xent_forward");
  return DP_DISPATCH(ctx, cpu::softmax_xent_forward(logits, labels, losses, rows, classes),
                     cuda::softmax_xent_forward(ctx, logits, labels, losses, rows, classes));
}

double softmax_xent_forward_backward(const Context& ctx, const float* logits, const std::int32_t* labels,
                                     float grad_scale, float* losses, float* dlogits, std::int64_t rows,
                                     std::int64_t classes) {
  check_args(ctx, "softmax_xent_forward_backward", logits, labels, losses, rows, classes);
  DP_CHECK(rows == 0 || dlogits, "softmax_xent_forward_backward: null dlogits");
  require_backend_built(ctx, "softmax_xent_forward_backward");
  return DP_DISPATCH(
      ctx, cpu::softmax_xent_forward_backward(logits, labels, grad_scale, losses, dlogits, rows, classes),
      cuda::softmax_xent_forward_backward(ctx, logits, labels, grad_scale, losses, dlogits, rows, classes));
}

}  // namespace dp::kernels
