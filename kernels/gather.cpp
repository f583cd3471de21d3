#include "kernels/gather.h"

#include "kernels/dispatch.h"
#include "src/util/check.h"

namespace dp::kernels {
namespace {
template <typename T>
void check_args(const Context& ctx, const T* src, std::int64_t src_rows, std::int64_t width,
                const std::int64_t* index, std::int64_t rows, const T* dst) {
  DP_CHECK(src_rows >= 0 && width >= 1 && rows >= 0, "gather_rows: bad shape src ", src_rows, "x", width,
           ", rows ", rows);
  DP_CHECK(rows == 0 || (src && index && dst), "gather_rows: null pointer");
  require_backend_built(ctx, "gather_rows");
  if (ctx.backend != Backend::cpu) return;  // device indices: see the header
  for (std::int64_t i = 0; i < rows; ++i)
    DP_CHECK(index[i] >= 0 && index[i] < src_rows, "gather_rows: index ", index[i], " of row ", i,
             " outside [0, ", src_rows, ")");
}
}  // namespace

void gather_rows(const Context& ctx, const float* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, float* dst) {
  check_args(ctx, src, src_rows, width, index, rows, dst);
  DP_DISPATCH(ctx, cpu::gather_rows(src, width, index, rows, dst),
              cuda::gather_rows(ctx, src, src_rows, width, index, rows, dst));
}

void gather_rows(const Context& ctx, const std::int32_t* src, std::int64_t src_rows, std::int64_t width,
                 const std::int64_t* index, std::int64_t rows, std::int32_t* dst) {
  check_args(ctx, src, src_rows, width, index, rows, dst);
  DP_DISPATCH(ctx, cpu::gather_rows(src, width, index, rows, dst),
              cuda::gather_rows(ctx, src, src_rows, width, index, rows, dst));
}

}  // namespace dp::kernels
