#include "kernels/buffer_stats.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

BufferStats buffer_stats(const Context& ctx, const float* x, std::int64_t count) {
  DP_CHECK(count >= 0, "buffer_stats: negative count ", count);
  DP_CHECK(count == 0 || x, "buffer_stats: null pointer");
  require_backend_built(ctx, "buffer_stats");
  return DP_DISPATCH(ctx, cpu::buffer_stats(x, count), cuda::buffer_stats(ctx, x, count));
}

}  // namespace dp::kernels
