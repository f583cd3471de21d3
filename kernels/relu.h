// ReLU over count elements.
//   relu_forward:  y = max(x, 0)                 (in place allowed: y == x)
//   relu_backward: dx = dy * [y > 0]             (uses the forward OUTPUT y, so the
//                  input need not be kept; [y > 0] == [x > 0]); in place allowed: dx == dy
// The derivative at exactly 0 is taken as 0, as the common frameworks do; forward keeps
// NaN (y = NaN), backward passes no gradient through it (dx = 0 where y is NaN).
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace dp::kernels {

void relu_forward(const Context& ctx, const float* x, float* y, std::int64_t count);
void relu_backward(const Context& ctx, const float* y, const float* dy, float* dx, std::int64_t count);

namespace cpu {
void relu_forward(const float* x, float* y, std::int64_t count);
void relu_backward(const float* y, const float* dy, float* dx, std::int64_t count);
}  // namespace cpu

namespace cuda {
void relu_forward(const Context& ctx, const float* x, float* y, std::int64_t count);
void relu_backward(const Context& ctx, const float* y, const float* dy, float* dx, std::int64_t count);
}  // namespace cuda

}  // namespace dp::kernels
