// gather_rows on the GPU == its CPU twin (an exact copy: bit-identical), for labels and
// wide rows, and an index outside the table gives a NaN row / label -1 (see gather.h);
// BatchLoader's device modes keep each batch's rows when loads follow each other.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/device.h"
#include "kernels/gather.h"
#include "kernels/gemm.h"
#include "src/data/batch_loader.h"
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

// Back-to-back loads with the stream held up by a long GEMM: each batch must hold the rows
// of ITS indices. Staging the indices (resident) or rows (stream) in pinned memory is only
// right if a load waits until the previous copy has read them; without that wait the
// first copy, still queued behind the GEMM, would read the second batch's staging.
TEST_CASE("BatchLoader on the GPU: back-to-back loads keep their own rows", "[gpu][loader]") {
  dp::device::Runtime rt(0, false);
  const auto& ctx = rt.context();
  dp::Dataset ds;
  ds.count = 500;
  ds.features = 7;
  ds.num_classes = 10;
  ds.x.resize(static_cast<std::size_t>(ds.count * ds.features));
  for (std::size_t e = 0; e < ds.x.size(); ++e) ds.x[e] = static_cast<float>(e);
  ds.labels.resize(static_cast<std::size_t>(ds.count));
  for (std::size_t i = 0; i < ds.labels.size(); ++i) ds.labels[i] = static_cast<std::int32_t>(i % 10);
  constexpr std::int64_t kBusy = 2048, kRows = 64;
  dp::Array<float> busy_a(dp::Backend::cuda, kBusy * kBusy), busy_c(dp::Backend::cuda, kBusy * kBusy);
  for (dp::BatchMode mode : {dp::BatchMode::resident, dp::BatchMode::stream}) {
    INFO(dp::batch_mode_name(mode));
    dp::BatchLoader loader(ds, kRows, mode, ctx);
    std::vector<std::int64_t> first(kRows), second(kRows);
    for (std::int64_t i = 0; i < kRows; ++i) {
      first[static_cast<std::size_t>(i)] = (7 * i) % ds.count;
      second[static_cast<std::size_t>(i)] = ds.count - 1 - i;
    }
    dp::Array<float> got_first(dp::Backend::cuda, kRows * ds.features);
    // One load and one GEMM beforehand, waited for: the first launch of a kernel may load
    // its module and synchronise the device (lazy loading), which would hide a missing wait.
    (void)loader.load(second.data(), kRows);
    dp::kernels::gemm(ctx, dp::kernels::Trans::no, dp::kernels::Trans::no, kBusy, kBusy, kBusy, 1.0f,
                      busy_a.data(), kBusy, busy_a.data(), kBusy, 0.0f, busy_c.data(), kBusy);
    dp::device::synchronize(ctx.stream);
    dp::kernels::gemm(ctx, dp::kernels::Trans::no, dp::kernels::Trans::no, kBusy, kBusy, kBusy, 1.0f,
                      busy_a.data(), kBusy, busy_a.data(), kBusy, 0.0f, busy_c.data(), kBusy);
    dp::BatchRef b = loader.load(first.data(), kRows);
    dp::device::copy(got_first.data(), b.x, got_first.nbytes(), ctx.stream);
    b = loader.load(second.data(), kRows);
    const std::vector<float> x_first = got_first.to_host(ctx);
    std::vector<float> x_second(static_cast<std::size_t>(kRows * ds.features));
    dp::device::copy(x_second.data(), b.x, x_second.size() * sizeof(float), ctx.stream);
    dp::device::synchronize(ctx.stream);
    std::int64_t wrong = 0;
    for (std::int64_t i = 0; i < kRows; ++i)
      for (std::int64_t f = 0; f < ds.features; ++f) {
        const auto at = static_cast<std::size_t>(i * ds.features + f);
        wrong += x_first[at] != static_cast<float>(first[static_cast<std::size_t>(i)] * ds.features + f);
        wrong += x_second[at] != static_cast<float>(second[static_cast<std::size_t>(i)] * ds.features + f);
      }
    CHECK(wrong == 0);
  }
}
