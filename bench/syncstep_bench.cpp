#include "bench/syncstep_bench.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/backend.h"
#include "kernels/gemm.h"
#include "src/train/watchdog.h"
#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp::bench {
namespace {

// One unit of work: a 32x256 · 256x256 SGEMM (4.2 MFLOP), single-threaded.
struct Work {
  std::vector<float> a = std::vector<float>(32 * 256, 0.5f), b = std::vector<float>(256 * 256, 0.25f),
                     c = std::vector<float>(32 * 256);
  void unit() {
    kernels::cpu::gemm(kernels::Trans::no, kernels::Trans::no, 32, 256, 256, 1.0f, a.data(), 256, b.data(),
                       256, 0.0f, c.data(), 256);
  }
};

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    DP_USER_CHECK(end && *end == '\0' && v > 0 && v < 1e4, "--work-ms: '", item,
                  "' is not a positive number of milliseconds");
    out.push_back(v);
  }
  DP_USER_CHECK(!out.empty(), "--work-ms: empty list");
  return out;
}

}  // namespace

int run_syncstep(const SyncStepOptions& opt, MpiCommunicator& comm) {
  const int rank = comm.rank(), world = comm.world_size();
  DP_USER_CHECK(opt.steps >= 10 && opt.warmup >= 0, "--steps must be >= 10, --warmup >= 0");
  const std::vector<double> work_ms = parse_list(opt.work_ms);
  const double nbytes = static_cast<double>(parse_size(opt.bytes, "--bytes"));
  DP_USER_CHECK(nbytes <= 256.0 * 1024 * 1024, "--bytes: '", opt.bytes,
                "' is more than 256M (one buffer of it lives on every rank)");
  const auto count = static_cast<std::size_t>(nbytes / 4);
  const int cores =
      opt.cores > 0 ? opt.cores : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const double share = std::max(1.0, static_cast<double>(world) / cores);
  kernels::set_cpu_threads(1);
  GuardedCommunicator guarded(comm, opt.timeout_s);
  std::vector<float> buf(count, 1.0f);
  Work work;

  // Calibration by rank 0 alone: the others sleep (outside MPI, which would spin) meanwhile.
  double unit_ms = 0.0;
  constexpr double kCalibrationS = 0.5;
  if (rank == 0) {
    for (int i = 0; i < 20; ++i) work.unit();
    std::vector<double> samples;
    const double start = now_seconds();
    while (now_seconds() - start < kCalibrationS) {
      const double t0 = now_seconds();
      for (int i = 0; i < 10; ++i) work.unit();
      samples.push_back((now_seconds() - t0) / 10 * 1e3);
    }
    unit_ms = median_of(samples);
  } else {
    ::usleep(static_cast<useconds_t>((kCalibrationS + 0.3) * 1e6));
  }
  DP_CHECK_OK(comm.broadcast(&unit_ms, sizeof unit_ms, 0));

  // The all-reduce alone, on every rank at once (what dpbench allreduce measures).
  std::vector<double> ar;
  for (int i = 0; i < opt.warmup + opt.steps; ++i) {
    const double t0 = now_seconds();
    DP_CHECK_OK(guarded.all_reduce(buf.data(), count, ReduceOp::sum));
    if (i >= opt.warmup) ar.push_back((now_seconds() - t0) * 1e3);
  }
  const double allreduce_ms = median_of(ar);

  nlohmann::json rows = nlohmann::json::array();
  if (rank == 0) {
    std::printf(
        "# dpbench syncstep: %d rank(s) on %d core(s) (share s = %.2f), all-reduce of %.0f bytes = %.3f ms "
        "alone; work unit %.4f ms\n",
        world, cores, share, 4.0 * static_cast<double>(count), allreduce_ms, unit_ms);
    std::printf("# %10s %8s %12s %12s %12s\n", "work ms", "units", "step ms", "ideal ms", "penalty ms");
  }
  for (const double w : work_ms) {
    const int units = std::max(1, static_cast<int>(std::lround(w / unit_ms)));
    std::vector<double> steps;
    for (int i = 0; i < opt.warmup + opt.steps; ++i) {
      const double t0 = now_seconds();
      for (int u = 0; u < units; ++u) work.unit();
      DP_CHECK_OK(guarded.all_reduce(buf.data(), count, ReduceOp::sum));
      if (i >= opt.warmup) steps.push_back((now_seconds() - t0) * 1e3);
    }
    double step_ms = median_of(steps);
    // The slowest rank's median: the step of the job.
    MPI_Allreduce(MPI_IN_PLACE, &step_ms, 1, MPI_DOUBLE, MPI_MAX, comm.mpi_comm());
    const double actual_work = units * unit_ms;
    const double ideal = share * actual_work + allreduce_ms;
    if (rank == 0)
      std::printf("  %10.3f %8d %12.3f %12.3f %12.3f\n", actual_work, units, step_ms, ideal, step_ms - ideal);
    rows.push_back({{"work_ms", actual_work},
                    {"units", units},
                    {"step_ms", step_ms},
                    {"ideal_ms", ideal},
                    {"penalty_ms", step_ms - ideal}});
  }
  if (rank == 0 && !opt.json_path.empty()) {
    std::ofstream out(opt.json_path);
    out << nlohmann::json{{"benchmark", "syncstep"},
                          {"ranks", world},
                          {"cores", cores},
                          {"share", share},
                          {"bytes", 4.0 * static_cast<double>(count)},
                          {"allreduce_ms", allreduce_ms},
                          {"unit_ms", unit_ms},
                          {"results", rows}}
               .dump(1)
        << "\n";
    DP_USER_CHECK(out.good(), "--json: cannot write ", opt.json_path);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace dp::bench
