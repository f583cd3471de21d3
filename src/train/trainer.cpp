// The training run, part 1: set-up (threads, device, data, model), the step loop, evaluation
// and the end of the run. Part 2, the run's files and state (run directory, checkpoints,
// resume, export), is in run_state.cpp; the class in run.h. See docs/architecture.md for
// the data path of one step.
#include "src/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "comm/bootstrap.h"
#include "kernels/buffer_stats.h"
#include "kernels/device.h"
#include "src/cli.h"
#include "src/data/batch.h"
#include "src/data/batch_loader.h"
#include "src/data/sampler.h"
#include "src/model/mlp.h"
#include "src/optim/adam.h"
#include "src/optim/lr_schedule.h"
#include "src/train/agree.h"
#include "src/train/device_sync.h"
#include "src/train/faults.h"
#include "src/train/metrics_log.h"
#include "src/train/progress.h"
#include "src/train/reducer.h"
#include "src/train/replica_check.h"
#include "src/train/run.h"
#include "src/train/trace.h"
#include "src/train/trainer_internal.h"
#include "src/train/watchdog.h"
#include "src/util/check.h"
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

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

}  // namespace

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
               " cores that are its share of the node (its affinity mask: mpirun binds ranks to cores by "
               "default), so it uses ",
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
    CollectiveLabel label(comm_, "NCCL bootstrap");
    const Status s = NcclCommunicator::create(comm_, device_.gpu, cfg_.comm_timeout_s, &nccl_);
    label.end();
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
  // Collective, like the gather above: every rank takes part before rank 0 goes on alone.
  const int cores = node_cores(comm_);
  if (!root_) return;
  std::printf("topology (%d rank(s)):\n", world_);
  for (int r = 0; r < world_; ++r) {
    std::string row(all.data() + static_cast<std::size_t>(r) * kSlot, kSlot - 1);
    row.erase(row.find_last_not_of(' ') + 1);
    std::printf("  %s\n", row.c_str());
  }
  // Ranks that take turns on cores measure the sharing, not the scaling (rank 0's host; its
  // cores are those its ranks run on together, see node_cores).
  if (me.local_size * threads_ > cores)
    std::printf(
        "note: host %s runs %d rank(s) x %d BLAS thread(s) on %d core(s): they take turns on the cores "
        "(oversubscribed)\n",
        me.host.c_str(), me.local_size, threads_, cores);
  std::fflush(stdout);
}

