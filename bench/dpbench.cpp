// dpbench allreduce: the all-reduce bandwidth of dptrain's communicator, nccl-tests style.
//
//   mpirun -n 4 build/dpbench allreduce [--min-bytes 8] [--max-bytes 1G] [--factor 2]
//                                       [--iters N] [--warmup N] [--json FILE]
//
// For every message size from --min-bytes to --max-bytes (x --factor), float32 SUM:
//   time    time of one in-place all-reduce: the slowest rank's mean over a round of
//           iterations, median over --rounds rounds (rounds alternate between the two
//           implementations, so both see the same machine state)
//   algbw   bytes / time
//   busbw   algbw * 2(n-1)/n: the bandwidth each link must carry in a ring all-reduce,
//           comparable across rank counts
//   #wrong  elements that differ from the exact result in a checked run with verifiable
//           inputs (x[i] = rank + i mod 7: integer sums, exact in float32), summed over ranks
// Two implementations run side by side in the same process, alternately per size:
//   dptrain   the trainer's path: GuardedCommunicator(MpiCommunicator) (watchdog armed)
//   mpi       a bare MPI_Allreduce(MPI_IN_PLACE, ...) loop on MPI_COMM_WORLD
// so "our layer adds no overhead" is a measured ratio. With --nccl, NcclCommunicator on
// device buffers is timed and checked alongside (one GPU per rank).
//
// dpbench kernels [--device cuda] [--json FILE]: fused Adam vs copy bandwidth and GEMM
// TFLOP/s on one rank (bench/kernel_bench.h).
// dpbench syncstep: the cost of ranks sharing cores around a collective (bench/syncstep_bench.h).
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/kernel_bench.h"
#include "bench/syncstep_bench.h"
#include "comm/bootstrap.h"
#include "comm/mpi_comm.h"
#include "kernels/device.h"
#include "src/cli_errors.h"
#include "src/tensor/buffer.h"
#if defined(DPTRAIN_HAVE_CUDA)
#include "comm/nccl_comm.h"
#endif
#include "src/train/agree.h"
#include "src/train/trainer_internal.h"
#include "src/train/watchdog.h"
#include "src/util/check.h"
#include "src/util/fs.h"
#include "src/util/timer.h"

namespace {

using dp::bench::median_of;
using dp::bench::parse_size;

struct Options {
  std::string min_bytes = "8", max_bytes = "1G";
  double factor = 2;
  int iters = 0;  // 0 = by size
  int warmup = 2;
  int rounds = 5;
  double time_budget_s = 0.5;  // per size and implementation, when --iters is 0
  std::string json_path;
  double timeout_s = 300;
  bool nccl = false;  // add NCCL on device buffers (one GPU per rank) as a third column
};

void fill(std::vector<float>& x, std::size_t count, int rank) {
  for (std::size_t i = 0; i < count; ++i) x[i] = static_cast<float>(rank + static_cast<int>(i % 7));
}

std::int64_t count_wrong(const std::vector<float>& x, std::size_t count, int world) {
  std::int64_t wrong = 0;
  const double base = static_cast<double>(world) * (world - 1) / 2;
  for (std::size_t i = 0; i < count; ++i)
    wrong += static_cast<double>(x[i]) != base + static_cast<double>(world) * static_cast<double>(i % 7);
  return wrong;
}

// The MPI library's own version line (e.g. "Open MPI v4.1.4, ...").
std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  const std::string s(text, static_cast<std::size_t>(length));
  return s.substr(0, s.find_first_of(std::string("\r\n\0", 3)));
}

struct Measure {
  double time_s = 0;  // median over rounds of the slowest rank's mean per all-reduce
  std::int64_t wrong = 0;
};

// One round: `iters` timed all-reduces; returns the slowest rank's mean.
template <typename AllReduce>
double time_round(AllReduce&& all_reduce, std::vector<float>& buf, std::size_t count, int iters) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = dp::now_seconds();
  for (int i = 0; i < iters; ++i) all_reduce(buf.data(), count);
  double mean = (dp::now_seconds() - t0) / iters;
  MPI_Allreduce(MPI_IN_PLACE, &mean, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return mean;
}

