// GPU collectives under mpiexec (label gpu), with inputs whose exact result is known:
// rank r holds x_i = (r + 1) * (i mod 97), so the sum over W ranks is
// (i mod 97) * W(W+1)/2 -- integers far below 2^24, exact in float32 in any order -- and
// the mean (NCCL's ncclAvg) is that over W, exact too for W a power of two. Wrong
// elements are counted and the count is summed over ranks.
//   NCCL all-reduce: only when every rank of a node has a GPU of its own (world size 1
//   on a one-GPU machine); MPI-staged all-reduce of device buffers: any world size.
// Without a device every rank prints "SKIP: ..." and ctest reports the test skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/mpi_comm.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "kernels/relu.h"
#include "src/tensor/buffer.h"
#include "src/train/device_sync.h"
#include "src/train/watchdog.h"
#include "src/util/check.h"
#include "src/util/timer.h"
#include "tests/mpi/mpi_test_util.h"
#if defined(DPTRAIN_HAVE_CUDA)
#include "comm/nccl_comm.h"
#endif

namespace {

using dp::test::world;

std::vector<float> rank_input(int rank, std::int64_t count) {
  std::vector<float> x(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i)
    x[static_cast<std::size_t>(i)] = static_cast<float>((rank + 1) * (i % 97));
  return x;
}

// Elements of `got` that differ from the exact sum (or mean) over `world` ranks, summed
// over all ranks.
std::int64_t wrong_everywhere(const std::vector<float>& got, int world_size, bool mean) {
  const double ranks_sum = world_size * (world_size + 1) / 2.0;
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double want = static_cast<double>(i % 97) * ranks_sum / (mean ? world_size : 1);
    if (static_cast<double>(got[i]) != want) ++wrong;
  }
  DP_CHECK_OK(world().all_reduce(&wrong, 1, dp::ReduceOp::sum));
  return wrong;
}

// Generous: these tests also run under compute-sanitizer, which slows NCCL's set-up and
// every kernel by 10-100x; a real hang still ends (ctest's own timeout is 300 s).
constexpr double kCommTimeoutS = 240;

int gpu_for_this_rank() {
  return world().info().local_rank % dp::device::count();
}

}  // namespace

TEST_CASE("MPI-staged all-reduce of device gradients is exact, in buckets", "[gpu][staged]") {
  dp::device::Runtime rt(gpu_for_this_rank(), false);
  const auto& ctx = rt.context();
  dp::GuardedCommunicator guarded(world(), kCommTimeoutS);
  for (std::int64_t count : {1, 31, 1000, 262147}) {
    dp::Array<float> d(dp::Backend::cuda, count);
    d.upload(rank_input(world().rank(), count), ctx);
    // 1 KiB buckets, the first 256 B: several buckets for the larger sizes.
    dp::StagedGradientSync sync(guarded, d.data(), dp::plan_buckets(count, 256, 1024), ctx, nullptr);
    sync.start_step(1);
    dp::StepCommTimes times;
    REQUIRE(sync.finish(&times).ok());
    CHECK_FALSE(sync.averages());
    INFO("count " << count);
    CHECK(wrong_everywhere(d.to_host(ctx), world().world_size(), false) == 0);
  }
}

