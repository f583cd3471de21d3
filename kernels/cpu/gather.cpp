#include "kernels/gather.h"

#include <cstring>

namespace dp::kernels::cpu {
namespace {
template <typename T>
void gather(const T* src, std::int64_t width, const std::int64_t* index, std::int64_t rows, T* dst) {
  const auto row_nbytes = static_cast<std::size_t>(width) * sizeof(T);
  for (std::int64_t i = 0; i < rows; ++i) std::memcpy(dst + i * width, src + index[i] * width, row_nbytes);
}
}  // namespace

void gather_rows(const float* src, std::int64_t width, const std::int64_t* index, std::int64_t rows,
                 float* dst) {
  gather(src, width, index, rows, dst);
}
void gather_rows(const std::int32_t* src, std::int64_t width, const std::int64_t* index, std::int64_t rows,
                 std::int32_t* dst) {
  gather(src, width, index, rows, dst);
}

}  // namespace dp::kernels::cpu
