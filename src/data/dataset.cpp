#include "src/data/dataset.h"

#include <sys/mman.h>

#include <cstdint>

namespace dp {

void Dataset::resize_features(std::int64_t rows, std::int64_t width) {
  const auto n = static_cast<std::size_t>(rows * width);
  x.clear();
  x.shrink_to_fit();
  x.reserve(n);  // allocated, not yet touched
  // madvise needs page-aligned bounds: advise the 2 MiB-aligned interior of the buffer.
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(x.data());
  const std::uintptr_t end = begin + n * sizeof(float);
  const std::uintptr_t first = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = end & ~(huge - 1);
  // A hint only: kernels without transparent huge pages refuse it, which changes nothing.
  if (last > first) (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  x.resize(n);
}

}  // namespace dp
