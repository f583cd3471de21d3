#include "kernels/backend.h"

#include "kernels/device.h"
#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::cpu:
      return "cpu";
    case Backend::cuda:
      return "cuda";
  }
  return "?";
}

bool backend_available(Backend b) {
  if (b == Backend::cpu) return true;
  static const bool has_device = device::count() > 0;  // compiled in and a device present
  return has_device;
}

namespace kernels {

void require_backend_built(const Context& ctx, const char* op) {
  DP_CHECK(backend_available(ctx.backend), "kernel ", op, ": backend '", backend_name(ctx.backend),
           "' is not available in this build");
}

}  // namespace kernels
}  // namespace dp
