// Exit 0 and one line per CUDA device when one is usable, else "SKIP: ..." and exit 77
// (ctest's skip code): the guard of the GPU test scripts.
#include <cstdio>

#include "kernels/device.h"

int main() {
  const int n = dp::device::count();
  if (n == 0) {
    std::printf("SKIP: %s\n", dp::device::unavailable_reason().c_str());
    return 77;
  }
  for (int d = 0; d < n; ++d) std::printf("GPU %d: %s\n", d, dp::device::describe(d).c_str());
  return 0;
}
