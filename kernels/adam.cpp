#include "kernels/adam.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

void adam_step(const Context& ctx, float* params, const float* grads, float* m, float* v, std::int64_t count,
               const AdamHyper& hyper) {
  DP_CHECK(count >= 0, "adam_step: negative count ", count);
  DP_CHECK(count == 0 || (params && grads && m && v), "adam_step: null pointer");
  DP_CHECK(hyper.step >= 1, "adam_step: step must be >= 1 (bias correction), got ", hyper.step);
  DP_CHECK(hyper.beta1 >= 0.0f && hyper.beta1 < 1.0f && hyper.beta2 >= 0.0f && hyper.beta2 < 1.0f,
           "adam_step: betas must lie in [0, 1)");
  DP_CHECK(hyper.eps > 0.0f, "adam_step: eps must be > 0");
  require_backend_built(ctx, "adam_step");
  DP_DISPATCH(ctx, cpu::adam_step(params, grads, m, v, count, hyper),
              cuda::adam_step(ctx, params, grads, m, v, count, hyper));
}

}  // namespace dp::kernels
