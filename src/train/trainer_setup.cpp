// The parts of a run that are decided before the first step: configuration checks,
// threads, the run directory, and evaluation (shared by every epoch).
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "comm/bootstrap.h"
#include "kernels/device.h"
#include "src/train/faults.h"
#include "src/train/trainer.h"
#include "src/train/trainer_internal.h"
#include "src/util/cgroup.h"
#include "src/util/check.h"
#include "src/util/fs.h"

namespace dp {

namespace {

// This process's affinity mask; every online core when it cannot be read.
cpu_set_t affinity_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return set;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (int c = 0; c < cores && c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  return set;
}

}  // namespace

int node_cores(Communicator& comm) {
  // Each rank's slot: its node, then its affinity mask.
  struct Slot {
    std::int64_t node;
    cpu_set_t mask;
  };
  Slot mine{};
  mine.node = comm.info().node;
  mine.mask = affinity_mask();
  std::vector<Slot> all(static_cast<std::size_t>(comm.world_size()));
  DP_CHECK_OK(comm.all_gather(&mine, all.data(), sizeof(Slot)));
  cpu_set_t node;
  CPU_ZERO(&node);
  for (const Slot& s : all)
    if (s.node == mine.node) CPU_OR(&node, &node, &s.mask);
  return std::max(1, CPU_COUNT(&node));
}

CpuShare cpu_share(int local_size) {
  CpuShare share;
  const cpu_set_t mine = affinity_mask();
  share.allowed = std::max(1, CPU_COUNT(&mine));
  // Not the union of the masks alone: where mpirun binds each rank to one core, that union
  // is just the bound cores, and the note that binding costs threads could never show.
  const int cpuset = cgroup_cpuset_count();
  const int online = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int job_cores = cpuset > 0 ? std::min(cpuset, online) : online;
  share.per_rank = std::max(1, job_cores / std::max(1, local_size));
  share.threads = std::max(1, std::min(share.allowed, share.per_rank));
  return share;
}

void validate_config(const Config& c, int world) {
  DP_USER_CHECK(c.model == "mlp" || c.model == "mlp-large" || c.model == "linreg", "--model: unknown model '",
                c.model, "' (expected mlp, mlp-large or linreg)");
  DP_USER_CHECK(c.device == "cpu" || c.device == "cuda" || c.device == "auto", "--device: unknown '",
                c.device, "' (expected cpu, cuda or auto)");
  DP_USER_CHECK(c.comm == "auto" || c.comm == "mpi" || c.comm == "nccl", "--comm: unknown '", c.comm,
                "' (expected auto, mpi or nccl)");
  DP_USER_CHECK(c.gpu_data == "auto" || c.gpu_data == "resident" || c.gpu_data == "stream",
                "--gpu-data: unknown '", c.gpu_data, "' (expected auto, resident or stream)");
  DP_USER_CHECK(!(c.device == "cpu" && c.comm == "nccl"),
                "--comm nccl needs --device cuda (NCCL moves GPU buffers; CPU ranks use --comm mpi)");
  DP_USER_CHECK(c.batch_size >= 1, "--batch-size must be >= 1, got ", c.batch_size);
  DP_USER_CHECK(c.batch_size >= world, "--batch-size ", c.batch_size, " is smaller than the ", world,
                " ranks (each rank needs at least one sample)");
  DP_USER_CHECK(c.batch_size % world == 0, "--batch-size ", c.batch_size,
                " is the GLOBAL batch and must be divisible by the number of ranks (", world, ")");
  DP_USER_CHECK(c.lr > 0 && std::isfinite(c.lr), "--lr must be > 0, got ", c.lr);
  DP_USER_CHECK(c.epochs >= 1 || c.steps >= 1, "--epochs or --steps must be >= 1");
  DP_USER_CHECK(c.steps >= 0, "--steps must be >= 0, got ", c.steps);
  DP_USER_CHECK(c.eval_batch_size >= 1, "--eval-batch-size must be >= 1");
  DP_USER_CHECK(
      c.resume != "auto" || !c.run_dir.empty() || !c.checkpoint_dir.empty(),
      "--resume auto looks in --checkpoint-dir or RUN_DIR/checkpoints, but without --run-dir every run "
      "gets a new directory (runs/<time>): pass the interrupted run's --run-dir (or its --checkpoint-dir)");
  DP_USER_CHECK(c.log_every >= 1, "--log-every must be >= 1");
  DP_USER_CHECK(c.check_every >= 0, "--check-every must be >= 0");
  DP_USER_CHECK(c.warmup_steps >= 0, "--warmup-steps must be >= 0");
  DP_USER_CHECK(c.lr_schedule == "constant" || c.lr_schedule == "cosine", "--lr-schedule: unknown '",
                c.lr_schedule, "' (expected constant or cosine)");
  DP_USER_CHECK(c.optimizer == "adam" || c.optimizer == "adamw", "--optimizer: unknown '", c.optimizer,
                "' (expected adam or adamw)");
  DP_USER_CHECK(c.weight_decay >= 0, "--weight-decay must be >= 0");
  DP_USER_CHECK(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1,
                "--beta1/--beta2 must lie in [0, 1)");
  DP_USER_CHECK(c.eps > 0, "--eps must be > 0");
  DP_USER_CHECK(c.min_lr >= 0 && c.min_lr <= c.lr, "--min-lr must lie in [0, --lr]");
  DP_USER_CHECK(c.threads >= 0, "--threads must be >= 0");
  DP_USER_CHECK(c.model != "linreg" || c.hidden.empty(), "--hidden applies to --model mlp only");
  DP_USER_CHECK(c.bucket_mb >= 0, "--bucket-mb must be >= 0 (0 = one all-reduce after backward)");
  DP_USER_CHECK(c.grad_accum >= 1, "--grad-accum must be >= 1");
  DP_USER_CHECK(c.trace_steps >= 1, "--trace-steps must be >= 1");
  DP_USER_CHECK(c.checkpoint_every >= 0, "--checkpoint-every must be >= 0");
  DP_USER_CHECK(std::isfinite(c.checkpoint_minutes) && c.checkpoint_minutes >= 0,
                "--checkpoint-minutes must be >= 0 (0 = none), got ", c.checkpoint_minutes);
  DP_USER_CHECK(c.keep_checkpoints >= 1, "--keep-checkpoints must be >= 1");
  DP_USER_CHECK(c.comm_timeout_s >= 0, "--comm-timeout must be >= 0 (0 = no timeout)");
  DP_USER_CHECK(c.stop_at_step >= 0, "--stop-at-step must be >= 0");
  DP_USER_CHECK(c.on_nonfinite == "stop" || c.on_nonfinite == "skip", "--on-nonfinite: unknown '",
                c.on_nonfinite, "' (expected stop or skip)");
  parse_faults(c.inject_fault, world);  // throws on a malformed spec
}

DeviceChoice choose_device(const Config& cfg, const RankInfo& me) {
  DeviceChoice d;
  // --device cpu never touches the CUDA runtime (initialising it costs time even without a GPU).
  const int gpus = cfg.device == "cpu" ? 0 : device::count();
  if (cfg.device == "cpu" || (cfg.device == "auto" && gpus == 0)) {
    DP_USER_CHECK(cfg.comm != "nccl", "--comm nccl needs GPU ranks, but rank ", me.rank, " on ", me.host,
                  " runs on the CPU (", cfg.device == "cpu" ? "--device cpu" : device::unavailable_reason(),
                  ")");
    return d;
  }
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  DP_USER_CHECK(gpus > 0, "--device cuda: ", device::unavailable_reason(), " on ", me.host,
                visible ? concat(" (CUDA_VISIBLE_DEVICES=", visible, ")") : std::string(),
                "; use --device cpu or auto");
  d.backend = Backend::cuda;
  d.gpu = me.local_rank % gpus;
  d.comm = cfg.comm == "mpi" ? "mpi" : "nccl";  // agree_device decides whether NCCL can be used
  d.text = concat("GPU ", d.gpu, ": ", device::describe(d.gpu));
  return d;
}

std::vector<GpuName> gpu_names(Communicator& comm, const DeviceChoice& d) {
  // Every rank names its GPU by node and PCI bus id (empty on the CPU): two ranks share a
  // GPU exactly when they name the same one, however CUDA_VISIBLE_DEVICES numbers GPUs (e.g.
  // Slurm's --gpus-per-task=1 shows every rank its own GPU as device 0). The node, not the
  // host name: containers on different nodes may have the same one.
  constexpr std::size_t kText = 160;
  struct Slot {
    std::int64_t node;
    char text[kText];
  };
  Slot mine{};
  mine.node = comm.info().node;
  if (d.backend == Backend::cuda)
    std::snprintf(mine.text, kText, "%s %s", comm.info().host.c_str(), device::pci_bus_id(d.gpu).c_str());
  std::vector<Slot> all(static_cast<std::size_t>(comm.world_size()));
  DP_CHECK_OK(comm.all_gather(&mine, all.data(), sizeof(Slot)));
  std::vector<GpuName> names;
  for (const Slot& s : all) names.push_back({static_cast<int>(s.node), std::string(s.text)});
  return names;
}

std::string shared_gpu(const std::vector<GpuName>& names) {
  const std::size_t world = names.size();
  for (std::size_t a = 0; a < world; ++a)
    for (std::size_t b = a + 1; b < world; ++b)
      if (!names[a].text.empty() && names[a].node == names[b].node && names[a].text == names[b].text)
        return concat("ranks ", a, " and ", b, " use the same GPU (", names[a].text, ")");
  return "";
}

void agree_device(const Config& cfg, Communicator& comm, DeviceChoice* d) {
  const std::vector<GpuName> names = gpu_names(comm, *d);
  const int world = comm.world_size();
  const auto gpu_ranks =
      std::count_if(names.begin(), names.end(), [](const GpuName& n) { return !n.text.empty(); });
  if (gpu_ranks == 0) return;
  if (gpu_ranks < world) {
    // Only --device auto gets here (--device cuda refuses a rank without a GPU): replicas
    // must compute alike, so every rank takes the CPU.
    if (comm.rank() == 0)
      std::printf(
          "note: --device auto: only %lld of %d ranks see a GPU, so every rank runs on the CPU "
          "(--device cuda insists on GPUs)\n",
          static_cast<long long>(gpu_ranks), world);
    DP_USER_CHECK(cfg.comm != "nccl", "--comm nccl needs every rank on a GPU, but only ", gpu_ranks, " of ",
                  world, " ranks see one");
    *d = DeviceChoice();
    return;
  }
  if (world == 1 && cfg.comm == "auto") {
    // One rank has nothing to reduce: no NCCL communicator, no staging copies, no wait.
    // --comm nccl or mpi still takes its path (that is how those paths get tested at 1 rank).
    d->comm = "none";
    return;
  }
  const std::string shared = shared_gpu(names);
  DP_USER_CHECK(cfg.comm != "nccl" || shared.empty(), "--comm nccl: ", shared,
                ", but NCCL needs one GPU per rank: start at most one rank per GPU, or pass --comm mpi "
                "(gradients staged through host memory)");
  d->comm = cfg.comm == "mpi" || !shared.empty() ? "mpi" : "nccl";
  // Every rank's MPI library must take device buffers, or every rank stages.
  std::int64_t aware = d->comm == "mpi" && mpi_cuda_aware() ? 1 : 0;
  DP_CHECK_OK(comm.all_reduce(&aware, 1, ReduceOp::min));
  d->cuda_aware_mpi = aware == 1;
}

std::string affinity_text() {
  const cpu_set_t set = affinity_mask();
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int last = c;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    out += (out.empty() ? "" : ",") + (last == c ? std::to_string(c) : concat(c, "-", last));
    c = last;
  }
  return out;
}

