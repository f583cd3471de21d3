// gather_rows on the CPU: rows in any order, repeated rows, width 1 (labels) and wide
// rows; the entry refuses an index outside the table.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "kernels/gather.h"
#include "tests/kernels/test_util.h"

namespace {
const dp::kernels::Context kCtx;
}

TEST_CASE("gather_rows: dst[i] = src[index[i]] for floats and labels", "[gather]") {
  const std::int64_t src_rows = 9, width = 5;
  std::vector<float> src(static_cast<std::size_t>(src_rows * width));
  for (std::size_t e = 0; e < src.size(); ++e) src[e] = static_cast<float>(e) + 0.5f;
  const std::vector<std::int64_t> index = {8, 0, 3, 3, 7};  // out of order, a repeat, both ends
  std::vector<float> dst(index.size() * width, -1.0f);
  dp::kernels::gather_rows(kCtx, src.data(), src_rows, width, index.data(), 5, dst.data());
  for (std::size_t i = 0; i < index.size(); ++i)
    for (std::int64_t j = 0; j < width; ++j)
      CHECK(dst[i * width + static_cast<std::size_t>(j)] ==
            src[static_cast<std::size_t>(index[i] * width + j)]);

  const std::vector<std::int32_t> labels = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<std::int32_t> got(index.size(), -7);
  dp::kernels::gather_rows(kCtx, labels.data(), src_rows, 1, index.data(), 5, got.data());
  CHECK(got == std::vector<std::int32_t>{8, 0, 3, 3, 7});
}

TEST_CASE("gather_rows refuses an index outside the table", "[gather]") {
  const std::vector<float> src(6, 1.0f);
  std::vector<float> dst(2);
  const std::vector<std::int64_t> bad = {0, 3};  // table has rows 0..2
  dp::test::CheckThrows guard;
  CHECK_THROWS_AS(dp::kernels::gather_rows(kCtx, src.data(), 3, 2, bad.data(), 2, dst.data()),
                  dp::test::CheckFailure);
  const std::vector<std::int64_t> negative = {-1};
  CHECK_THROWS_AS(dp::kernels::gather_rows(kCtx, src.data(), 3, 2, negative.data(), 1, dst.data()),
                  dp::test::CheckFailure);
}
