// The training run. One `Run` per call of train(): set-up (data, run directory, model,
// resume), the step loop, evaluation, checkpoints, export. See docs/architecture.md for
// the data path of one step.
#include "src/train/trainer.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "comm/bootstrap.h"
#include "kernels/buffer_stats.h"
#include "kernels/device.h"
#include "src/cli.h"
#include "src/data/batch.h"
#include "src/data/batch_loader.h"
#include "src/data/file_bytes.h"
#include "src/data/sampler.h"
#include "src/model/mlp.h"
#include "src/optim/adam.h"
#include "src/optim/lr_schedule.h"
#include "src/train/agree.h"
#include "src/train/checkpoint.h"
#include "src/train/device_sync.h"
#include "src/train/faults.h"
#include "src/train/metrics_log.h"
#include "src/train/progress.h"
#include "src/train/reducer.h"
#include "src/train/replica_check.h"
#include "src/train/safetensors.h"
#include "src/train/trace.h"
#include "src/train/trainer_internal.h"
#include "src/train/watchdog.h"
#include "src/util/check.h"
#include "src/util/fs.h"
#include "src/util/stop_signal.h"
#include "src/util/timer.h"
#if defined(DPTRAIN_HAVE_CUDA)
#include "comm/nccl_comm.h"
#endif

namespace dp {
namespace {

using json = nlohmann::json;

// Checks for a stop signal (one all-reduce of two integers, a few microseconds) come about
// kStopPollTargetS apart: every step when steps are slower, every kStopPollMaxSteps steps
// at most when they are fast. A stop then begins within about that time plus one step --
// inside the grace time launchers give (mpirun: 1 s before SIGKILL, Slurm: KillWait, 30 s).
constexpr double kStopPollTargetS = 0.05;
constexpr std::int64_t kStopPollMaxSteps = 64;

// Exponential moving average for the live throughput / time split.
struct Ema {
  double value = 0.0;
  bool primed = false;
  void add(double x, double alpha = 0.05) {
    value = primed ? (1 - alpha) * value + alpha * x : x;
    primed = true;
  }
};

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

// The ckpt-crash fault: die halfway through writing a checkpoint.
void crash_mid_checkpoint() {
  std::fprintf(stderr, "dptrain: %s injected fault: crash while writing a checkpoint\n",
               identity_prefix().c_str());
  die_now();
}

class Run {
 public:
  Run(const Config& cfg, Communicator& comm, const std::string& resolved_config_json, const TrainHooks& hooks)
      : cfg_(cfg),
        comm_(comm, cfg.comm_timeout_s),
        hooks_(hooks),
        world_(comm.world_size()),
        root_(comm.rank() == 0),
        faults_(parse_faults(cfg.inject_fault, comm.world_size()), comm.rank()),
        tracer_(!cfg.trace_path.empty(), cfg.trace_steps) {
    setup_threads();
    setup_device();
    if (cfg.print_topology) print_topology();
    load_data();
    setup_files(resolved_config_json);
    build_model();
    print_banner();
    resume();
    if (!cfg_.resume.empty() && !complete_) agree_on_user_errors(comm_, [&] { write_config_json(); });
  }

  TrainResult run();
  // --dry-run: everything was checked in the constructor; say so and train nothing.
  TrainResult dry_run();
  TrainResult already_complete();  // --resume auto found nothing left to train
  void export_params();            // --export (rank 0 writes; every rank agrees on errors)

 private:
  void setup_threads();
  void setup_device();
  void print_topology();
  // Host copy of the parameters (the Array itself on the CPU backend).
  float* host_params();
  // "nccl", "mpi (staged through host memory)", "mpi (CUDA-aware)", "mpi" or "none (1 rank)".
  std::string comm_text() const {
    if (device_.comm == "none") return "none (1 rank)";
    if (device_.backend == Backend::cpu || device_.comm == "nccl") return device_.comm;
    return device_.cuda_aware_mpi ? "mpi (CUDA-aware)" : "mpi (staged through host memory)";
  }
  void poison_grads(std::int64_t begin, std::int64_t end);
  [[noreturn]] void comm_failed(const Status& s);
  void load_data();
  void setup_files(const std::string& resolved_config_json);
  void write_config_json();  // rank 0, RUN_DIR/config.json from config_text_ (none: nothing)
  void build_model();
  void print_banner();
  json resume_config() const;
  void resume();
  // metrics.jsonl of the interrupted run: keep its records up to `step` (rank 0; agreed).
  void continue_metrics_after(std::int64_t step);
  // One step; returns false when the step was skipped (non-finite values, --on-nonfinite skip).
  bool train_step(std::int64_t epoch, std::int64_t step_in_epoch);
  void report_step(std::int64_t epoch, double loss, double lr, double grad_norm, std::int64_t rows,
                   const double phase_s[4], const StepCommTimes& comm);
  void end_epoch(std::int64_t epoch, double epoch_s);
  void save_checkpoint(std::int64_t epoch, std::int64_t step_in_epoch);
  // The stop signal any rank has received (max over ranks), or 0; collective.
  int agreed_stop_signal();
  void finish(TrainResult* result);
  std::string resume_hint() const;
  void write_metrics(const json& record) { metrics_.write(record); }

  const Config& cfg_;
  GuardedCommunicator comm_;
  const TrainHooks& hooks_;
  const int world_;
  const bool root_;
  FaultInjector faults_;
  Tracer tracer_;
  DeviceChoice device_;                       // backend, GPU, gradient communication
  std::unique_ptr<device::Runtime> runtime_;  // CUDA backend only
  kernels::Context ctx_;                      // the CPU backend, or runtime_'s context
#if defined(DPTRAIN_HAVE_CUDA)
  std::unique_ptr<NcclCommunicator> nccl_;  // --comm nccl only
#endif
  int threads_ = 1;
  std::optional<std::string> threads_note_;
  Stopwatch wall_;

  DataSplits data_;
  std::string run_dir_, checkpoint_dir_;
  MetricsLog metrics_;       // rank 0 only
  std::string config_text_;  // RUN_DIR/config.json's contents (rank 0; empty without a run dir)
  std::string resume_text_;  // RUN_DIR/resume.toml's: the flags that continue this run