void Run::load_data() {
  // Every rank loads the data; a failure on any rank stops all of them alike. The first to
  // finish wait for the last: on a shared file system under load that may take long.
  CollectiveLabel label(comm_, "loading the data", data_files_nbytes(cfg_.data));
  agree_on_user_errors(comm_, [&] { data_ = dp::load_data(cfg_.data); });
  label.end();
  if (root_)
    for (const std::string& note : data_.notes) std::printf("%s\n", note.c_str());
  // Every rank holds the same data, so these checks decide alike everywhere.
  const std::int64_t samples = data_.train.count;
  DP_USER_CHECK(cfg_.batch_size <= samples, "--batch-size ", cfg_.batch_size,
                " is larger than the training set (", samples, " samples): use at most ", samples,
                " (that is full-batch training)");
  // A step never spans two epochs, so one with more micro-batches than an epoch has would
  // silently be a smaller step.
  DP_USER_CHECK(cfg_.batch_size * cfg_.grad_accum <= samples, "--batch-size ", cfg_.batch_size,
                " x --grad-accum ", cfg_.grad_accum, " = ", cfg_.batch_size * cfg_.grad_accum,
                " samples per step is more than the training set (", samples, " samples): lower one of them");
  // An evaluation batch beyond the test split would only allocate rows never used.
  eval_rows_ =
      std::min(cfg_.eval_batch_size, std::max<std::int64_t>(1, data_.has_test ? data_.test.count : 1));
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
  // The same decision on every rank (the configuration and the data are the same).
  DP_USER_CHECK(cfg_.stop_at_step <= total_steps_, "--stop-at-step ", cfg_.stop_at_step,
                " is beyond the run's last step ", total_steps_,
                " (--steps/--epochs): it would never stop there");
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

void Run::print_banner(const std::string& resolved_config_json) {
  // What a dry run would do too (timed_checkpoints() is false there: it writes nothing).
  const bool timed_planned = timed_checkpoints_planned();
  if (root_ && !resolved_config_json.empty()) {
    std::printf("# dptrain %s resolved configuration (a valid --config file):\n%s\n", DPTRAIN_VERSION,
                config_file_text(nlohmann::ordered_json::parse(resolved_config_json)).c_str());
    std::fflush(stdout);
  }
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
      cfg_.checkpoint_every > 0 || timed_planned
          ? concat(", checkpoints every ",
                   cfg_.checkpoint_every > 0 ? concat(cfg_.checkpoint_every, " steps") : std::string(),
                   cfg_.checkpoint_every > 0 && timed_planned ? " and every " : "",
                   timed_planned ? concat(cfg_.checkpoint_minutes, " min") : std::string(), " in ",
                   checkpoint_dir_)
          : std::string()));
  if (threads_note_) progress_->print_line(*threads_note_);
  if (cfg_.warmup_steps > total_steps_)
    progress_->print_line(concat("note: --warmup-steps ", cfg_.warmup_steps, " is longer than the run (",
                                 total_steps_, " steps): the learning rate never reaches --lr ", cfg_.lr));
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
  st.samples_per_s = static_cast<double>(cfg_.batch_size * cfg_.grad_accum) / ema_step_.value;
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
    CollectiveLabel label(comm_, "evaluation");
    last_eval_ = evaluate_split(ctx_, comm_, *model_, params_.data(), data_.test, eval_rows_, &eval_loader_,
                                &eval_idx_);
    label.end();
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
  // Epochs shorter than --log-every steps (a full-batch linreg has one step each) get a line
  // only when they reach a multiple of --log-every steps, and the last one always, so the
  // lines fall on the same epochs after a resume; the metrics keep every epoch. (Epoch e
  // began after step e * steps_per_epoch_.)
  const std::int64_t every = cfg_.log_every;  // >= 1 (validate_config)
  if (step_ / every != epoch * steps_per_epoch_ / every || step_ == total_steps_)
    progress_->epoch_line(concat(summary, ", ", fixed(epoch_s, 2), " s"));
  metrics_.flush();
}

bool Run::timed_checkpoints_planned() const {
  return cfg_.checkpoint_minutes > 0 && !checkpoint_dir_.empty();
}

bool Run::timed_checkpoints() const {
  return timed_checkpoints_planned() && !cfg_.dry_run;
}

// A --checkpoint-minutes checkpoint is a safety net nobody asked for by name: one that
// cannot be written (disk full, a quota, a read-only directory) is a warning, and training
// goes on (the previous checkpoints are untouched); the next try comes a period later.
void Run::save_timed_checkpoint(std::int64_t epoch, std::int64_t step_in_epoch) {
  try {
    save_checkpoint(epoch, step_in_epoch);
  } catch (const UserError& e) {  // agreed: every rank has the same one
    last_checkpoint_clock_s_ = now_seconds();
    progress_->print_line(concat(
        "warning: the --checkpoint-minutes checkpoint after step ", step_, " was not written: ", e.what(),
        step_ < total_steps_ ? concat("; training goes on, the next try in ", cfg_.checkpoint_minutes, " min")
                             : std::string("; --resume auto would start from the "
                                           "newest earlier checkpoint")));
  }
}

