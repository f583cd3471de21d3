#include "kernels/linear.h"

#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "kernels/relu.h"

namespace dp::kernels::cpu {

void linear_forward(const float* x, const float* w, const float* b, float* y, std::int64_t rows,
                    std::int64_t in, std::int64_t out, bool relu) {
  if (rows == 0) return;
  gemm(Trans::no, Trans::yes, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out);  // y = x · W^T
  bias_add(y, b, rows, out);
  if (relu) relu_forward(y, y, rows * out);
}

}  // namespace dp::kernels::cpu
