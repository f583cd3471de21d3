#include "kernels/bias.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

void bias_add(const Context& ctx, float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
  DP_CHECK(rows >= 0 && cols >= 0, "bias_add: negative shape ", rows, "x", cols);
  DP_CHECK(rows * cols == 0 || (y && bias), "bias_add: null pointer");
  require_backend_built(ctx, "bias_add");
  DP_DISPATCH(ctx, cpu::bias_add(y, bias, rows, cols), cuda::bias_add(ctx, y, bias, rows, cols));
}

void bias_backward(const Context& ctx, const float* dy, float* dbias, std::int64_t rows, std::int64_t cols,
                   bool accumulate) {
  DP_CHECK(rows >= 0 && cols >= 0, "bias_backward: negative shape ", rows, "x", cols);
  DP_CHECK(cols == 0 || (dbias && (rows == 0 || dy)), "bias_backward: null pointer");
  require_backend_built(ctx, "bias_backward");
  DP_DISPATCH(ctx, cpu::bias_backward(dy, dbias, rows, cols, accumulate),
              cuda::bias_backward(ctx, dy, dbias, rows, cols, accumulate));
}

}  // namespace dp::kernels
