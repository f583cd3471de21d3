#include "bench/kernel_bench.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "kernels/adam.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "src/tensor/buffer.h"
#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp::bench {
namespace {

using json = nlohmann::json;

// Seconds per call of `fn`: a warm-up call, then batches of calls until budget_s has
// passed; the device is synchronised before the clock stops, so queued work is counted.
double time_per_call(const kernels::Context& ctx, double budget_s, const std::function<void()>& fn) {
  auto sync = [&] {
    if (ctx.backend == Backend::cuda) device::synchronize(ctx.stream);
  };
  fn();
  sync();
  std::int64_t calls = 0, batch = 1;
  const double start = now_seconds();
  double elapsed = 0.0;
  while (elapsed < budget_s) {
    for (std::int64_t i = 0; i < batch; ++i) fn();
    sync();
    calls += batch;
    batch *= 2;
    elapsed = now_seconds() - start;
  }
  return elapsed / static_cast<double>(calls);
}

}  // namespace

int run_kernel_bench(const KernelBenchOptions& opt) {
  DP_USER_CHECK(opt.device == "cpu" || opt.device == "cuda" || opt.device == "auto", "--device: unknown '",
                opt.device, "' (expected cpu, cuda or auto)");
  DP_USER_CHECK(opt.adam_count >= 1 && opt.gemm_square >= 1 && opt.batch >= 1 && opt.budget_s > 0,
                "--adam-count, --gemm-square, --batch and --budget must be positive");
  const bool cuda = opt.device == "cuda" || (opt.device == "auto" && device::count() > 0);
  DP_USER_CHECK(!cuda || device::count() > 0, "--device cuda: no CUDA device visible",
                device::compiled() ? "" : " (this build has no CUDA backend)");
  std::unique_ptr<device::Runtime> runtime;
  kernels::Context ctx;
  std::string device_name = "cpu";
  if (cuda) {
    runtime = std::make_unique<device::Runtime>(0, opt.tf32);
    ctx = runtime->context();
    device_name = device::describe(0);
  }
  const Backend b = ctx.backend;
  json rows = json::array();

  // --- copy vs adam -------------------------------------------------------------------
  const std::int64_t n = opt.adam_count;
  Array<float> params(b, n), grads(b, n), m(b, n), v(b, n), dst(b, n);
  std::vector<float> h(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = 1e-3f * static_cast<float>(i % 1000);
  params.upload(h, ctx);
  grads.upload(h, ctx);
  const double nbytes = 4.0 * static_cast<double>(n);
  const double copy_s = time_per_call(ctx, opt.budget_s, [&] {
    if (cuda)
      device::copy(dst.data(), params.data(), static_cast<std::size_t>(nbytes), ctx.stream);
    else
      std::memcpy(dst.data(), params.data(), static_cast<std::size_t>(nbytes));
  });
  const double copy_gbs = 2.0 * nbytes / copy_s / 1e9;  // read + write
  kernels::AdamHyper hyper;
  hyper.weight_decay = 0.01f;
  std::int64_t step = 0;
  const double adam_s = time_per_call(ctx, opt.budget_s, [&] {
    hyper.step = ++step;
    kernels::adam_step(ctx, params.data(), grads.data(), m.data(), v.data(), n, hyper);
  });
  const double adam_gbs = 7.0 * nbytes / adam_s / 1e9;  // 4 reads + 3 writes of 4 bytes
  rows.push_back({{"kernel", "copy"}, {"count", n}, {"ms", 1e3 * copy_s}, {"gb_per_s", copy_gbs}});
  rows.push_back({{"kernel", "adam"},
                  {"count", n},
                  {"ms", 1e3 * adam_s},
                  {"gb_per_s", adam_gbs},
                  {"fraction_of_copy", adam_gbs / copy_gbs}});
  std::printf("# dpbench kernels on %s%s\n", device_name.c_str(), opt.tf32 ? " (TF32 allowed)" : "");
  std::printf("%-28s %12s %12s %10s\n", "kernel", "ms", "GB/s|TFLOP/s", "ratio");
  std::printf("%-28s %12.4f %12.1f %10s\n", "copy (read+write)", 1e3 * copy_s, copy_gbs, "");
  std::printf("%-28s %12.4f %12.1f %10.3f\n", "adam (28 B/param)", 1e3 * adam_s, adam_gbs,
              adam_gbs / copy_gbs);

  // --- GEMMs: the default MLP's three forms at --batch rows, and a square one ----------
  struct Shape {
    const char* name;
    kernels::Trans ta, tb;
    std::int64_t m, n, k;
  };
  const std::int64_t r = opt.batch, s = opt.gemm_square;
  const std::vector<Shape> shapes = {
      {"fwd X.W^T 784->256", kernels::Trans::no, kernels::Trans::yes, r, 256, 784},
      {"dW dY^T.X 256x784", kernels::Trans::yes, kernels::Trans::no, 256, 784, r},
      {"dX dY.W 256->128", kernels::Trans::no, kernels::Trans::no, r, 256, 128},
      {"square", kernels::Trans::no, kernels::Trans::no, s, s, s},
  };
  for (const Shape& sh : shapes) {
    const std::int64_t a_count = sh.m * sh.k, b_count = sh.k * sh.n, c_count = sh.m * sh.n;
    Array<float> a(b, a_count), bm(b, b_count), c(b, c_count);
    const std::int64_t lda = sh.ta == kernels::Trans::no ? sh.k : sh.m;
    const std::int64_t ldb = sh.tb == kernels::Trans::no ? sh.n : sh.k;
    const double t = time_per_call(ctx, opt.budget_s, [&] {
      kernels::gemm(ctx, sh.ta, sh.tb, sh.m, sh.n, sh.k, 1.0f, a.data(), lda, bm.data(), ldb, 0.0f, c.data(),
                    sh.n);
    });
    const double tflops =
        2.0 * static_cast<double>(sh.m) * static_cast<double>(sh.n) * static_cast<double>(sh.k) / t / 1e12;
    rows.push_back({{"kernel", "gemm"},
                    {"shape", sh.name},
                    {"m", sh.m},
                    {"n", sh.n},
                    {"k", sh.k},
                    {"ms", 1e3 * t},
                    {"tflop_per_s", tflops}});
    std::printf("gemm %-23s %12.4f %12.2f %10s\n", sh.name, 1e3 * t, tflops, "");
  }
  std::fflush(stdout);
  if (!opt.json_path.empty()) {
    std::ofstream out(opt.json_path);
    out << json{{"benchmark", "kernels"}, {"device", device_name}, {"tf32", opt.tf32}, {"results", rows}}
               .dump(1)
        << "\n";
    DP_USER_CHECK(out.good(), "--json: cannot write ", opt.json_path);
  }
  return 0;
}

}  // namespace dp::bench
