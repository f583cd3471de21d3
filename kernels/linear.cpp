#include "kernels/linear.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

void linear_forward(const Context& ctx, const float* x, const float* w, const float* b, float* y,
                    std::int64_t rows, std::int64_t in, std::int64_t out, bool relu) {
  DP_CHECK(rows >= 0 && in >= 1 && out >= 1, "linear_forward: bad shape rows=", rows, " in=", in,
           " out=", out);
  DP_CHECK(rows == 0 || (x && w && b && y), "linear_forward: null pointer");
  DP_CHECK(rows == 0 || (y != x && y != w && y != b), "linear_forward: y aliases an input");
  require_backend_built(ctx, "linear_forward");
  DP_DISPATCH(ctx, cpu::linear_forward(x, w, b, y, rows, in, out, relu),
              cuda::linear_forward(ctx, x, w, b, y, rows, in, out, relu));
}

}  // namespace dp::kernels
