// gather_rows on the GPU == its CPU twin (an exact copy: bit-identical), for labels and
// wide rows, and an index outside the table gives a NaN row / label -1 (see gather.h).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/device.h"
#include "kernels/gather.h"
#include "src/tensor/buffer.h"
#include "src/util/rng.h"

TEST_CASE("gather_rows on the GPU copies exactly what the CPU twin copies", "[gpu][gather]") {
  dp::device::Runtime rt(0, false);
  const auto& ctx = rt.context();
  const dp::kernels::Context cpu;
  dp::Rng rng(5);
  for (std::int64_t width : {1, 33, 784}) {
    INFO("width " << width);
    const std::int64_t src_rows = 1000, rows = 257;
    std::vector<float> src(static_cast<std::size_t>(src_rows * width));
    for (auto& v : src) v = static_cast<float>(rng.normal());
    std::vector<std::int64_t> index(static_cast<std::size_t>(rows));
    for (auto& i : index)
      i = static_cast<std::int64_t>(rng.uniform_index(static_cast<std::uint64_t>(src_rows)));
    std::vector<float> want(static_cast<std::size_t>(rows * width));
    dp::kernels::gather_rows(cpu, src.data(), src_rows, width, index.data(), rows, want.data());

    dp::Array<float> d_src(dp::Backend::cuda, src_rows * width), d_dst(dp::Backend::cuda, rows * width);
    dp::Array<std::int64_t> d_index(dp::Backend::cuda, rows);
    d_src.upload(src, ctx);
    d_index.upload(index, ctx);
    dp::kernels::gather_rows(ctx, d_src.data(), src_rows, width, d_index.data(), rows, d_dst.data());
    CHECK(d_dst.to_host(ctx) == want);
  }
}

TEST_CASE("gather_rows on the GPU marks an index outside the table", "[gpu][gather]") {
  dp::device::Runtime rt(0, false);
  const auto& ctx = rt.context();
  dp::Array<float> d_src(dp::Backend::cuda, 6);
  d_src.upload(std::vector<float>{1, 2, 3, 4, 5, 6}, ctx);
  dp::Array<std::int32_t> d_labels(dp::Backend::cuda, 3);
  d_labels.upload(std::vector<std::int32_t>{4, 5, 6}, ctx);
  dp::Array<std::int64_t> d_index(dp::Backend::cuda, 2);
  d_index.upload(std::vector<std::int64_t>{2, 3}, ctx);  // row 3 does not exist
  dp::Array<float> d_dst(dp::Backend::cuda, 4);
  dp::kernels::gather_rows(ctx, d_src.data(), 3, 2, d_index.data(), 2, d_dst.data());
  const auto got = d_dst.to_host(ctx);
  CHECK(got[0] == 5.0f);
  CHECK(got[1] == 6.0f);
  CHECK(std::isnan(got[2]));
  CHECK(std::isnan(got[3]));
  dp::Array<std::int32_t> d_got(dp::Backend::cuda, 2);
  dp::kernels::gather_rows(ctx, d_labels.data(), 3, 1, d_index.data(), 2, d_got.data());
  CHECK(d_got.to_host(ctx) == std::vector<std::int32_t>{6, -1});
}