// The checked run: fresh verifiable inputs, one all-reduce, wrong elements over all ranks.
template <typename AllReduce>
std::int64_t check_round(AllReduce&& all_reduce, std::vector<float>& buf, std::size_t count, int rank,
                         int world) {
  fill(buf, count, rank);
  all_reduce(buf.data(), count);
  std::int64_t wrong = count_wrong(buf, count, world);
  MPI_Allreduce(MPI_IN_PLACE, &wrong, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return wrong;
}

int run_allreduce(const Options& opt, dp::MpiCommunicator& comm) {
  const int rank = comm.rank(), world = comm.world_size();
  const std::uint64_t lo = parse_size(opt.min_bytes, "--min-bytes"),
                      hi = parse_size(opt.max_bytes, "--max-bytes");
  DP_USER_CHECK(lo <= hi, "--min-bytes must not exceed --max-bytes");
  DP_USER_CHECK(opt.factor > 1, "--factor must be > 1");
  DP_USER_CHECK(opt.rounds >= 1 && opt.warmup >= 0 && opt.iters >= 0,
                "--rounds must be >= 1, --warmup and --iters >= 0");
  dp::agree_on_user_errors(comm, [&] {
    // MPI counts are ints: one call moves at most INT_MAX floats (8 GiB).
    DP_USER_CHECK(hi / 4 <= static_cast<std::uint64_t>(INT_MAX), "--max-bytes ", opt.max_bytes,
                  ": at most 8 GiB per all-reduce (MPI counts are int)");
    // Each rank holds the buffer, and MPI about as much again in scratch: refuse a sweep
    // this host cannot hold, instead of being killed for memory at its largest size.
    const double need_gib = 2.0 * static_cast<double>(hi) * comm.info().local_size / (1u << 30);
    const double free_gib = dp::bench::available_memory_bytes() / (1u << 30);
    DP_USER_CHECK(free_gib <= 0 || need_gib <= free_gib, "--max-bytes ", opt.max_bytes, ": the ",
                  comm.info().local_size, " rank(s) on ", comm.info().host, " would need about ",
                  std::ceil(need_gib * 10) / 10, " GiB (each: the buffer and MPI's scratch), ",
                  std::floor(free_gib * 10) / 10, " GiB are available");
  });
  dp::GuardedCommunicator guarded(comm, opt.timeout_s);
  std::vector<float> buf(static_cast<std::size_t>(hi / 4));  // parse_size: hi >= 4
  dp::keep_large_blocks_in_heap(hi);  // MPI's scratch up to the largest size: both columns alike

  auto ours = [&](float* data, std::size_t count) {
    DP_CHECK_OK(guarded.all_reduce(data, count, dp::ReduceOp::sum));
  };
  auto bare = [&](float* data, std::size_t count) {
    const int rc =
        MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    DP_CHECK(rc == MPI_SUCCESS, "MPI_Allreduce: ", dp::mpi_error_string(rc));
  };
  // --nccl: the same sweep through NcclCommunicator on a device buffer. The host buffer
  // carries the verifiable inputs in and the result out of the checked run only.
  std::function<void(float*, std::size_t)> nccl_ar;
  std::function<std::int64_t(std::size_t)> nccl_check;
#if defined(DPTRAIN_HAVE_CUDA)
  std::unique_ptr<dp::device::Runtime> runtime;
  std::unique_ptr<dp::NcclCommunicator> nccl;
  dp::Array<float> d_buf;
  if (opt.nccl) {
    // As dptrain chooses: GPU local rank % visible devices; two ranks may not share one,
    // told apart by PCI bus id (Slurm's --gpus-per-task=1 shows each rank its GPU as 0).
    dp::DeviceChoice d;
    dp::agree_on_user_errors(comm, [&] {
      const int gpus = dp::device::count();
      DP_USER_CHECK(gpus > 0, "--nccl: no CUDA device visible on ", comm.info().host);
      d.backend = dp::Backend::cuda;
      d.gpu = comm.info().local_rank % gpus;
    });
    const std::string shared = dp::shared_gpu(dp::gpu_names(comm, d));
    DP_USER_CHECK(shared.empty(), "--nccl: ", shared, "; NCCL needs one GPU per rank");
    runtime = std::make_unique<dp::device::Runtime>(d.gpu, false);
    DP_CHECK_OK(dp::NcclCommunicator::create(comm, runtime->device(), opt.timeout_s, &nccl));
    d_buf = dp::Array<float>(dp::Backend::cuda, static_cast<std::int64_t>(buf.size()));
    nccl_ar = [&](float*, std::size_t count) {
      DP_CHECK_OK(nccl->all_reduce(d_buf.data(), count, dp::ReduceOp::sum));
    };
    nccl_check = [&](std::size_t count) {
      fill(buf, count, rank);
      const auto n = static_cast<std::int64_t>(count);
      d_buf.upload(buf.data(), n, runtime->context());
      dp::device::synchronize(runtime->context().stream);
      nccl_ar(buf.data(), count);
      d_buf.download(buf.data(), n, runtime->context());
      std::int64_t wrong = count_wrong(buf, count, world);
      MPI_Allreduce(MPI_IN_PLACE, &wrong, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
      return wrong;
    };
  }
#else
  DP_USER_CHECK(!opt.nccl, "--nccl: this dpbench was built without the CUDA backend");
#endif

  const double bus_factor = world > 1 ? 2.0 * (world - 1) / world : 0.0;
  if (rank == 0) {
    std::printf(
        "# dpbench allreduce: %d rank(s), float32 sum, in place; time = median over %d rounds of the slowest "
        "rank's mean; algbw = bytes / time; busbw = algbw * 2(n-1)/n; ratio = dptrain busbw / mpi busbw\n",
        world, opt.rounds);
    std::printf("# %12s %12s %6s | %10s %9s %9s %7s | %10s %9s %9s %7s | %7s\n", "bytes", "count", "iters",
                "dptrain us", "algbw", "busbw", "#wrong", "mpi us", "algbw", "busbw", "#wrong", "ratio");
    std::printf("# %12s %12s %6s | %10s %9s %9s %7s | %10s %9s %9s %7s | %7s\n", "", "", "", "", "GB/s",
                "GB/s", "", "", "GB/s", "GB/s", "", "busbw");
  }
  nlohmann::json rows = nlohmann::json::array();
  std::int64_t total_wrong = 0;
  for (double size = static_cast<double>(lo); size <= static_cast<double>(hi) * (1 + 1e-9);
       size *= opt.factor) {
    const std::size_t count = std::max<std::size_t>(1, static_cast<std::size_t>(size) / 4);
    const double nbytes = 4.0 * static_cast<double>(count);
    // Iterations per round: about --budget / --rounds seconds at this size (quick probe).
    int iters = opt.iters;
    if (iters == 0) {
      fill(buf, count, rank);
      double probe = 1e30;  // the fastest of a few single calls: a stray slow one must not
      for (int i = 0; i < 4; ++i)
        probe = std::min(probe, time_round(bare, buf, count, 1));  // starve the rounds
      iters =
          static_cast<int>(std::clamp(opt.time_budget_s / opt.rounds / std::max(probe, 1e-7), 3.0, 1000.0));
      MPI_Bcast(&iters, 1, MPI_INT, 0, MPI_COMM_WORLD);  // every rank the same count
    }
    fill(buf, count, rank);
    for (int i = 0; i < opt.warmup; ++i) {
      ours(buf.data(), count);
      bare(buf.data(), count);
      if (nccl_ar) nccl_ar(buf.data(), count);  // NCCL's first calls set up its connections
    }
    std::vector<double> ours_t, bare_t, nccl_t;
    for (int r = 0; r < opt.rounds; ++r) {
      ours_t.push_back(time_round(ours, buf, count, iters));
      bare_t.push_back(time_round(bare, buf, count, iters));
      if (nccl_ar) nccl_t.push_back(time_round(nccl_ar, buf, count, iters));
    }
    Measure a{median_of(ours_t), check_round(ours, buf, count, rank, world)};
    Measure b{median_of(bare_t), check_round(bare, buf, count, rank, world)};
    total_wrong += a.wrong + b.wrong;
    Measure c;
    if (nccl_ar) {
      c = Measure{median_of(nccl_t), nccl_check(count)};
      total_wrong += c.wrong;
    }
    const double a_alg = nbytes / a.time_s / 1e9, b_alg = nbytes / b.time_s / 1e9;
    const double ratio = (a_alg * bus_factor) / std::max(b_alg * bus_factor, 1e-30);
    if (rank == 0) {
      // One rank moves nothing (busbw 0): no ratio there.
      const std::string ratio_text = world > 1 ? dp::concat(std::round(ratio * 1000) / 1000) : "-";
      std::printf("  %12.0f %12zu %6d | %10.2f %9.3f %9.3f %7lld | %10.2f %9.3f %9.3f %7lld | %7s\n", nbytes,
                  count, iters, a.time_s * 1e6, a_alg, a_alg * bus_factor, static_cast<long long>(a.wrong),
                  b.time_s * 1e6, b_alg, b_alg * bus_factor, static_cast<long long>(b.wrong),
                  ratio_text.c_str());
      if (nccl_ar)
        std::printf(
            "  %12s nccl (device buffers): %10.2f us, algbw %9.3f GB/s, busbw %9.3f GB/s, #wrong %lld\n", "",
            c.time_s * 1e6, nbytes / c.time_s / 1e9, nbytes / c.time_s / 1e9 * bus_factor,
            static_cast<long long>(c.wrong));
      std::fflush(stdout);
    }
    rows.push_back({{"bytes", static_cast<std::uint64_t>(nbytes)},
                    {"count", count},
                    {"iters", iters},
                    {"dptrain",
                     {{"time_us", a.time_s * 1e6},
                      {"algbw_gbs", a_alg},
                      {"busbw_gbs", a_alg * bus_factor},
                      {"wrong", a.wrong}}},
                    {"mpi",
                     {{"time_us", b.time_s * 1e6},
                      {"algbw_gbs", b_alg},
                      {"busbw_gbs", b_alg * bus_factor},
                      {"wrong", b.wrong}}},
                    {"ratio_busbw", world > 1 ? nlohmann::json(ratio) : nlohmann::json(nullptr)}});
    if (nccl_ar)
      rows.back()["nccl"] = {{"time_us", c.time_s * 1e6},
                             {"algbw_gbs", nbytes / c.time_s / 1e9},
                             {"busbw_gbs", nbytes / c.time_s / 1e9 * bus_factor},
                             {"wrong", c.wrong}};
  }
  if (rank == 0) {
    std::printf("# total #wrong: %lld\n", static_cast<long long>(total_wrong));
    if (!opt.json_path.empty()) {
      std::ofstream out(opt.json_path);
      out << nlohmann::json{{"benchmark", "dpbench allreduce"},
                            {"ranks", world},
                            {"dtype", "float32"},
                            {"op", "sum"},
                            {"bus_factor", bus_factor},
                            {"rounds", opt.rounds},
                            {"iters", opt.iters},
                            {"budget_s", opt.time_budget_s},
                            {"host_of_rank0", comm.info().host},
                            {"mpi_library", mpi_library()},
                            {"results", rows},
                            {"total_wrong", total_wrong}}
                 .dump(1)
          << "\n";
      DP_USER_CHECK(out.good(), "--json: cannot write ", opt.json_path);
    }
  }
  return total_wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (dp::Status s = dp::mpi_init(&argc, &argv); !s.ok()) {
    std::fprintf(stderr, "dpbench: %s\n", s.message().c_str());
    return 1;
  }
  int code = 0;
  {
    dp::MpiCommunicator* raw = nullptr;
    DP_CHECK_OK(dp::MpiCommunicator::create(MPI_COMM_WORLD, &raw));
    std::unique_ptr<dp::MpiCommunicator> comm(raw);
    dp::set_process_identity(comm->rank(), comm->info().host);
    const bool root = comm->rank() == 0;

    CLI::App app{"dpbench: communication benchmarks of dptrain (run under mpirun)", "dpbench"};
    app.require_subcommand(1);
    Options opt;
    CLI::App* ar =
        app.add_subcommand("allreduce", "float32 SUM all-reduce sweep: time, algbw, busbw, #wrong");
    ar->add_option("--min-bytes", opt.min_bytes, "smallest message (8, 64K, 1M, 1G ...)")
        ->capture_default_str();
    ar->add_option("--max-bytes", opt.max_bytes, "largest message")->capture_default_str();
    ar->add_option("--factor", opt.factor, "size multiplier between steps")->capture_default_str();
    ar->add_option("--iters", opt.iters,
                   "timed iterations per round (0 = about --budget seconds per size, 3 to 1000 per round)")
        ->capture_default_str();
    ar->add_option("--warmup", opt.warmup, "untimed iterations per size")->capture_default_str();
    ar->add_option("--rounds", opt.rounds,
                   "timed rounds per size and implementation (the median is reported)")
        ->capture_default_str();
    ar->add_option("--budget", opt.time_budget_s,
                   "seconds of timed rounds per size and implementation when --iters is 0")
        ->capture_default_str();
    ar->add_option("--json", opt.json_path, "also write the results as JSON to this file");
    ar->add_option("--comm-timeout", opt.timeout_s, "watchdog timeout of dptrain's communicator")
        ->capture_default_str();
    ar->add_flag("--nccl", opt.nccl,
                 "also time NCCL on device buffers (one GPU per rank; needs the CUDA backend)");
    dp::bench::KernelBenchOptions kopt;
    CLI::App* kb = app.add_subcommand(
        "kernels", "one rank: fused Adam's bandwidth vs a plain copy, GEMM TFLOP/s (the roofline ratios)");
    kb->add_option("--device", kopt.device, "cpu, cuda or auto")->capture_default_str();
    kb->add_option("--adam-count", kopt.adam_count, "parameters in the Adam and copy runs")
        ->capture_default_str();
    kb->add_option("--gemm-square", kopt.gemm_square, "m = n = k of the square GEMM")->capture_default_str();
    kb->add_option("--batch", kopt.batch, "rows of the MLP-shaped GEMMs")->capture_default_str();
    kb->add_option("--budget", kopt.budget_s, "timed seconds per measurement")->capture_default_str();
    kb->add_flag("--tf32", kopt.tf32, "allow TF32 tensor cores in the GEMMs");
    kb->add_option("--json", kopt.json_path, "also write the results as JSON to this file");
    dp::bench::SyncStepOptions sopt;
    CLI::App* ss = app.add_subcommand(
        "syncstep",
        "ranks sharing cores: the cost of a synchronising all-reduce after CPU work (perf model input)");
    ss->add_option("--work-ms", sopt.work_ms, "per-step CPU work when alone, ms, comma-separated")
        ->capture_default_str();
    ss->add_option("--bytes", sopt.bytes, "all-reduce message size (e.g. 940K, 1M)")->capture_default_str();
    ss->add_option("--steps", sopt.steps, "timed steps per work size")->capture_default_str();
    ss->add_option("--warmup", sopt.warmup, "untimed steps per work size")->capture_default_str();
    ss->add_option("--cores", sopt.cores, "cores the ranks share (0 = this machine's)")
        ->capture_default_str();
    ss->add_option("--json", sopt.json_path, "also write the results as JSON to this file");
    try {
      app.parse(argc, argv);
      // An output that cannot be written fails now, not after the whole sweep.
      const std::string& json_path = ss->parsed()   ? sopt.json_path
                                     : kb->parsed() ? kopt.json_path
                                                    : opt.json_path;
      dp::agree_on_user_errors(*comm, [&] {
        if (root && !json_path.empty()) dp::ensure_file_writable(json_path, "--json");
      });
      if (ss->parsed())
        code = dp::bench::run_syncstep(sopt, *comm);
      else if (kb->parsed())
        code = root ? dp::bench::run_kernel_bench(kopt) : 0;
      else
        code = run_allreduce(opt, *comm);
    } catch (const CLI::CallForHelp&) {
      if (root)
        std::fputs((ar->parsed()   ? ar->help()
                    : kb->parsed() ? kb->help()
                    : ss->parsed() ? ss->help()
                                   : app.help())
                       .c_str(),
                   stdout);
      code = 0;
    } catch (const CLI::ParseError& e) {
      // One line, like every other dpbench error, said as dptrain says it (the nearest flag
      // of the subcommand for a typo, what a value must look like); an unknown first word is named.
      const CLI::App& scope = ar->parsed() ? *ar : kb->parsed() ? *kb : ss->parsed() ? *ss : app;
      std::string what = dp::describe_parse_error(e, scope, argc, argv);
      const std::string first = argc > 1 ? argv[1] : "";
      if (!first.empty() && first[0] != '-' && first != "allreduce" && first != "kernels" &&
          first != "syncstep")
        what = dp::concat("unknown subcommand '", argv[1], "' (expected allreduce, kernels or syncstep)");
      if (root) std::fprintf(stderr, "dpbench: error: %s (see dpbench --help)\n", what.c_str());
      code = 2;
    } catch (const dp::UserError& e) {
      if (root) std::fprintf(stderr, "dpbench: error: %s\n", e.what());
      code = 2;
    }
  }
  dp::mpi_finalize();
  return code;
}
