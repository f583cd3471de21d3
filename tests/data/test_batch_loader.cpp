// Array<T> and BatchLoader on the CPU backend (their CUDA paths are GPU tests): bounds are
// checked, data round-trips exactly, and the loader hands the model exactly the rows the
// sampler asked for, for classification and regression data.
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "src/data/batch_loader.h"
#include "src/tensor/buffer.h"
#include "tests/kernels/test_util.h"

namespace {

dp::Dataset table(bool classify) {
  dp::Dataset ds;
  ds.count = 6;
  ds.features = 3;
  ds.x.resize(18);
  for (std::size_t e = 0; e < ds.x.size(); ++e) ds.x[e] = static_cast<float>(e);
  if (classify) {
    ds.num_classes = 4;
    ds.labels = {0, 1, 2, 3, 0, 1};
  } else {
    ds.target_dim = 2;
    ds.y.resize(12);
    for (std::size_t e = 0; e < ds.y.size(); ++e) ds.y[e] = 100.0f + static_cast<float>(e);
  }
  return ds;
}

}  // namespace

TEST_CASE("Array on the CPU: zero-filled, exact round trips, bounds checked", "[array]") {
  const dp::kernels::Context ctx;
  dp::Array<float> a(dp::Backend::cpu, 5);
  CHECK(a.to_host(ctx) == std::vector<float>(5, 0.0f));
  const std::vector<float> v = {1.5f, -2.0f, 3.25f};
  a.upload(v.data(), 3, ctx, 2);
  CHECK(a.to_host(ctx) == std::vector<float>{0.0f, 0.0f, 1.5f, -2.0f, 3.25f});
  float out[2] = {};
  a.download(out, 2, ctx, 3);
  CHECK(out[0] == -2.0f);
  CHECK(out[1] == 3.25f);
  dp::Array<float> moved = std::move(a);
  CHECK(moved.count() == 5);
  CHECK(moved.data()[4] == 3.25f);
  CHECK(a.count() == 0);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  dp::test::CheckThrows guard;
  CHECK_THROWS_AS(moved.upload(v.data(), 3, ctx, 3), dp::test::CheckFailure);  // [3, 6) > 5
  CHECK_THROWS_AS(moved.download(out, 2, ctx, -1), dp::test::CheckFailure);
}

TEST_CASE("BatchLoader on the CPU hands over exactly the sampled rows", "[loader]") {
  const dp::kernels::Context ctx;
  for (bool classify : {true, false}) {
    INFO((classify ? "classification" : "regression"));
    const dp::Dataset ds = table(classify);
    CHECK(dp::choose_batch_mode(dp::Backend::cpu, ds, "resident") == dp::BatchMode::host);
    dp::BatchLoader loader(ds, 4, dp::BatchMode::host, ctx);
    const std::vector<std::int64_t> idx = {5, 0, 3};
    const dp::BatchRef b = loader.load(idx.data(), 3);
    REQUIRE(b.rows == 3);
    for (std::size_t i = 0; i < idx.size(); ++i) {
      for (std::int64_t j = 0; j < ds.features; ++j)
        CHECK(b.x[static_cast<std::int64_t>(i) * ds.features + j] ==
              ds.x[static_cast<std::size_t>(idx[i] * ds.features + j)]);
      if (classify) {
        CHECK(b.labels[i] == ds.labels[static_cast<std::size_t>(idx[i])]);
      } else {
        for (std::int64_t j = 0; j < ds.target_dim; ++j)
          CHECK(b.y[static_cast<std::int64_t>(i) * ds.target_dim + j] ==
                ds.y[static_cast<std::size_t>(idx[i] * ds.target_dim + j)]);
      }
    }
    dp::test::CheckThrows guard;
    const std::vector<std::int64_t> too_many = {0, 1, 2, 3, 4};
    CHECK_THROWS_AS(loader.load(too_many.data(), 5), dp::test::CheckFailure);  // capacity 4
  }
}
