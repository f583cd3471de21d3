#include "kernels/accuracy.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {

void argmax(const Context& ctx, const float* logits, std::int32_t* pred, std::int64_t rows,
            std::int64_t classes) {
  DP_CHECK(rows >= 0 && classes >= 1 && classes <= INT32_MAX, "argmax: bad shape ", rows, "x", classes);
  DP_CHECK(rows == 0 || (logits && pred), "argmax: null pointer");
  require_backend_built(ctx, "argmax");
  DP_DISPATCH(ctx, cpu::argmax(logits, pred, rows, classes), cuda::argmax(ctx, logits, pred, rows, classes));
}

std::int64_t count_correct(const Context& ctx, const float* logits, const std::int32_t* labels,
                           std::int64_t rows, std::int64_t classes) {
  DP_CHECK(rows >= 0 && classes >= 1 && classes <= INT32_MAX, "count_correct: bad shape ", rows, "x",
           classes);
  DP_CHECK(rows == 0 || (logits && labels), "count_correct: null pointer");
  require_backend_built(ctx, "count_correct");
  return DP_DISPATCH(ctx, cpu::count_correct(logits, labels, rows, classes),
                     cuda::count_correct(ctx, logits, labels, rows, classes));
}

}  // namespace dp::kernels
