// The training run: one `Run` per call of train() (src/train/trainer.h). Internal to
// src/train. Its methods live in two rooms: trainer.cpp (set-up: threads, device, data,
// model; the step loop, evaluation, the end of the run) and run_state.cpp (the run
// directory, config.json and resume.toml, checkpoints, resume, export).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "src/data/batch_loader.h"
#include "src/data/sampler.h"
#include "src/model/mlp.h"
#include "src/optim/adam.h"
#include "src/optim/lr_schedule.h"
#include "src/train/agree.h"
#include "src/train/faults.h"
#include "src/train/metrics_log.h"
#include "src/train/progress.h"
#include "src/train/reducer.h"
#include "src/train/trace.h"
#include "src/train/trainer.h"
#include "src/train/trainer_internal.h"
#include "src/train/watchdog.h"
#include "src/util/fs.h"
#include "src/util/timer.h"
#if defined(DPTRAIN_HAVE_CUDA)
#include "comm/nccl_comm.h"
#endif

namespace dp {

// Exponential moving average for the live throughput / time split.
struct Ema {
  double value = 0.0;
  bool primed = false;
  void add(double x, double alpha = 0.05) {
    value = primed ? (1 - alpha) * value + alpha * x : x;
    primed = true;
  }
};

// A finished run's parameters in its run dir (safetensors, as --export writes them).
inline constexpr const char* kRunDirModel = "model.safetensors";

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
    print_banner(resolved_config_json);
    resume();
    if (!cfg_.resume.empty() && !complete_) agree_on_user_errors(comm_, [&] { write_config_json(); });
  }

  TrainResult run();
  // --dry-run: everything was checked in the constructor; say so and train nothing.
  TrainResult dry_run();
  TrainResult already_complete();  // --resume auto found nothing left to train
  // Writes `values` (a host buffer in the model's layout, read on rank 0) as safetensors:
  // --export, or RUN_DIR/model.safetensors (flag "--run-dir", written without a line).
  // Rank 0 writes; every rank agrees on errors.
  void export_params(const std::string& path, const char* flag, const float* values, std::int64_t steps);

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
  // The bytes rank 0 reads or writes while the other ranks wait (see kSlowestFileBytesPerS):
  // a checkpoint holds the parameters and both Adam moments, a model file the parameters.
  std::uint64_t model_file_nbytes() const {
    return sizeof(float) * static_cast<std::uint64_t>(model_->param_count());
  }
  std::uint64_t checkpoint_nbytes() const { return 3 * model_file_nbytes(); }
  void poison_grads(std::int64_t begin, std::int64_t end);
  [[noreturn]] void comm_failed(const Status& s);
  void load_data();
  void setup_files(const std::string& resolved_config_json);
  void write_config_json();  // rank 0, RUN_DIR/config.json from config_text_ (none: nothing)
  // RUN_DIR/model.safetensors (a finished run's parameters) in this run's buffer layout;
  // a UserError when it holds another model.
  std::vector<float> read_model_file(const std::string& path) const;
  // Rank 0, a run without --resume: a UserError when the run dir holds another run's
  // records or the checkpoint dir its checkpoints.
  void refuse_used_dirs() const;
  // Rank 0: the checkpoint dir, --export and --trace can be written (created where needed;
  // a dry run only checks that they could be); a UserError naming the flag otherwise.
  void check_outputs() const;
  void build_model();
  // Rank 0: the resolved configuration as a --config file (once the set-up has accepted it,
  // so that a refused call prints only its error), then the start line.
  void print_banner(const std::string& resolved_config_json);
  nlohmann::json resume_config() const;
  void resume();
  // metrics.jsonl of the interrupted run: keep its records up to `step` (rank 0; agreed).
  void continue_metrics_after(std::int64_t step);
  // One step; returns false when the step was skipped (non-finite values, --on-nonfinite skip).
  bool train_step(std::int64_t epoch, std::int64_t step_in_epoch);
  void report_step(std::int64_t epoch, double loss, double lr, double grad_norm, std::int64_t rows,
                   const double phase_s[4], const StepCommTimes& comm);
  void end_epoch(std::int64_t epoch, double epoch_s);
  void save_checkpoint(std::int64_t epoch, std::int64_t step_in_epoch);
  // The stop signal any rank has received (max over ranks), or 0; collective. Also decides,
  // the same on every rank, whether a --checkpoint-minutes checkpoint is due (checkpoint_due_).
  int agreed_stop_signal();
  // --checkpoint-minutes has a time and a place for checkpoints (the same on every rank);
  // timed_checkpoints(): and this is no dry run, so they are written.
  bool timed_checkpoints_planned() const;
  bool timed_checkpoints() const;
  void save_timed_checkpoint(std::int64_t epoch, std::int64_t step_in_epoch);  // a failure warns
  // Under mpirun, a SIGTERM is followed by SIGKILL: a note when the checkpoint may not fit.
  std::string sigkill_note(double step_s) const;
  void finish(TrainResult* result);
  TrainResult base_result() const;  // steps, epochs, layout and directories as they are now
  std::string resume_hint() const;
  void write_metrics(const nlohmann::json& record) { metrics_.write(record); }

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
  // Rank 0: the run dir setup_files created for this call (it did not exist). A call that
  // ends before its first step (a refusal, a run found complete) takes it away again: the
  // config.json and resume.toml it wrote there, then the dir while it holds nothing but
  // empty files and directories. Once training starts it stays. Declared before metrics_,
  // so metrics.jsonl is closed when this goes.
  struct FreshRunDir {
    std::string path;
    FreshRunDir() = default;
    FreshRunDir(const FreshRunDir&) = delete;
    FreshRunDir& operator=(const FreshRunDir&) = delete;
    ~FreshRunDir() {
      if (path.empty()) return;
      for (const char* name : {"/config.json", "/resume.toml"}) (void)std::remove((path + name).c_str());
      (void)remove_dir_if_hollow(path);
    }
  } fresh_run_dir_;
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
  double last_checkpoint_s_ = 0.0;  // rank 0: how long the last checkpoint took to write
  // --checkpoint-minutes: the host clock at the start of training or the last checkpoint;
  // whether the last check found one due; whether this run has written any checkpoint.
  double last_checkpoint_clock_s_ = 0.0;
  bool checkpoint_due_ = false;
  bool wrote_checkpoint_ = false;
  double last_loss_ = 0.0;
  double epoch_loss_sum_ = 0.0, epoch_rows_ = 0.0;  // sum of loss x global rows this epoch
  EvalResult last_eval_;
  Ema ema_step_, ema_phase_[4];
};

}  // namespace dp