  std::unique_ptr<Mlp> model_;
  std::unique_ptr<AdamOptimizer> adam_;
  std::unique_ptr<GradientSync> reducer_;
  std::unique_ptr<DistributedSampler> sampler_;
  Array<float> params_;
  Array<float> grads_;           // nparams + 1: the local loss rides in the last slot
  std::vector<float> h_params_;  // host copy (CUDA backend: checks, checkpoints, export)
  // CUDA backend: this rank's own loss of the step (kept for the non-finite report) and a
  // pinned float the reduced loss is copied into.
  Array<float> d_local_loss_;
  std::unique_ptr<float, void (*)(float*)> h_loss_{nullptr, [](float* p) { device::release_pinned(p); }};
  std::int64_t buffer_count_ = 0;  // elements of params_ (grads_ has one more: the loss slot)
  // A step takes up to grad_accum micro-batches of local_batch_ rows on each rank.
  std::int64_t local_batch_ = 0, micro_per_epoch_ = 0, steps_per_epoch_ = 0, total_steps_ = 0, epochs_ = 0;
  LrSchedule schedule_;
  std::unique_ptr<Progress> progress_;
  BatchLoader train_loader_, eval_loader_;
  std::vector<std::int64_t> eval_idx_;

  // Position: steps taken so far (including skipped ones) and where to start.
  std::int64_t step_ = 0;
  std::int64_t start_epoch_ = 0, start_step_in_epoch_ = 0;
  std::int64_t skipped_ = 0;
  // --resume auto found the run already complete: nothing is trained. complete_from_ names
  // the evidence (its final checkpoint, or metrics.jsonl when it wrote none).
  bool complete_ = false;
  std::string complete_from_;
  std::int64_t eval_rows_ = 1;  // --eval-batch-size, at most the test split's size
  int stop_signal_ = 0;         // agreed by all ranks (agreed_stop_signal)
  // The next stop-signal check: at step next_stop_poll_; the last one at last_poll_step_,
  // last_poll_s_ (host clock). Every rank computes the same next_stop_poll_.
  std::int64_t next_stop_poll_ = 0, last_poll_step_ = 0;
  double last_poll_s_ = 0.0;
  double last_loss_ = 0.0;
  double epoch_loss_sum_ = 0.0, epoch_rows_ = 0.0;  // sum of loss x global rows this epoch
  EvalResult last_eval_;
  Ema ema_step_, ema_phase_[4];
};

void Run::setup_threads() {
  // --threads, else OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (what cluster scripts set),
  // else this rank's share of the node's cores.
  const CpuShare share = cpu_share(comm_.info().local_size);
  int from_env = 0;
  for (const char* var : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* value = std::getenv(var);
    if (value && std::atoi(value) > 0) {
      from_env = std::atoi(value);
      break;
    }
  }
  threads_ = cfg_.threads > 0 ? cfg_.threads : from_env > 0 ? from_env : share.threads;
  kernels::set_cpu_threads(threads_);
  if (threads_ > share.allowed)
    // Threads beyond the cores the rank is bound to take turns on them: slower, not faster.
    // The usual cause: srun without --cpus-per-task (Slurm >= 22.05 does not pass it on).
    threads_note_ =
        concat("warning: ", threads_, " BLAS thread(s) per rank (",
               cfg_.threads > 0 ? "--threads" : "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS",
               ") but rank 0 may run on only ", share.allowed,
               " core(s): the threads will share them; give each rank that many cores (srun --cpus-per-task, "
               "mpirun --map-by slot:PE=N) or fewer threads");
  else if (cfg_.threads == 0 && from_env == 0 && share.allowed < share.per_rank)
    threads_note_ =
        concat("note: this rank may only run on ", share.allowed, " of the ", share.per_rank,
               " cores that are its share of the node (mpirun binds ranks to cores by default), so it "
               "uses ",
               threads_, " BLAS thread(s); mpirun --bind-to none (or --map-by slot:PE=", share.per_rank,
               ") lets it use ", share.per_rank);
}

void Run::setup_device() {
  agree_on_user_errors(comm_, [&] { device_ = choose_device(cfg_, comm_.info()); });
  agree_device(cfg_, comm_, &device_);
  if (device_.backend == Backend::cpu) return;
  runtime_ = std::make_unique<device::Runtime>(device_.gpu, cfg_.tf32);
  ctx_ = runtime_->context();
#if defined(DPTRAIN_HAVE_CUDA)
  if (device_.comm == "nccl") {
    comm_.set_label("NCCL bootstrap");
    const Status s = NcclCommunicator::create(comm_, device_.gpu, cfg_.comm_timeout_s, &nccl_);
    comm_.set_label(nullptr);
    if (!s.ok()) comm_failed(s);
  }
#endif
}

// The nan fault: the tensors' elements in grads[begin, end) become NaN (all bits set is a
// quiet NaN). The layout's gaps are left alone: nothing else writes them, so a NaN there
// would outlive the fault and fail every later step.
void Run::poison_grads(std::int64_t begin, std::int64_t end) {
  for (const TensorView& t : model_->layout().tensors()) {
    const std::int64_t from = std::max(begin, t.offset), to = std::min(end, t.offset + t.count);
    if (from >= to) continue;
    if (device_.backend == Backend::cpu)
      faults_.poison(grads_.data() + from, to - from);
    else
      device::fill_bytes(grads_.data() + from, 0xFF, static_cast<std::size_t>(to - from) * sizeof(float),
                         ctx_.stream);
  }
}

float* Run::host_params() {
  if (device_.backend == Backend::cpu) return params_.data();
  h_params_.resize(static_cast<std::size_t>(buffer_count_));
  params_.download(h_params_.data(), buffer_count_, ctx_);
  return h_params_.data();
}

void Run::comm_failed(const Status& s) {
  std::fprintf(stderr, "dptrain: error: %s; ending the job\n", s.message().c_str());
  std::fflush(stderr);
  comm_.abort_job(kExitCommTimeout);
}

// Every rank describes itself in a fixed-size slot; rank 0 prints the gathered table.
void Run::print_topology() {
  constexpr std::size_t kSlot = 256;
  const RankInfo& me = comm_.info();
  std::string line = concat("rank ", me.rank, ": host ", me.host, ", local rank ", me.local_rank, "/",
                            me.local_size, ", cores ", affinity_text(), ", device ", device_.text,
                            ", gradients over ", comm_text(), ", ", threads_, " BLAS thread(s)");
  line.resize(kSlot - 1, ' ');
  std::vector<char> all(kSlot * static_cast<std::size_t>(world_));
  DP_CHECK_OK(comm_.all_gather(line.c_str(), all.data(), kSlot));
  if (!root_) return;
  std::printf("topology (%d rank(s)):\n", world_);
  for (int r = 0; r < world_; ++r) {
    std::string row(all.data() + static_cast<std::size_t>(r) * kSlot, kSlot - 1);
    row.erase(row.find_last_not_of(' ') + 1);
    std::printf("  %s\n", row.c_str());
  }
  // Ranks that take turns on cores measure the sharing, not the scaling (rank 0's host).
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cores > 0 && static_cast<long>(me.local_size) * threads_ > cores)
    std::printf(
        "note: host %s runs %d rank(s) x %d BLAS thread(s) on %ld core(s): they take turns on the cores "
        "(oversubscribed)\n",
        me.host.c_str(), me.local_size, threads_, cores);
  std::fflush(stdout);
}

void Run::load_data() {
  // Every rank loads the data; a failure on any rank stops all of them alike.
  agree_on_user_errors(comm_, [&] { data_ = dp::load_data(cfg_.data); });
  if (root_)
    for (const std::string& note : data_.notes) std::printf("%s\n", note.c_str());
  // Every rank holds the same data, so these checks decide alike everywhere.
  const std::int64_t samples = data_.train.count;
  DP_USER_CHECK(cfg_.batch_size <= samples, "--batch-size ", cfg_.batch_size,
                " is larger than the training set (", samples, " samples): use at most ", samples,
                " (that is full-batch training)");
  // An evaluation batch beyond the test split would only allocate rows never used.
  eval_rows_ =
      std::min(cfg_.eval_batch_size, std::max<std::int64_t>(1, data_.has_test ? data_.test.count : 1));
}

void Run::setup_files(const std::string& resolved_config_json) {
  if (cfg_.run_dir != "none") {
    // Rank 0 decides (a timestamped default must be the same name everywhere).
    if (root_) run_dir_ = cfg_.run_dir.empty() ? default_run_dir() : cfg_.run_dir;
    DP_CHECK_OK(broadcast_sized(comm_, &run_dir_, 0));
  }
  checkpoint_dir_ = !cfg_.checkpoint_dir.empty() ? cfg_.checkpoint_dir
                    : !run_dir_.empty()          ? run_dir_ + "/checkpoints"
                                                 : "";
  // --resume FILE reads that file and needs no directory of its own.
  const bool wants_checkpoints = cfg_.checkpoint_every > 0 || cfg_.stop_at_step > 0 || cfg_.resume == "auto";
  DP_USER_CHECK(
      !wants_checkpoints || !checkpoint_dir_.empty(),
      "--checkpoint-every/--stop-at-step/--resume auto need a place for checkpoints: pass --checkpoint-dir "
      "(or a --run-dir other than none)");
  agree_on_user_errors(comm_, [&] {
    if (!root_) return;
    if (!run_dir_.empty() && !cfg_.dry_run) {
      make_dirs(run_dir_, "--run-dir");
      json c = resolved_config_json.empty() ? json::object() : json::parse(resolved_config_json);
      c["world_size"] = world_;
      c["threads_per_rank"] = threads_;
      // What --device/--comm resolved to (auto): tools read the metrics differently on a GPU.
      c["backend"] = device_.backend == Backend::cpu ? "cpu" : "cuda";
      c["gradient_comm"] = comm_text();
      config_text_ = c.dump(2) + "\n";
      // RUN_DIR/resume.toml: this run's flags as a --config file that continues it from
      // its newest checkpoint (the launcher and the number of ranks are free to change).
      nlohmann::ordered_json r = resolved_config_json.empty()
                                     ? nlohmann::ordered_json::object()
                                     : nlohmann::ordered_json::parse(resolved_config_json);
      r["run-dir"] = run_dir_;
      r["resume"] = "auto";
      r["stop-at-step"] = 0;
      r["inject-fault"] = "";
      resume_text_ =
          "# Continues this run from its newest checkpoint (from step 0 without one; when the "
          "run is complete it says so):\n#   dptrain --config " +
          run_dir_ + "/resume.toml\n" + config_file_text(r);
      // A resumed run's config.json is replaced only once its checkpoint has been accepted:
      // a refused --resume leaves the run dir describing the run that is in it.
      if (cfg_.resume.empty()) write_config_json();
      // On --resume the old records stay until resume() knows the step it continues after.
      metrics_.open(run_dir_ + "/metrics.jsonl", /*keep_existing=*/!cfg_.resume.empty());
    }
    // Find out now, not after hours of training, that the outputs cannot be written. A dry
    // run creates nothing: there, what would be created must be creatable.
    const bool writes_checkpoints = cfg_.checkpoint_every > 0 || cfg_.stop_at_step > 0;
    if (writes_checkpoints && !cfg_.dry_run) ensure_writable_dir(checkpoint_dir_, "--checkpoint-dir");
    if (writes_checkpoints && cfg_.dry_run) ensure_dir_creatable(checkpoint_dir_, "--checkpoint-dir");
    if (cfg_.dry_run && !run_dir_.empty()) ensure_dir_creatable(run_dir_, "--run-dir");
    // --export/--trace FILE: a missing directory is created (a dry run checks that it could be).
    for (const auto& [file, flag] :
         {std::pair<const std::string&, const char*>{cfg_.export_path, "--export"},
          std::pair<const std::string&, const char*>{cfg_.trace_path, "--trace"}}) {
      if (file.empty()) continue;
      const bool create_dir = !path_exists(parent_dir(file));
      if (create_dir && !cfg_.dry_run) make_dirs(parent_dir(file), flag);
      ensure_file_writable(file, flag, /*parent_may_be_created=*/create_dir && cfg_.dry_run);
    }
  });
}

void Run::write_config_json() {
  if (!root_ || config_text_.empty()) return;
  std::ofstream out(run_dir_ + "/config.json");
  out << config_text_;
  DP_USER_CHECK(out.good(), "--run-dir: cannot write ", run_dir_, "/config.json");
  std::ofstream resume(run_dir_ + "/resume.toml");
  resume << resume_text_;
  DP_USER_CHECK(resume.good(), "--run-dir: cannot write ", run_dir_, "/resume.toml");
}

void Run::build_model() {
  const Dataset& train = data_.train;
  local_batch_ = cfg_.batch_size / world_;
  const LossKind loss = train.is_classification() ? LossKind::softmax_xent : LossKind::mse;
  const Backend backend = device_.backend;
  // A dry run checks shapes, not memory for batches: one row (a launching node checking
  // a 512-rank weak-scaling batch must not need its activations).
  const std::int64_t rows = cfg_.dry_run ? 1 : std::max(local_batch_, eval_rows_);
  model_ = std::make_unique<Mlp>(train.features, cfg_.hidden, train.output_dim(), loss, rows, backend);
  buffer_count_ = model_->buffer_count();
  DP_CHECK(buffer_count_ > 0, "a model without parameters");  // the step relies on buffer_stats syncing
  params_ = Array<float>(backend, buffer_count_);
  grads_ = Array<float>(backend, buffer_count_ + 1);
  if (backend != Backend::cpu) {
    d_local_loss_ = Array<float>(backend, 1);
    h_loss_.reset(static_cast<float*>(device::alloc_pinned(sizeof(float))));
  }
  {
    // Initialised on the host (rank 0's values everywhere), then placed on the backend.
    std::vector<float> h_init(static_cast<std::size_t>(buffer_count_), 0.0f);
    model_->init(h_init.data(), cfg_.seed);
    DP_CHECK_OK(comm_.broadcast(h_init.data(), h_init.size() * sizeof(float), 0));
    params_.upload(h_init, ctx_);
  }

  kernels::AdamHyper hyper;
  hyper.beta1 = static_cast<float>(cfg_.beta1);
  hyper.beta2 = static_cast<float>(cfg_.beta2);
  hyper.eps = static_cast<float>(cfg_.eps);
  hyper.weight_decay = static_cast<float>(cfg_.weight_decay);
  hyper.decay_mode =
      cfg_.optimizer == "adam" ? kernels::WeightDecayMode::l2 : kernels::WeightDecayMode::decoupled;
  adam_ = std::make_unique<AdamOptimizer>(buffer_count_, hyper, backend);

  sampler_ = std::make_unique<DistributedSampler>(train.count, comm_.rank(), world_, cfg_.seed,
                                                  /*shuffle=*/true, cfg_.drop_last);
  micro_per_epoch_ = (sampler_->shard_count() + local_batch_ - 1) / local_batch_;
  steps_per_epoch_ = (micro_per_epoch_ + cfg_.grad_accum - 1) / cfg_.grad_accum;
  total_steps_ = cfg_.steps > 0 ? cfg_.steps : cfg_.epochs * steps_per_epoch_;
  epochs_ = (total_steps_ + steps_per_epoch_ - 1) / steps_per_epoch_;
  schedule_.kind = cfg_.lr_schedule == "cosine" ? LrScheduleKind::cosine : LrScheduleKind::constant;
  schedule_.lr = cfg_.lr;
  schedule_.min_lr = cfg_.min_lr;
  schedule_.warmup_steps = cfg_.warmup_steps;
  schedule_.total_steps = total_steps_;

  // Buckets over the gradients and the loss slot; the first at most 1 MB.
  const double bucket_nbytes = cfg_.bucket_mb * 1024 * 1024;
  const auto buckets =
      plan_buckets(buffer_count_ + 1, static_cast<std::int64_t>(std::min(bucket_nbytes, 1024.0 * 1024)),
                   static_cast<std::int64_t>(bucket_nbytes));
  // MPI's scratch for the largest bucket comes from the heap, not fresh pages each step
  // (comm/bootstrap.h; NCCL needs none).
  std::int64_t largest_count = 0;
  for (const Bucket& b : buckets) largest_count = std::max(largest_count, b.end - b.begin);
  keep_large_blocks_in_heap(static_cast<std::size_t>(largest_count) * sizeof(float));
  if (backend == Backend::cpu) {
    // One rank has nothing to send: its all-reduces return at once, and handing them to a
    // communication thread would only add the hand-off to the step (and make the exposed
    // time exceed the all-reduce's own).
    reducer_ =
        std::make_unique<GradientReducer>(comm_, grads_.data(), buckets,
                                          /*use_thread=*/world_ > 1 && mpi_thread_serialized(), &tracer_);
  } else if (device_.comm == "none") {
    reducer_ = std::make_unique<LocalGradientSync>(plan_buckets(buffer_count_ + 1, 0, 0));
  } else if (device_.comm == "mpi") {
    reducer_ = std::make_unique<StagedGradientSync>(comm_, grads_.data(), buckets, ctx_, &tracer_,
                                                    device_.cuda_aware_mpi);
  } else {
#if defined(DPTRAIN_HAVE_CUDA)
    reducer_ = std::make_unique<NcclGradientSync>(*nccl_, grads_.data(), buckets, ctx_);
#endif
  }
  // Where buckets start during backward, backward reports a bucket as soon as its last row
  // of weight gradients is computed, not only after the whole layer (a 4096x4096 weight
  // spans several 25 MB buckets).
  if (reducer_ && reducer_->overlapping()) {
    std::vector<std::int64_t> ends;
    for (const Bucket& b : buckets) ends.push_back(b.end);
    model_->set_ready_points(std::move(ends));
  }

  eval_idx_.resize(static_cast<std::size_t>(eval_rows_));
  train_loader_ = BatchLoader(train, std::min(rows, local_batch_),
                              choose_batch_mode(backend, train, cfg_.gpu_data), ctx_);
  if (data_.has_test)
    eval_loader_ = BatchLoader(data_.test, std::min(rows, eval_rows_),
                               choose_batch_mode(backend, data_.test, cfg_.gpu_data), ctx_);
  progress_ = std::make_unique<Progress>(Progress::resolve(cfg_.progress), root_, total_steps_, epochs_,
                                         cfg_.log_every);
}

void Run::print_banner() {
  std::string layers;
  for (auto w : model_->widths()) layers += (layers.empty() ? "" : "-") + std::to_string(w);
  const Dataset& train = data_.train;
  progress_->print_line(concat(
      "dptrain: ", world_, " rank(s), ",
      device_.backend == Backend::cpu ? concat(threads_, " BLAS thread(s) per rank")
                                      : concat("rank 0 on ", device_.text, ", gradients over ", comm_text()),
      device_.backend == Backend::cpu ? std::string()
                                      : concat(", batches ", batch_mode_name(train_loader_.mode())),
      ", model ", cfg_.model, " ", layers, " (", model_->param_count(), " parameters, ",
      model_->loss_kind() == LossKind::softmax_xent ? "softmax cross-entropy" : "mean squared error", "), ",
      train.count, " training samples, global batch ", cfg_.batch_size, " (", local_batch_, " per rank)",
      cfg_.grad_accum > 1 ? concat(" x ", cfg_.grad_accum, " micro-batches = ",
                                   cfg_.batch_size * cfg_.grad_accum, " samples per step")
                          : std::string(),
      ", ", total_steps_, " steps in ", epochs_, " epoch(s)",
      run_dir_.empty() ? std::string() : ", run dir " + run_dir_,
      device_.comm == "none" ? std::string()
                             : concat(", ", reducer_->buckets().size(), " gradient bucket(s)",
                                      reducer_->overlapping() ? " overlapped with backward" : ""),
      cfg_.checkpoint_every > 0
          ? concat(", checkpoints every ", cfg_.checkpoint_every, " steps in ", checkpoint_dir_)
          : std::string()));
  if (threads_note_) progress_->print_line(*threads_note_);
}

// The settings that must be equal for a resumed run to continue the same run exactly.
// The world size is not among them: the state is replicated and the data order depends
// on the global batch only.
json Run::resume_config() const {
  const Dataset& train = data_.train;
  return json{{"data", cfg_.data.data},
              {"train_samples", train.count},
              {"features", train.features},
              {"outputs", train.output_dim()},
              {"batch-size", cfg_.batch_size},
              {"drop-last", cfg_.drop_last},
              {"seed", cfg_.seed},
              {"optimizer", cfg_.optimizer},
              {"lr", cfg_.lr},
              {"lr-schedule", cfg_.lr_schedule},
              {"warmup-steps", cfg_.warmup_steps},
              {"min-lr", cfg_.min_lr},
              {"weight-decay", cfg_.weight_decay},
              {"beta1", cfg_.beta1},
              {"beta2", cfg_.beta2},
              {"eps", cfg_.eps},
              {"grad-accum", cfg_.grad_accum},
              {"total_steps", total_steps_}};
}

void Run::resume() {
  if (cfg_.resume.empty()) return;
  // Rank 0 picks and reads the file; every rank gets its bytes and parses them, so the
  // ranks need no shared file system.
  std::vector<std::uint8_t> bytes;
  std::string path;
  agree_on_user_errors(comm_, [&] {
    if (!root_) return;
    if (cfg_.resume != "auto") {
      path = cfg_.resume;
      bytes = read_file_bytes(path, /*gunzip=*/false);
      parse_checkpoint(bytes, path);  // refuse a bad file by name, before anything else
      return;
    }
    for (const std::string& candidate : list_checkpoints(checkpoint_dir_)) {
      try {
        bytes = read_file_bytes(candidate, /*gunzip=*/false);
        parse_checkpoint(bytes, candidate);
        path = candidate;
        return;
      } catch (const UserError& e) {
        std::printf("warning: skipping checkpoint %s\n", e.what());
        bytes.clear();
      }
    }
  });
  DP_CHECK_OK(broadcast_sized(comm_, &path, 0));
  if (path.empty()) {
    // A run that finished without a checkpoint to show for it (--checkpoint-every 0) is
    // complete, not interrupted: its metrics.jsonl ends with a "done" record of its last
    // step and its settings (rank 0 reads it; every rank decides on the same text).
    std::string done_text;
    if (root_) done_text = metrics_.last_record("done").dump();
    DP_CHECK_OK(broadcast_sized(comm_, &done_text, 0));
    const json done = json::parse(done_text);
    if (done.is_object() && done.value("step", std::int64_t{-1}) == total_steps_) {
      const std::string where = run_dir_ + "/metrics.jsonl";
      agree_on_user_errors(comm_, [&] {
        const std::string diffs =
            settings_diff(done.value("settings", json::object()), resume_config(), "the finished run");
        DP_USER_CHECK(diffs.empty(), where, ": this run dir holds a finished run with other settings (",
                      diffs, "); give the new run a --run-dir of its own");
      });
      complete_ = true;
      complete_from_ = where + " records its last step, and no valid checkpoint is left";
      return;
    }
    if (root_)
      std::printf("--resume auto: no valid checkpoint in %s, starting from step 0\n",
                  checkpoint_dir_.c_str());
    continue_metrics_after(0);
    return;
  }
  DP_CHECK_OK(broadcast_sized(comm_, &bytes, 0));
  Checkpoint ck;
  agree_on_user_errors(comm_, [&] {
    ck = parse_checkpoint(bytes, path);
    check_compatible(ck, path, model_->layout(), resume_config());
    // --resume auto on a finished run (a chained or re-queued job) has nothing to do: a
    // success. A checkpoint named by hand that has no steps left is a mistake.
    DP_USER_CHECK(ck.step < total_steps_ || cfg_.resume == "auto", path, ": checkpoint is at step ", ck.step,
                  ", the run ends at step ", total_steps_, " (nothing left to train)");
  });
  if (ck.step >= total_steps_) {
    complete_ = true;
    complete_from_ = concat("its checkpoint ", path, " is at step ", ck.step);
  }
  const ParamLayout& layout = model_->layout();  // the checkpoint's tensors are packed
  params_.upload(layout.unpack(ck.params), ctx_);
  adam_->load_state(layout.unpack(ck.adam_m), layout.unpack(ck.adam_v), ck.adam_steps, ctx_);
  step_ = ck.step;
  start_epoch_ = ck.epoch;
  start_step_in_epoch_ = ck.step_in_epoch;
  if (complete_) return;  // its metrics.jsonl stays as it is
  continue_metrics_after(step_);
  if (root_)
    std::printf("resuming from %s: step %lld of %lld, epoch %lld (written by %d rank(s), this run has %d)\n",
                path.c_str(), static_cast<long long>(step_), static_cast<long long>(total_steps_),
                static_cast<long long>(start_epoch_ + 1), ck.world_size, world_);
}

void Run::continue_metrics_after(std::int64_t step) {
  std::int64_t dropped = 0;
  agree_on_user_errors(comm_, [&] {
    if (root_) dropped = metrics_.continue_after(step);
  });
  if (root_ && dropped > 0)
    std::printf(
        "%s/metrics.jsonl: moved %lld record(s) after step %lld (the interrupted run's) to "
        "metrics.jsonl.dropped\n",
        run_dir_.c_str(), static_cast<long long>(dropped), static_cast<long long>(step));
}

bool Run::train_step(std::int64_t epoch, std::int64_t step_in_epoch) {
  const std::int64_t this_step = step_ + 1;  // 1-based number of the step being taken
  const bool trace = tracer_.recording(this_step);
  comm_.set_step(this_step);
  reducer_->start_step(this_step);
  double phase_s[4] = {0, 0, 0, 0};  // data, compute, exposed communication, optimizer

  // Micro-batches micro_begin .. micro_end-1 of this epoch (grad_accum of them, fewer at
  // the end of an epoch); gradients accumulate, the last one's backward starts the
  // bucketed all-reduce as its layers finish.
  const std::int64_t micro_begin = step_in_epoch * cfg_.grad_accum;
  const std::int64_t micro_end = std::min(micro_per_epoch_, micro_begin + cfg_.grad_accum);
  const std::int64_t micros = micro_end - micro_begin;
  const bool poison = faults_.active(Fault::Kind::nan, this_step);
  std::int64_t poisoned_until = 0, rows_total = 0;
  double loss_sum = 0.0;
  // On a GPU the loss is summed into its slot on the device (no synchronisation); on the
  // CPU it comes back from each micro-batch and is stored into the slot below.
  const bool on_device = device_.backend != Backend::cpu;
  float* d_loss_slot = on_device ? grads_.data() + buffer_count_ : nullptr;
  if (on_device) device::fill_bytes(d_loss_slot, 0, sizeof(float), ctx_.stream);
  faults_.before_forward(this_step);
  for (std::int64_t m = micro_begin; m < micro_end; ++m) {
    const bool last = m + 1 == micro_end;
    const double t0 = now_seconds();
    const std::int64_t begin = m * local_batch_;
    const std::int64_t rows = std::min(local_batch_, sampler_->shard_count() - begin);
    const BatchRef rows_ref = train_loader_.load(sampler_->shard().data() + begin, rows);
    rows_total += rows;
    const double t1 = now_seconds();
    // A finished prefix of the gradients goes to the reducer (and, under the nan fault,
    // is poisoned first, so no bucket leaves this rank clean).
    std::int64_t ready_calls = 0;  // in the trace: how often backward reported (row blocks)
    auto ready = [&](std::int64_t ready_end) {
      if (poison) poison_grads(poisoned_until, ready_end);
      poisoned_until = ready_end;
      ++ready_calls;
      reducer_->ready(ready_end);
    };
    {
      const device::NvtxRange range("forward + backward");
      loss_sum +=
          model_->forward_backward(ctx_, params_.data(), rows_ref, grads_.data(),
                                   /*accumulate=*/m > micro_begin,
                                   last ? std::function<void(std::int64_t)>(ready) : nullptr, d_loss_slot);
    }
    const double t2 = now_seconds();
    phase_s[0] += t1 - t0;
    phase_s[1] += t2 - t1;
    if (trace) {
      tracer_.add(Tracer::data, "gather batch", t0, t1, {{"step", this_step}, {"rows", rows}});
      tracer_.add(Tracer::compute, "forward + backward", t1, t2,
                  {{"step", this_step}, {"micro_batch", m - micro_begin}, {"grads_ready", ready_calls}});
    }
  }
  float local_loss = 0.0f;  // this rank's own loss (on a GPU read only on the rare path below)
  if (!on_device) {
    local_loss = static_cast<float>(poison ? std::nan("") : loss_sum);
    grads_.upload(&local_loss, 1, ctx_, buffer_count_);
  } else {
    if (poison) device::fill_bytes(d_loss_slot, 0xFF, sizeof(float), ctx_.stream);
    device::copy(d_local_loss_.data(), d_loss_slot, sizeof(float), ctx_.stream);  // before the all-reduce
  }

  faults_.before_all_reduce(this_step);
  StepCommTimes comm_times;
  const double t_wait = now_seconds();
  {
    const device::NvtxRange range("all-reduce gradients");
    if (const Status s = reducer_->finish(&comm_times); !s.ok()) comm_failed(s);
  }
  phase_s[2] = comm_times.exposed_s;
  if (trace) tracer_.add(Tracer::compute, "wait for gradients", t_wait, now_seconds(), {{"step", this_step}});
  Stopwatch phase;

  // The summed buffer is identical on every rank, so this check reaches the same verdict
  // everywhere without another collective.
  // On a GPU the reduced loss travels to pinned memory while buffer_stats runs; its
  // synchronisation of ctx_.stream (the step's only one after the all-reduce; buffer_count_ > 0
  // for every model) covers both.
  float reduced_loss = 0.0f;
  if (on_device) device::copy(h_loss_.get(), d_loss_slot, sizeof(float), ctx_.stream);
  const kernels::BufferStats stats = kernels::buffer_stats(ctx_, grads_.data(), buffer_count_);
  if (on_device)
    reduced_loss = *h_loss_;
  else
    grads_.download(&reduced_loss, 1, ctx_, buffer_count_);
  // SUM over ranks (MPI) or their mean (NCCL's ncclAvg) of micros micro-batch means.
  const double contributions =
      (reducer_->averages() ? 1.0 : static_cast<double>(world_)) * static_cast<double>(micros);
  const double loss = static_cast<double>(reduced_loss) / contributions;
  const double lr = schedule_.at(step_);
  ++step_;
  if (stats.nonfinite > 0 || !std::isfinite(loss)) {
    // Name the ranks whose own loss was not finite (rare path: one more collective).
    std::vector<float> losses(static_cast<std::size_t>(world_));
    if (on_device) d_local_loss_.download(&local_loss, 1, ctx_);
    DP_CHECK_OK(comm_.all_gather(&local_loss, losses.data(), sizeof(float)));
    std::string ranks;
    for (int r = 0; r < world_; ++r)
      if (!std::isfinite(losses[static_cast<std::size_t>(r)]))
        ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    const std::string what = concat(
        "non-finite loss or gradient at step ", this_step, " (", stats.nonfinite, " gradient element(s); ",
        ranks.empty() ? "every rank's own loss was finite" : "local loss of rank(s) " + ranks, ")");
    if (cfg_.on_nonfinite == "stop")
      throw RunError(what +
                     "; stopping without an update (the last checkpoint is untouched; "
                     "--on-nonfinite skip would skip such steps)");
    ++skipped_;
    write_metrics({{"type", "skip"}, {"step", this_step}, {"epoch", epoch}, {"reason", what}});
    progress_->print_line("warning: " + what + "; step skipped (--on-nonfinite skip)");
    return false;
  }
  // The mean over all W * micros contributions: each is a mean over its rows.
  {
    const device::NvtxRange range("adam");
    adam_->step(ctx_, params_.data(), grads_.data(), lr, static_cast<float>(1.0 / contributions));
  }
  phase_s[3] = phase.elapsed_s();
  if (trace)
    tracer_.add(Tracer::optimizer, "adam", now_seconds() - phase_s[3], now_seconds(), {{"step", this_step}});
  if (hooks_.after_step) {
    // A host view of the live parameters; on a device, changes are copied back.
    hooks_.after_step(step_, host_params(), buffer_count_);
    if (device_.backend != Backend::cpu) params_.upload(h_params_, ctx_);
  }
  report_step(epoch, loss, lr, std::sqrt(stats.sum_squares) / contributions, rows_total, phase_s, comm_times);
  return true;
}

void Run::report_step(std::int64_t epoch, double loss, double lr, double grad_norm, std::int64_t rows,
                      const double phase_s[4], const StepCommTimes& comm) {
  const double step_s = phase_s[0] + phase_s[1] + phase_s[2] + phase_s[3];
  const double global_rows = static_cast<double>(rows) * world_;
  last_loss_ = loss;
  epoch_loss_sum_ += loss * global_rows;
  epoch_rows_ += global_rows;
  ema_step_.add(step_s);
  for (int i = 0; i < 4; ++i) ema_phase_[i].add(phase_s[i]);
  write_metrics({{"type", "train"},
                 {"step", step_},
                 {"epoch", epoch},
                 {"loss", loss},
                 {"lr", lr},
                 {"grad_norm", grad_norm},
                 {"samples", static_cast<std::int64_t>(global_rows)},
                 {"samples_per_s", global_rows / step_s},
                 {"step_ms", 1e3 * step_s},
                 {"data_ms", 1e3 * phase_s[0]},
                 {"compute_ms", 1e3 * phase_s[1]},
                 {"comm_ms", 1e3 * comm.busy_s},
                 {"exposed_comm_ms", 1e3 * comm.exposed_s},
                 {"optim_ms", 1e3 * phase_s[3]}});
  StepStats st;
  st.step = step_;
  st.epoch = epoch;
  st.loss = loss;
  st.lr = lr;
  st.samples_per_s = static_cast<double>(cfg_.batch_size) / ema_step_.value;
  st.data_frac = ema_phase_[0].value / ema_step_.value;
  st.compute_frac = ema_phase_[1].value / ema_step_.value;
  st.comm_frac = ema_phase_[2].value / ema_step_.value;
  st.optim_frac = ema_phase_[3].value / ema_step_.value;
  progress_->update(st);
}

void Run::end_epoch(std::int64_t epoch, double epoch_s) {
  const bool classify = model_->loss_kind() == LossKind::softmax_xent;
  // The epoch's mean training loss over the samples this process trained on (a resumed
  // epoch: from the resume on), not the last batch's.
  const double train_loss = epoch_rows_ > 0 ? epoch_loss_sum_ / epoch_rows_ : last_loss_;
  epoch_loss_sum_ = epoch_rows_ = 0.0;
  std::string summary = concat("epoch ", epoch + 1, "/", epochs_, ": train loss ", fixed(train_loss, 4));
  if (data_.has_test) {
    comm_.set_label("evaluation");
    last_eval_ = evaluate_split(ctx_, comm_, *model_, params_.data(), data_.test, eval_rows_, &eval_loader_,
                                &eval_idx_);
    comm_.set_label(nullptr);
    summary += concat(", test loss ", fixed(last_eval_.loss, 4),
                      classify ? ", test accuracy " + fixed(last_eval_.accuracy, 4) : "", " (",
                      last_eval_.samples, " samples)");
  }
  // One record per epoch, with or without a test split (then its test fields are null).
  const bool tested = data_.has_test;
  write_metrics({{"type", "eval"},
                 {"step", step_},
                 {"epoch", epoch},
                 {"test_loss", tested ? json(last_eval_.loss) : json(nullptr)},
                 {"test_accuracy", tested && classify ? json(last_eval_.accuracy) : json(nullptr)},
                 {"test_samples", tested ? last_eval_.samples : 0},
                 {"train_loss", train_loss},
                 {"epoch_s", epoch_s}});
  progress_->epoch_line(concat(summary, ", ", fixed(epoch_s, 2), " s"));
  metrics_.flush();
}

int Run::agreed_stop_signal() {
  if (!stop_handlers_installed()) return 0;  // the same on every rank: no collective needed
  // [0]: the signal any rank has received; [1]: the slowest rank's time since the last
  // check. Both are maxima over ranks, so every rank plans the same next check.
  const double now = now_seconds();
  std::int64_t v[2] = {stop_requested(), static_cast<std::int64_t>(1e6 * (now - last_poll_s_))};
  comm_.set_label("stop-signal check");
  DP_CHECK_OK(comm_.all_reduce(v, 2, ReduceOp::max));
  comm_.set_label(nullptr);
  const double step_s = 1e-6 * static_cast<double>(v[1]) / static_cast<double>(step_ - last_poll_step_);
  const auto every = static_cast<std::int64_t>(kStopPollTargetS / std::max(step_s, 1e-9));
  next_stop_poll_ = step_ + std::clamp<std::int64_t>(every, 1, kStopPollMaxSteps);
  last_poll_step_ = step_;
  last_poll_s_ = now;
  const int signo = static_cast<int>(v[0]);
  if (signo != 0)
    progress_->print_line(
        concat("dptrain: ", stop_signal_name(signo), " received",
               signo == SIGTERM ? " (from scancel, a time limit, or mpirun passing on a Ctrl-C)" : "",
               ": stopping after step ", step_, checkpoint_dir_.empty() ? "" : " with a checkpoint",
               signo == SIGINT ? " (Ctrl-C again to stop at once)" : ""));
  return signo;
}

void Run::save_checkpoint(std::int64_t epoch, std::int64_t step_in_epoch) {
  const Stopwatch watch;
  std::string path;
  comm_.set_label("checkpoint");
  agree_on_user_errors(comm_, [&] {
    if (!root_) return;
    Checkpoint ck;
    ck.step = step_;
    ck.epoch = epoch;
    ck.step_in_epoch = step_in_epoch;
    ck.adam_steps = adam_->steps_taken();
    ck.world_size = world_;
    ck.resume_config = resume_config();
    // Files hold the tensors packed (no alignment gaps): see ParamLayout.
    const ParamLayout& layout = model_->layout();
    ck.layout = layout.packed().tensors();
    ck.params = layout.pack(params_.to_host(ctx_).data());
    ck.adam_m = layout.pack(adam_->m(ctx_).data());
    ck.adam_v = layout.pack(adam_->v(ctx_).data());
    make_dirs(checkpoint_dir_, "--checkpoint-dir");  // a stop signal may ask for the first one
    const bool crash = faults_.active(Fault::Kind::ckpt_crash, step_);
    path =
        write_checkpoint(checkpoint_dir_, ck, cfg_.keep_checkpoints, crash ? &crash_mid_checkpoint : nullptr);
  });
  comm_.set_label(nullptr);
  if (!root_) return;
  const double ms = 1e3 * watch.elapsed_s();
  write_metrics({{"type", "checkpoint"}, {"step", step_}, {"path", path}, {"write_ms", ms}});
  metrics_.flush();
}

TrainResult Run::already_complete() {
  progress_->print_line(concat("--resume auto: the run is already complete (", complete_from_, "; ",
                               total_steps_, " steps in all): nothing to train"));
  TrainResult result;
  result.already_complete = true;
  result.steps = total_steps_;
  result.epochs = epochs_;
  result.layout = model_->layout();
  result.run_dir = run_dir_;
  result.checkpoint_dir = checkpoint_dir_;
  // The final parameters are there only when they came from the final checkpoint.
  if (step_ == total_steps_) result.params = params_.to_host(ctx_);
  if (!cfg_.export_path.empty()) {
    agree_on_user_errors(comm_, [&] {
      DP_USER_CHECK(step_ == total_steps_, "--export ", cfg_.export_path,
                    ": the run left no checkpoint, so its trained parameters are gone (nothing to export)");
    });
    export_params();
  }
  return result;
}

TrainResult Run::dry_run() {
  progress_->print_line(concat(
      "dry run: the flags, the data, the model and the device are valid on ", world_, " rank(s)",
      cfg_.resume.empty() ? ""
      : complete_ ? concat("; the run is already complete (", complete_from_, "): it would train nothing")
                  : ", and so is the checkpoint to resume",
      "; nothing was trained or written"));
  TrainResult result;
  result.steps = step_;
  result.epochs = epochs_;
  result.layout = model_->layout();
  result.run_dir = run_dir_;
  result.checkpoint_dir = checkpoint_dir_;
  return result;
}

TrainResult Run::run() {
  if (complete_) return already_complete();
  tracer_.start(comm_);
  // The first stop-signal check after one step; it measures the pace for the next ones.
  next_stop_poll_ = step_ + 1;
  last_poll_step_ = step_;
  last_poll_s_ = now_seconds();
  bool stopped = false;
  const bool periodic = cfg_.checkpoint_every > 0;
  for (std::int64_t epoch = start_epoch_; epoch < epochs_ && step_ < total_steps_ && !stopped; ++epoch) {
    const Stopwatch epoch_watch;
    sampler_->set_epoch(epoch);
    const std::int64_t first = epoch == start_epoch_ ? start_step_in_epoch_ : 0;
    std::int64_t s = first;
    for (; s < steps_per_epoch_ && step_ < total_steps_; ++s) {
      train_step(epoch, s);
      if ((cfg_.check_every > 0 && step_ % cfg_.check_every == 0) || step_ == total_steps_)
        check_replicas(comm_, host_params(), buffer_count_, step_);
      const bool stop_here = cfg_.stop_at_step > 0 && step_ == cfg_.stop_at_step;
      if (!stop_here && step_ < total_steps_ && step_ >= next_stop_poll_) stop_signal_ = agreed_stop_signal();
      const bool stopping = stop_here || stop_signal_ != 0;
      // Position after this step: (epoch, s + 1), or the start of the next epoch.
      const bool epoch_done = s + 1 == steps_per_epoch_;
      // A resumed run also ends with a checkpoint, so that resuming it again finds it done
      // instead of training its tail twice.
      const bool last = step_ == total_steps_;
      if ((periodic && (step_ % cfg_.checkpoint_every == 0 || last)) ||
          ((stopping || (last && !cfg_.resume.empty())) && !checkpoint_dir_.empty()))
        save_checkpoint(epoch_done ? epoch + 1 : epoch, epoch_done ? 0 : s + 1);
      if (stopping) {
        stopped = true;
        ++s;
        break;
      }
    }
    if (s == steps_per_epoch_ || step_ == total_steps_) end_epoch(epoch, epoch_watch.elapsed_s());
  }
  progress_->finish();
  TrainResult result;
  result.steps = step_;
  result.epochs = epochs_;
  result.skipped_steps = skipped_;
  result.stopped_early = stopped;
  result.stop_signal = stop_signal_;
  result.last_loss = last_loss_;
  result.final_eval = last_eval_;
  result.run_dir = run_dir_;
  result.checkpoint_dir = checkpoint_dir_;
  finish(&result);
  return result;
}

// How to continue: RUN_DIR/resume.toml holds every flag of this run plus --resume auto.
std::string Run::resume_hint() const {
  if (!run_dir_.empty())
    return concat("continue: dptrain --config ", run_dir_,
                  "/resume.toml (under any launcher and number of ranks)");
  return "continue: the same command with --resume auto";
}

void Run::finish(TrainResult* result) {
  result->wall_s = wall_.elapsed_s();
  result->layout = model_->layout();
  const bool classify = model_->loss_kind() == LossKind::softmax_xent;
  if (result->stop_signal != 0) {
    const char* name = stop_signal_name(result->stop_signal);
    write_metrics({{"type", "stop"}, {"step", step_}, {"signal", name}});
    metrics_.flush();
    progress_->print_line(concat(
        "stopped by ", name, " after step ", step_, " of ", total_steps_,
        checkpoint_dir_.empty() ? std::string("; no checkpoint written (no --checkpoint-dir, --run-dir none)")
                                : concat("; the checkpoint is in ", checkpoint_dir_, "; ", resume_hint())));
  } else if (result->stopped_early) {
    progress_->print_line(concat("stopped after step ", step_, " of ", total_steps_,
                                 " as asked (--stop-at-step); the checkpoint is in ", checkpoint_dir_, "; ",
                                 resume_hint()));
  } else {
    // The run is complete: "--resume auto" finds it so even without a checkpoint.
    write_metrics({{"type", "done"}, {"step", step_}, {"settings", resume_config()}});
    metrics_.flush();
    const EvalResult& e = last_eval_;
    std::string evaluation = "no test split";
    if (e.valid)
      evaluation =
          classify ? concat("final test accuracy ", fixed(e.accuracy, 4), ", test loss ", fixed(e.loss, 4))
                   : concat("final test loss (mse) ", fixed(e.loss, 6));
    progress_->print_line(concat("done: ", step_, " steps, ", epochs_, " epoch(s) in ",
                                 fixed(result->wall_s, 1), " s; ", evaluation, "; last train loss ",
                                 fixed(last_loss_, 4),
                                 skipped_ ? concat("; ", skipped_, " step(s) skipped (non-finite)") : "",
                                 run_dir_.empty() ? std::string() : "; outputs in " + run_dir_));
  }
  if (!cfg_.trace_path.empty()) {
    agree_on_user_errors(comm_, [&] { tracer_.write(comm_, cfg_.trace_path); });
    progress_->print_line(concat("wrote the timeline of steps 1-", std::min(cfg_.trace_steps, step_), " to ",
                                 cfg_.trace_path, " (open it in ui.perfetto.dev or chrome://tracing)"));
  }
  if (!cfg_.export_path.empty() && !result->stopped_early) export_params();
  result->params = params_.to_host(ctx_);
}

void Run::export_params() {
  const bool classify = model_->loss_kind() == LossKind::softmax_xent;
  agree_on_user_errors(comm_, [&] {
    if (!root_) return;
    std::string hidden_text;
    for (auto h : cfg_.hidden) hidden_text += (hidden_text.empty() ? "" : ",") + std::to_string(h);
    write_safetensors(cfg_.export_path, model_->layout(), host_params(),
                      {{"format", "pt"},
                       {"producer", "dptrain " DPTRAIN_VERSION},
                       {"model", cfg_.model},
                       {"hidden", hidden_text},
                       {"loss", classify ? "softmax_cross_entropy" : "mse"},
                       {"steps", std::to_string(step_)}});
  });
  progress_->print_line(concat("exported ", model_->param_count(), " parameters to ", cfg_.export_path));
}

}  // namespace

TrainResult train(const Config& cfg, Communicator& comm, const std::string& resolved_config_json,
                  const TrainHooks& hooks) {
  validate_config(cfg, comm.world_size());
  Run run(cfg, comm, resolved_config_json, hooks);
  return cfg.dry_run ? run.dry_run() : run.run();
}

}  // namespace dp
