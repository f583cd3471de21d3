// Internal to kernels/: helpers the op entries share.
#pragma once

#include "kernels/backend.h"

namespace dp::kernels {

// Aborts with a clear message when ctx.backend is not compiled in / has no device.
void require_backend_built(const Context& ctx, const char* op);

}  // namespace dp::kernels