#if defined(DPTRAIN_HAVE_CUDA)
TEST_CASE("NCCL all-reduce (sum, avg, buckets on a comm stream) is exact", "[gpu][nccl]") {
  const int gpus = dp::device::count();
  std::int64_t enough = world().info().local_size <= gpus ? 1 : 0;
  DP_CHECK_OK(world().all_reduce(&enough, 1, dp::ReduceOp::min));
  if (enough == 0) {
    // NCCL refuses two ranks on one GPU: nothing to test at this world size here.
    if (world().rank() == 0)
      std::printf("note: NCCL part not run: %d rank(s) per node share %d GPU(s)\n", world().info().local_size,
                  gpus);
    return;
  }
  dp::device::Runtime rt(gpu_for_this_rank(), false);
  const auto& ctx = rt.context();
  std::unique_ptr<dp::NcclCommunicator> nccl;
  REQUIRE(dp::NcclCommunicator::create(world(), rt.device(), kCommTimeoutS, &nccl).ok());
  const int w = world().world_size();
  // A GEMM of about a millisecond (17 GFLOP) to keep the compute stream busy well past the
  // microseconds NCCL needs to enqueue; small enough for compute-sanitizer's racecheck.
  constexpr std::int64_t kBusy = 2048;
  dp::Array<float> busy_a(dp::Backend::cuda, kBusy * kBusy), busy_c(dp::Backend::cuda, kBusy * kBusy);
  for (std::int64_t count : {1, 33, 1 << 20}) {
    INFO("count " << count);
    dp::Array<float> d(dp::Backend::cuda, count);
    d.upload(rank_input(world().rank(), count), ctx);
    dp::device::synchronize(ctx.stream);
    REQUIRE(nccl->all_reduce(d.data(), static_cast<std::size_t>(count), dp::ReduceOp::sum).ok());
    CHECK(wrong_everywhere(d.to_host(ctx), w, false) == 0);

    d.upload(rank_input(world().rank(), count), ctx);
    dp::device::synchronize(ctx.stream);
    REQUIRE(nccl->all_reduce_avg(d.data(), static_cast<std::size_t>(count), dp::DataType::f32).ok());
    if ((w & (w - 1)) == 0) CHECK(wrong_everywhere(d.to_host(ctx), w, true) == 0);

    // The trainer's path: buckets handed over while the compute stream is still busy. d
    // holds zeros; the true input arrives by a device copy queued behind a long GEMM on the
    // compute stream, so only the events the sync records order its all-reduces after it.
    dp::Array<float> src(dp::Backend::cuda, count);
    src.upload(rank_input(world().rank(), count), ctx);
    d.upload(std::vector<float>(static_cast<std::size_t>(count), 0.0f), ctx);
    dp::device::synchronize(ctx.stream);
    dp::kernels::gemm(ctx, dp::kernels::Trans::no, dp::kernels::Trans::no, kBusy, kBusy, kBusy, 1.0f,
                      busy_a.data(), kBusy, busy_a.data(), kBusy, 0.0f, busy_c.data(), kBusy);
    dp::device::copy(d.data(), src.data(), d.nbytes(), ctx.stream);
    // The values alone cannot show the ordering at world size 1 (an all-reduce over one
    // rank leaves d as it is, whenever it runs), so watch the streams: the comm stream's
    // work may only complete after the compute stream's GEMM and copy. compute_done marks
    // them, recorded before the buckets' ready events (so every bucket's wait implies it);
    // querying comm first, then compute, a "comm done, compute not done" pair proves the
    // order was broken.
    void* comm_done = dp::device::event_create();
    void* compute_done = dp::device::event_create();
    dp::device::event_record(compute_done, ctx.stream);
    dp::NcclGradientSync sync(*nccl, d.data(), dp::plan_buckets(count, 64, 4096), ctx);
    sync.start_step(1);
    sync.ready(count / 2);
    sync.ready(count);
    dp::device::event_record(comm_done, sync.comm_stream());
    std::int64_t out_of_order = 0;
    bool done = false;
    for (const double start = dp::now_seconds(); !done && dp::now_seconds() - start < kCommTimeoutS;) {
      done = dp::device::event_done(comm_done);
      if (done && !dp::device::event_done(compute_done)) ++out_of_order;
    }
    REQUIRE(done);
    CHECK(out_of_order == 0);
    dp::StepCommTimes times;
    REQUIRE(sync.finish(&times).ok());
    dp::device::event_destroy(comm_done);
    dp::device::event_destroy(compute_done);
    // Were cudaErrorNotReady from the polls left behind as the thread's "last error", this
    // checked launch would report it and abort the job.
    dp::kernels::relu_forward(ctx, d.data(), src.data(), count);
    if ((w & (w - 1)) == 0) CHECK(wrong_everywhere(d.to_host(ctx), w, true) == 0);
  }
  // broadcast and all_gather of device bytes.
  dp::Array<float> b(dp::Backend::cuda, 5);
  b.upload(rank_input(world().rank(), 5), ctx);
  dp::device::synchronize(ctx.stream);
  REQUIRE(nccl->broadcast(b.data(), b.nbytes(), 0).ok());
  CHECK(b.to_host(ctx) == rank_input(0, 5));
  dp::Array<float> all(dp::Backend::cuda, 5 * w);
  REQUIRE(nccl->all_gather(b.data(), all.data(), b.nbytes()).ok());
  CHECK(all.to_host(ctx)[static_cast<std::size_t>(5 * w - 1)] == rank_input(0, 5)[4]);
  REQUIRE(nccl->barrier().ok());
}
#endif

int main(int argc, char** argv) {
  if (dp::Status s = dp::mpi_init(&argc, &argv); !s.ok()) {
    std::fprintf(stderr, "mpi_init: %s\n", s.message().c_str());
    return 1;
  }
  dp::set_process_identity(world().rank(), world().info().host);
  int failed = 0;
  if (dp::device::count() == 0) {
    std::printf("SKIP: %s\n", dp::device::unavailable_reason().c_str());
  } else {
    failed = Catch::Session().run(argc, argv);
  }
  dp::mpi_finalize();
  return failed;
}