std::string default_run_dir(bool create) {
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  if (create) make_dirs("runs", "--run-dir");
  for (int i = 0;; ++i) {
    const std::string dir = i == 0 ? concat("runs/", stamp) : concat("runs/", stamp, "-", i);
    if (!create) {
      if (!path_exists(dir)) return dir;
      continue;
    }
    // mkdir, not a look first: two runs started in the same second (an array job, a
    // sweep) must not both take one name.
    if (::mkdir(dir.c_str(), 0777) == 0) return dir;
    if (errno != EEXIST)
      throw UserError(concat("--run-dir: cannot create ", dir, ": ", std::strerror(errno)));
  }
}

EvalResult evaluate_split(const kernels::Context& ctx, Communicator& comm, Mlp& model, const float* params,
                          const Dataset& test, std::int64_t eval_rows, BatchLoader* loader,
                          std::vector<std::int64_t>* idx) {
  const std::int64_t w = comm.world_size(), r = comm.rank();
  double sums[3] = {0.0, 0.0, 0.0};  // loss sum, correct, rows
  for (std::int64_t start = r; start < test.count; start += w * eval_rows) {
    std::int64_t rows = 0;
    for (std::int64_t i = start; i < test.count && rows < eval_rows; i += w)
      (*idx)[static_cast<std::size_t>(rows++)] = i;
    const EvalSums s = model.evaluate(ctx, params, loader->load(idx->data(), rows));
    sums[0] += s.loss_sum;
    sums[1] += static_cast<double>(s.correct);
    sums[2] += static_cast<double>(s.rows);
  }
  DP_CHECK_OK(comm.all_reduce(sums, 3, ReduceOp::sum));
  EvalResult e;
  e.valid = sums[2] > 0;
  e.samples = static_cast<std::int64_t>(sums[2]);
  e.loss = e.valid ? sums[0] / sums[2] : 0.0;
  e.accuracy = e.valid ? sums[1] / sums[2] : 0.0;
  return e;
}

}  // namespace dp
