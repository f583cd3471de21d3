// The training run, part 2: its files and state. The run directory (config.json,
// resume.toml, metrics.jsonl), checkpoints, --resume (including a run found complete) and
// --export. The class is in run.h; set-up and the step loop in trainer.cpp.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/cli.h"
#include "src/data/file_bytes.h"
#include "src/data/sources.h"
#include "src/train/checkpoint.h"
#include "src/train/run.h"
#include "src/train/safetensors.h"
#include "src/util/check.h"
#include "src/util/fs.h"
#include "src/util/timer.h"

namespace dp {
namespace {

using json = nlohmann::json;

// The ckpt-crash fault: die halfway through writing a checkpoint.
void crash_mid_checkpoint() {
  std::fprintf(stderr, "dptrain: %s injected fault: crash while writing a checkpoint\n",
               identity_prefix().c_str());
  die_now();
}

}  // namespace

void Run::setup_files(const std::string& resolved_config_json) {
  bool created_default = false;  // rank 0 made the default runs/<time> just now
  if (cfg_.run_dir != "none") {
    // Rank 0 decides (a timestamped default must be the same name everywhere).
    agree_on_user_errors(comm_, [&] {
      if (!root_) return;
      created_default = cfg_.run_dir.empty() && !cfg_.dry_run;
      run_dir_ = cfg_.run_dir.empty() ? default_run_dir(/*create=*/created_default) : cfg_.run_dir;
    });
    DP_CHECK_OK(broadcast_sized(comm_, &run_dir_, 0));
    if (created_default) fresh_run_dir_.path = run_dir_;  // a refusal from here takes it away
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
    // A new run (no --resume) never writes over another one's records or beside its
    // checkpoints (a later --resume auto would take the newest of either run).
    if (cfg_.resume.empty()) refuse_used_dirs();
    if (!run_dir_.empty() && !cfg_.dry_run) {
      const bool created = created_default || !path_exists(run_dir_);
      make_dirs(run_dir_, "--run-dir");
      // From here a call that ends before its first step takes this dir away again.
      if (created) fresh_run_dir_.path = run_dir_;
    }
    check_outputs();  // before anything is written: a refusal leaves no half-made run dir
    if (!run_dir_.empty() && !cfg_.dry_run) {
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
      // Paths absolute: the file may be used from another directory (a batch job's).
      r["run-dir"] = absolute_path(run_dir_);
      for (const char* key : {"checkpoint-dir", "data-dir", "export", "trace"})
        if (r.contains(key) && r[key].is_string()) r[key] = absolute_path(r[key].get<std::string>());
      for (const char* key : {"data", "test-data"})
        if (r.contains(key) && r[key].is_string()) r[key] = data_spec_absolute(r[key].get<std::string>());
      r["resume"] = "auto";
      r["stop-at-step"] = 0;
      r["inject-fault"] = "";
      resume_text_ =
          "# Continues this run from its newest checkpoint (from step 0 without one; when the "
          "run is complete it says so):\n#   dptrain --config " +
          absolute_path(run_dir_) + "/resume.toml\n" + config_file_text(r);
      // A resumed run's config.json is replaced only once its checkpoint has been accepted:
      // a refused --resume leaves the run dir describing the run that is in it.
      if (cfg_.resume.empty()) write_config_json();
      // On --resume the old records stay until resume() knows the step it continues after.
      metrics_.open(run_dir_ + "/metrics.jsonl", /*keep_existing=*/!cfg_.resume.empty());
    }
  });
}

void Run::check_outputs() const {
  // Find out now, not after hours of training, that the outputs cannot be written. A dry
  // run creates nothing: there, what would be created must be creatable.
  const bool writes_checkpoints = cfg_.checkpoint_every > 0 || cfg_.stop_at_step > 0;
  if (writes_checkpoints && !cfg_.dry_run) ensure_writable_dir(checkpoint_dir_, "--checkpoint-dir");
  if (writes_checkpoints && cfg_.dry_run) ensure_dir_creatable(checkpoint_dir_, "--checkpoint-dir");
  if (cfg_.dry_run && !run_dir_.empty()) ensure_dir_creatable(run_dir_, "--run-dir");
  // --export/--trace FILE: a missing directory is created (a dry run checks that it could be).
  for (const auto& [file, flag] : {std::pair<const std::string&, const char*>{cfg_.export_path, "--export"},
                                   std::pair<const std::string&, const char*>{cfg_.trace_path, "--trace"}}) {
    if (file.empty()) continue;
    const bool create_dir = !path_exists(parent_dir(file));
    if (create_dir && !cfg_.dry_run) make_dirs(parent_dir(file), flag);
    ensure_file_writable(file, flag, /*parent_may_be_created=*/create_dir && cfg_.dry_run);
  }
}