int Run::agreed_stop_signal() {
  // The same on every rank: no collective needed when there is nothing to decide.
  if (!stop_handlers_installed() && !timed_checkpoints()) return 0;
  // [0]: the signal any rank has received; [1]: the slowest rank's time since the last
  // check; [2]: its time since the last checkpoint. All maxima over ranks, so every rank
  // plans the same next check and takes the same checkpoint decision.
  const double now = now_seconds();
  std::int64_t v[3] = {stop_requested(), static_cast<std::int64_t>(1e6 * (now - last_poll_s_)),
                       static_cast<std::int64_t>(1e6 * (now - last_checkpoint_clock_s_))};
  CollectiveLabel label(comm_, "stop-signal check");
  DP_CHECK_OK(comm_.all_reduce(v, 3, ReduceOp::max));
  label.end();
  checkpoint_due_ = timed_checkpoints() && static_cast<double>(v[2]) >= 60e6 * cfg_.checkpoint_minutes;
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
  if (signo == SIGTERM && !checkpoint_dir_.empty())
    if (const std::string note = sigkill_note(step_s); !note.empty()) progress_->print_line(note);
  return signo;
}

// Open MPI's mpirun (ORTE: Open MPI 4, which marks the ranks it starts with
// OMPI_MCA_orte_launch) answers a Ctrl-C or its own SIGTERM with SIGTERM to the ranks and,
// odls_base_sigkill_timeout seconds later (default 1), SIGKILL: whatever the ranks write after
// that is lost. Rank 0 says so when the rest of this step plus the checkpoint may take longer
// than half of it: the last checkpoint's time when there was one, else its size at 200 MB/s.
std::string Run::sigkill_note(double step_s) const {
  if (std::getenv("OMPI_MCA_orte_launch") == nullptr) return "";
  const char* timeout_text = std::getenv("OMPI_MCA_odls_base_sigkill_timeout");
  const int timeout_s = timeout_text != nullptr && std::atoi(timeout_text) > 0 ? std::atoi(timeout_text) : 1;
  // Parameters and both Adam moments, float32, as the checkpoint holds them.
  const double checkpoint_mb = 3.0 * 4.0 * static_cast<double>(model_->layout().param_count()) / 1e6;
  const double write_s = last_checkpoint_s_ > 0 ? last_checkpoint_s_ : checkpoint_mb / 200.0;
  if (step_s + write_s <= 0.5 * timeout_s) return "";
  const int suggested_s = std::max(10, static_cast<int>(std::ceil(3.0 * (step_s + write_s))));
  return concat(
      "note: if this SIGTERM came from mpirun (a Ctrl-C or a SIGTERM to it), mpirun kills the ranks ",
      timeout_s, " s later (--mca odls_base_sigkill_timeout), and this checkpoint (", fixed(checkpoint_mb, 0),
      " MB", last_checkpoint_s_ > 0 ? concat(", the last took ", fixed(last_checkpoint_s_, 1), " s") : "",
      ") may not be written by then; to stop with a checkpoint send SIGUSR1 to mpirun instead "
      "(kill -USR1 <mpirun's pid>), or start mpirun with --mca odls_base_sigkill_timeout ",
      suggested_s,
      " (it then waits that long before it passes the SIGTERM on, and as long again "
      "before the SIGKILL)");
}

TrainResult Run::dry_run() {
  progress_->print_line(concat(
      "dry run: the flags, the data, the model and the device are valid on ", world_, " rank(s)",
      cfg_.resume.empty() ? ""
      : complete_ ? concat("; the run is already complete (", complete_from_, "): it would train nothing")
      : step_ > 0 ? concat(", and so is the checkpoint to resume (step ", step_, ")")
                  : "; there is no checkpoint to resume: it would start from step 0",
      "; nothing was trained or written"));
  return base_result();
}