void Run::refuse_used_dirs() const {
  if (!run_dir_.empty()) {
    const std::string metrics = run_dir_ + "/metrics.jsonl";
    std::ifstream in(metrics);
    std::string line;
    bool records = false;
    while (!records && std::getline(in, line)) records = !line.empty();
    DP_USER_CHECK(!records, "--run-dir ", run_dir_, " already holds a run (", metrics,
                  "): continue it with --resume auto (dptrain --config ", run_dir_,
                  "/resume.toml), or give the new run another --run-dir (delete the old one to start over)");
  }
  if (checkpoint_dir_.empty()) return;
  const std::vector<std::string> old = list_checkpoints(checkpoint_dir_);
  DP_USER_CHECK(old.empty(), "--checkpoint-dir ", checkpoint_dir_, " already holds ", old.size(),
                " checkpoint(s) of a run (newest ", old.front(),
                "): continue it with --resume auto and this --checkpoint-dir, or give the new run another "
                "one (delete the old one to start over)");
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

// The settings that must be equal for a resumed run to continue the same run exactly.
// The world size is not among them: the state is replicated and the data order depends
// on the global batch only.
json Run::resume_config() const {
  const Dataset& train = data_.train;
  return json{{"data", data_spec_absolute(cfg_.data.data)},
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
  CollectiveLabel label(comm_, "reading the checkpoint", checkpoint_nbytes());
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
        // Renamed out of the way (not deleted): otherwise the rotation would keep this newest
        // but useless file and delete the good ones the run continues from.
        const std::string aside = candidate + ".corrupt";
        const bool moved = !cfg_.dry_run && std::rename(candidate.c_str(), aside.c_str()) == 0;
        std::printf("warning: skipping checkpoint %s%s\n", e.what(),
                    moved ? concat(" (renamed to ", aside, ")").c_str() : "");
        bytes.clear();
      }
    }
  });
  label.end();
  DP_CHECK_OK(broadcast_sized(comm_, &path, 0));
  if (path.empty()) {
    // A run that finished without a checkpoint to show for it (--checkpoint-every 0) is
    // complete, not interrupted: its metrics.jsonl ends with a "done" record of its last
    // step and its settings (rank 0 reads it; every rank decides on the same text).
    // Read from the path, so that a dry run (which opens no metrics file) sees it too.
    const std::string where = run_dir_ + "/metrics.jsonl";
    std::string done_text;
    if (root_ && !run_dir_.empty()) done_text = last_metrics_record(where, "done").dump();
    DP_CHECK_OK(broadcast_sized(comm_, &done_text, 0));
    const json done = done_text.empty() ? json() : json::parse(done_text);
    if (done.is_object()) {
      // A finished run is not extended (the schedule depends on its length) nor continued
      // with other settings: every difference, the total steps included, is refused.
      agree_on_user_errors(comm_, [&] {
        const json settings = done.contains("settings") ? done["settings"] : json::object();
        const std::string diffs = settings_diff(settings, resume_config(), "the finished run");
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
    // success. A checkpoint named by hand that has no steps left is a mistake, unless it is
    // named to --export its parameters.
    DP_USER_CHECK(ck.step < total_steps_ || cfg_.resume == "auto" || !cfg_.export_path.empty(), path,
                  ": checkpoint is at step ", ck.step, ", the run ends at step ", total_steps_,
                  " (nothing left to train; with --export FILE its parameters are exported)");
    // A stop at or before the step a run resumes at would never come: it would run to the end.
    DP_USER_CHECK(ck.step >= total_steps_ || cfg_.stop_at_step == 0 || cfg_.stop_at_step > ck.step,
                  "--stop-at-step ", cfg_.stop_at_step, ": the run resumes at step ", ck.step, " (", path,
                  "), so a stop must come after it");
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

void Run::save_checkpoint(std::int64_t epoch, std::int64_t step_in_epoch) {
  const Stopwatch watch;
  std::string path;
  CollectiveLabel label(comm_, "checkpoint", checkpoint_nbytes());
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
    faults_.before_checkpoint_write(step_);
    const bool crash = faults_.active(Fault::Kind::ckpt_crash, step_);
    path =
        write_checkpoint(checkpoint_dir_, ck, cfg_.keep_checkpoints, crash ? &crash_mid_checkpoint : nullptr);
  });
  label.end();
  last_checkpoint_clock_s_ = now_seconds();
  last_poll_s_ += watch.elapsed_s();  // the pace of steps leaves the checkpoint out
  wrote_checkpoint_ = true;
  if (!root_) return;
  last_checkpoint_s_ = watch.elapsed_s();
  const double ms = 1e3 * last_checkpoint_s_;
  write_metrics({{"type", "checkpoint"}, {"step", step_}, {"path", path}, {"write_ms", ms}});
  metrics_.flush();
}

TrainResult Run::already_complete() {
  progress_->print_line(concat(cfg_.resume == "auto" ? "--resume auto" : "--resume",
                               ": the run is already complete (", complete_from_, "; ", total_steps_,
                               " steps in all): nothing to train"));
  // A run dir created for this call (a new default runs/<time> beside a --checkpoint-dir)
  // holds only an empty metrics.jsonl: fresh_run_dir_ removes it when the Run ends.
  TrainResult result = base_result();
  result.already_complete = true;
  result.steps = total_steps_;
  // The final parameters are there only when they came from the final checkpoint.
  if (step_ == total_steps_) result.params = params_.to_host(ctx_);
  if (cfg_.export_path.empty()) return result;
  if (step_ == total_steps_) {
    export_params(cfg_.export_path, "--export", host_params(), step_);
    return result;
  }
  // No final checkpoint: the model the run wrote into its run dir when it finished.
  std::vector<float> saved;
  const std::string model = run_dir_ + "/" + kRunDirModel;
  CollectiveLabel label(comm_, "reading the model", model_file_nbytes());
  agree_on_user_errors(comm_, [&] {
    DP_USER_CHECK(!run_dir_.empty() && is_regular_file(model), "--export ", cfg_.export_path,
                  ": the run left no checkpoint and no ", run_dir_.empty() ? "RUN_DIR" : run_dir_, "/",
                  kRunDirModel, ", so its trained parameters are gone (nothing to export)");
    if (root_) saved = read_model_file(model);
  });
  label.end();
  export_params(cfg_.export_path, "--export", saved.data(), total_steps_);
  return result;
}

std::vector<float> Run::read_model_file(const std::string& path) const {
  const ParamLayout& layout = model_->layout();
  const std::vector<NamedTensor> tensors = read_safetensors(path);
  std::vector<float> values(static_cast<std::size_t>(layout.buffer_count()), 0.0f);
  DP_USER_CHECK(tensors.size() == layout.tensors().size(), path, ": holds ", tensors.size(),
                " tensors, this run's model has ", layout.tensors().size());
  for (const NamedTensor& t : tensors) {
    const TensorView* view = nullptr;
    for (const TensorView& v : layout.tensors())
      if (v.name == t.name) view = &v;
    DP_USER_CHECK(view != nullptr && view->shape == t.shape, path, ": tensor ", t.name,
                  " is not one of this run's model (another model's file?)");
    std::copy(t.data.begin(), t.data.end(), values.begin() + view->offset);
  }
  return values;
}

// How to continue: RUN_DIR/resume.toml holds every flag of this run plus --resume auto.
std::string Run::resume_hint() const {
  if (!run_dir_.empty())
    return concat("continue: dptrain --config ", run_dir_,
                  "/resume.toml (under any launcher and number of ranks)");
  return "continue: the same command with --resume auto";
}

void Run::export_params(const std::string& path, const char* flag, const float* values, std::int64_t steps) {
  const bool classify = model_->loss_kind() == LossKind::softmax_xent;
  CollectiveLabel label(comm_, "writing the model", model_file_nbytes());
  agree_on_user_errors(comm_, [&] {
    if (!root_) return;
    std::string hidden_text;
    for (auto h : cfg_.hidden) hidden_text += (hidden_text.empty() ? "" : ",") + std::to_string(h);
    write_safetensors(path, model_->layout(), values,
                      {{"format", "pt"},
                       {"producer", "dptrain " DPTRAIN_VERSION},
                       {"model", cfg_.model},
                       {"hidden", hidden_text},
                       {"loss", classify ? "softmax_cross_entropy" : "mse"},
                       {"steps", std::to_string(steps)}},
                      flag);
  });
  label.end();
  if (std::string(flag) == "--export")
    progress_->print_line(concat("exported ", model_->param_count(), " parameters to ", path));
}

}  // namespace dp