TrainResult Run::base_result() const {
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
  fresh_run_dir_.path.clear();  // training starts: the run dir stays, whatever happens
  tracer_.start(comm_);
  // The first stop-signal check after one step; it measures the pace for the next ones.
  next_stop_poll_ = step_ + 1;
  last_poll_step_ = step_;
  last_poll_s_ = now_seconds();
  last_checkpoint_clock_s_ = last_poll_s_;
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
      // At the last step, --stop-at-step is simply the end of the run.
      const bool stop_here = cfg_.stop_at_step > 0 && step_ == cfg_.stop_at_step && step_ < total_steps_;
      if (!stop_here && step_ < total_steps_ && step_ >= next_stop_poll_) stop_signal_ = agreed_stop_signal();
      const bool stopping = stop_here || stop_signal_ != 0;
      // Position after this step: (epoch, s + 1), or the start of the next epoch.
      const bool epoch_done = s + 1 == steps_per_epoch_;
      // A resumed run also ends with a checkpoint, so that resuming it again finds it done
      // instead of training its tail twice; so does a run that wrote one on the way (its
      // newest checkpoint would otherwise be an earlier step's).
      const bool last = step_ == total_steps_;
      const bool asked = (periodic && (step_ % cfg_.checkpoint_every == 0 || last)) ||
                         ((stopping || (last && !cfg_.resume.empty())) && !checkpoint_dir_.empty());
      const bool timed = checkpoint_due_ || (last && wrote_checkpoint_);
      checkpoint_due_ = false;
      if (asked)
        save_checkpoint(epoch_done ? epoch + 1 : epoch, epoch_done ? 0 : s + 1);
      else if (timed)
        save_timed_checkpoint(epoch_done ? epoch + 1 : epoch, epoch_done ? 0 : s + 1);
      if (stopping) {
        stopped = true;
        ++s;
        break;
      }
    }
    if (s == steps_per_epoch_ || step_ == total_steps_) end_epoch(epoch, epoch_watch.elapsed_s());
  }
  progress_->finish();
  TrainResult result = base_result();
  result.skipped_steps = skipped_;
  result.stopped_early = stopped;
  result.stop_signal = stop_signal_;
  result.last_loss = last_loss_;
  result.final_eval = last_eval_;
  finish(&result);
  return result;
}

void Run::finish(TrainResult* result) {
  result->wall_s = wall_.elapsed_s();
  const bool classify = model_->loss_kind() == LossKind::softmax_xent;
  if (result->stop_signal != 0) {
    const char* name = stop_signal_name(result->stop_signal);
    write_metrics({{"type", "stop"}, {"step", step_}, {"reason", "signal"}, {"signal", name}});
    metrics_.flush();
    progress_->print_line(concat(
        "stopped by ", name, " after step ", step_, " of ", total_steps_,
        checkpoint_dir_.empty() ? std::string("; no checkpoint written (no --checkpoint-dir, --run-dir none)")
                                : concat("; the checkpoint is in ", checkpoint_dir_, "; ", resume_hint())));
  } else if (result->stopped_early) {
    write_metrics({{"type", "stop"}, {"step", step_}, {"reason", "--stop-at-step"}});
    metrics_.flush();
    progress_->print_line(concat("stopped after step ", step_, " of ", total_steps_,
                                 " as asked (--stop-at-step); the checkpoint is in ", checkpoint_dir_, "; ",
                                 resume_hint()));
  } else {
    // The run is complete: its model first (a later --resume auto --export copies it when
    // there is no checkpoint), then the record by which "--resume auto" finds it complete.
    if (!run_dir_.empty()) export_params(run_dir_ + "/" + kRunDirModel, "--run-dir", host_params(), step_);
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
  if (!cfg_.export_path.empty() && !result->stopped_early)
    export_params(cfg_.export_path, "--export", host_params(), step_);
  result->params = params_.to_host(ctx_);
}

TrainResult train(const Config& cfg, Communicator& comm, const std::string& resolved_config_json,
                  const TrainHooks& hooks) {
  validate_config(cfg, comm.world_size());
  Run run(cfg, comm, resolved_config_json, hooks);
  return cfg.dry_run ? run.dry_run() : run.run();
}

}  // namespace dp
