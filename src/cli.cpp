#include "src/cli.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <type_traits>
#include <utility>

#include "src/cli_errors.h"
#include "src/config_reader.h"

namespace dp {
namespace {

// "--batch-size,-b" -> "batch-size": the config-file key CLI11 uses.
std::string config_key(const std::string& flags) {
  const std::string first = flags.substr(0, flags.find(','));
  return first.substr(first.find_first_not_of('-'));
}

// A list flag given twice takes its last occurrence, as a scalar flag takes its last value
// (CLI11 appends: "--hidden 32,16 --hidden 64" would be 32,16,64).
void keep_last_list_occurrences(CLI::App& app, int argc, char** argv) {
  std::map<const CLI::Option*, std::pair<int, const ListOccurrence*>> seen;  // count, last
  const std::vector<ListOccurrence> all = list_occurrences(app, argc, argv);
  for (const ListOccurrence& occurrence : all) {
    auto& [count, last] = seen[occurrence.option];
    ++count;
    last = &occurrence;
  }
  for (const auto& [option, count_last] : seen) {
    if (count_last.first < 2) continue;
    CLI::Option* opt = app.get_option(count_last.second->name);
    opt->clear();
    for (const std::string& v : count_last.second->values) opt->add_result(v);
    opt->run_callback();  // converts into the Config field again
  }
}

}  // namespace

template <typename T>
CLI::Option* OptionTable::add(const std::string& flags, T& field, const std::string& help) {
  fields_.emplace_back(config_key(flags), [&field] {
    // JSON has no infinity or NaN (it writes null, which no flag reads back): TOML's and
    // CLI11's spelling as a string ("--comm-timeout inf" -> "inf").
    if constexpr (std::is_floating_point_v<T>)
      if (!std::isfinite(field))
        return nlohmann::ordered_json(std::isnan(field) ? "nan" : field > 0 ? "inf" : "-inf");
    return nlohmann::ordered_json(field);
  });
  CLI::Option* opt = app_.add_option(flags, field, help)->capture_default_str()->group(group_);
  // A scalar given twice takes the last value, as scripts that append an override expect
  // (`... --steps 3 --steps 5` trains 5 steps). A list (--hidden) takes its last occurrence
  // (keep_last_list_occurrences).
  if constexpr (!CLI::detail::is_mutable_container<T>::value)
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  return opt;
}

CLI::Option* OptionTable::add_flag(const std::string& flags, bool& field, const std::string& help) {
  fields_.emplace_back(config_key(flags), [&field] { return nlohmann::ordered_json(field); });
  return app_.add_flag(flags, field, help)->group(group_);
}

nlohmann::ordered_json OptionTable::to_json() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [key, get] : fields_) out[key] = get();
  return out;
}

std::string config_file_text(const nlohmann::ordered_json& table) {
  std::string out;
  for (const auto& [key, v] : table.items()) {
    if (key == "dry-run") continue;
    // An empty list (linreg's hidden layers) has no TOML spelling CLI11 reads back as empty.
    if (v.is_array() && v.empty()) {
      out += "# " + key + " = (none)\n";
      continue;
    }
    // JSON scalars and flat arrays are valid TOML values.
    out += key + " = " + v.dump() + "\n";
  }
  return out;
}

OptionTable::OptionTable(CLI::App& app, Config& c) : app_(app) {
  group_ = "Model";
  add("--model", c.model,
      "mlp (ReLU hidden layers, --hidden), mlp-large (hidden 4096,4096,4096: ~37M parameters, for "
      "communication studies) or linreg (a single linear layer)")
      ->check(CLI::IsMember({"mlp", "mlp-large", "linreg"}));
  add("--hidden", c.hidden, "hidden layer widths of the mlp, comma-separated")->delimiter(',');

  group_ = "Data";
  add("--data", c.data.data,
      "fashion-mnist | synthetic-linreg | idx:IMAGES,LABELS | npy:FEATURES,TARGETS "
      "(integer targets train a classifier, float targets a regression)");
  // Clusters keep data sets elsewhere: DPTRAIN_DATA_DIR changes the default (and --help shows it).
  if (const char* env = std::getenv("DPTRAIN_DATA_DIR"); env && *env) c.data.data_dir = env;
  add("--data-dir", c.data.data_dir,
      "directory of the fashion-mnist IDX files (default: $DPTRAIN_DATA_DIR when set, else the Debian "
      "package's directory)");
  add("--test-data", c.data.test_data,
      "evaluation split: empty = the data set's own test split, none, idx:... or npy:...");
  add("--num-classes", c.data.num_classes, "classes of a classifier (0 = infer from the labels)");
  add("--batch-size,-b", c.batch_size, "GLOBAL batch size, split evenly over the ranks");
  add_flag("--drop-last", c.drop_last,
           "drop the samples that do not divide evenly over the ranks (default: wrap around)");
  add("--eval-batch-size", c.eval_batch_size, "rows per evaluation batch on each rank");

  group_ = "Optimization";
  add("--epochs,-e", c.epochs, "passes over the training data");
  add("--steps", c.steps, "train exactly this many steps instead (0 = use --epochs)");
  add("--lr", c.lr, "peak learning rate");
  add("--lr-schedule", c.lr_schedule, "constant or cosine (decays to --min-lr at the last step)")
      ->check(CLI::IsMember({"constant", "cosine"}));
  add("--warmup-steps", c.warmup_steps, "linear warm-up steps from lr/warmup to lr");
  add("--min-lr", c.min_lr, "final learning rate of the cosine schedule");
  add("--optimizer", c.optimizer, "adamw (decoupled weight decay) or adam (L2 weight decay)")
      ->check(CLI::IsMember({"adam", "adamw"}));
  add("--weight-decay", c.weight_decay, "weight decay coefficient");
  add("--beta1", c.beta1, "Adam beta1");
  add("--beta2", c.beta2, "Adam beta2");
  add("--eps", c.eps, "Adam epsilon");
  add("--seed", c.seed, "seed of the initialisation and of the data order (same on every rank)")
      ->check(CLI::Validator(
          [](std::string& v) {
            // CLI11 would wrap -1 to 2^64 - 1 in an unsigned field.
            return v.find('-') == std::string::npos ? std::string() : "must be an integer >= 0, got " + v;
          },
          ""))
      ->type_name("INT>=0");

  group_ = "Run";
  add("--device", c.device,
      "compute backend: cpu, cuda (one GPU per rank: local rank % GPUs on the node) or auto (cuda when a GPU "
      "is visible)");
  add("--comm", c.comm,
      "gradient all-reduce: auto (GPU ranks: none at 1 rank, nccl when every rank has a GPU of its own, "
      "else mpi), nccl, or mpi (CPU ranks; GPU gradients staged through host memory, e.g. several ranks on "
      "one GPU)");
  add("--gpu-data", c.gpu_data,
      "where a GPU rank keeps the training data: resident (the whole split on the GPU, batches gathered "
      "there), stream (batches gathered on the host into pinned memory, copied each step) or auto "
      "(resident when the split fits in a quarter of the free GPU memory)");
  add_flag("--tf32", c.tf32,
           "allow TF32 tensor cores in cuBLAS GEMMs (faster; ~1e-3 relative error, so CPU and GPU no longer "
           "agree to float32 tolerance)");
  add("--run-dir", c.run_dir,
      "where metrics.jsonl and config.json go (default runs/<timestamp>; none = no files)");
  add("--progress", c.progress,
      "auto (bar on a terminal, else lines), bar, lines (one every --log-every steps, and the epoch "
      "summaries) or none (no progress or epoch lines: only notes, warnings, errors and the final line)")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  add("--log-every", c.log_every,
      "steps between progress lines when not on a terminal (and between epoch lines when epochs are "
      "shorter; metrics.jsonl keeps every epoch)");
  add("--check-every", c.check_every,
      "steps between checks that all replicas hold identical parameters (0 = only at the end)");
  add("--threads", c.threads,
      "BLAS threads per rank (0 = OPENBLAS_NUM_THREADS or OMP_NUM_THREADS if set, else the rank's share of "
      "this "
      "node's cores)");
  add("--export", c.export_path,
      "write the trained parameters to this safetensors file at the end (its directory is created; checked "
      "at the start)");
  add_flag("--print-topology", c.print_topology,
           "print where every rank runs (host, local rank, cores it may use, device, BLAS threads) at start");
  add_flag("--dry-run", c.dry_run,
           "check the flags, the data, the model, the device and a --resume checkpoint on these ranks, print "
           "the plan, and stop: nothing is trained or written (exit 0 when all is well)");

  group_ = "Communication";
  add("--bucket-mb", c.bucket_mb,
      "gradient bucket size in MB: each bucket's all-reduce starts as soon as backward has produced it (the "
      "first bucket is at most 1 MB); 0 = one all-reduce after the whole backward pass");
  add("--grad-accum", c.grad_accum,
      "micro-batches of --batch-size per optimizer step (the effective batch is their sum); only the last "
      "one communicates");
  add("--trace", c.trace_path,
      "write a Chrome/Perfetto timeline (trace.json) of the first --trace-steps steps");
  add("--trace-steps", c.trace_steps, "steps recorded by --trace");

  group_ = "Checkpoints and failures";
  add("--checkpoint-every", c.checkpoint_every,
      "steps between checkpoints (0 = none but at a stop signal, --stop-at-step, the end of a resumed run "
      "and --checkpoint-minutes; with N > 0 the last step gets one too)");
  add("--checkpoint-minutes", c.checkpoint_minutes,
      "also write a checkpoint once this many minutes of training have passed since the last one, so a "
      "crash loses at most that much (0 = none; none either without a place for checkpoints: --run-dir "
      "none and no --checkpoint-dir); a run that wrote one ends with one");
  add("--checkpoint-dir", c.checkpoint_dir, "where checkpoints go (default RUN_DIR/checkpoints)");
  add("--keep-checkpoints", c.keep_checkpoints, "how many of the newest checkpoints to keep");
  add("--resume", c.resume,
      "auto (the newest valid checkpoint in --checkpoint-dir, if any) or a checkpoint file; the settings "
      "must "
      "match the run that wrote it, the number of ranks may differ");
  add("--stop-at-step", c.stop_at_step,
      "write a checkpoint and stop after this step (0 = run to the end); for time-limited jobs");
  add("--comm-timeout", c.comm_timeout_s,
      "seconds a collective may take before the job is ended with an error naming rank, host and step (0 = "
      "wait "
      "forever)");
  add("--on-nonfinite", c.on_nonfinite,
      "stop (default) or skip when the loss or a gradient is NaN/Inf (the decision is the same on every "
      "rank)")
      ->check(CLI::IsMember({"stop", "skip"}));
  add("--inject-fault", c.inject_fault,
      "debug: KIND@STEP:RANK[,...] with KIND hang, crash, nan, ckpt-crash, ckpt-slow (rank 0's checkpoint "
      "write 4 s slower) or slow (0.5 s late: a straggler); tests the failure handling");
}

int parse_command_line(int argc, char** argv, bool print, CLI::App& app, Config& cfg) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    if (print) std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    if (print) std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    if (print) std::printf("%s\n", e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    if (print)
      std::fprintf(stderr, "dptrain: error: %s (see --help)\n",
                   describe_parse_error(e, app, argc, argv).c_str());
    return 2;
  }
  keep_last_list_occurrences(app, argc, argv);
  // Values travel into JSON (config.json, checkpoints, metrics), which holds UTF-8 only: a
  // path that is not would end the run later, at its first record.
  for (const CLI::Option* opt : app.get_options())
    for (const std::string& v : opt->results())
      if (!is_valid_utf8(v)) {
        if (print)
          std::fprintf(stderr, "dptrain: error: %s: the value is not UTF-8 text (see --help)\n",
                       opt->get_name().c_str());
        return 2;
      }
  // CLI11 drops the empty entries of a list ("--hidden 64,,32" would train 64,32).
  if (const std::string empty = empty_list_entry(app, argc, argv); !empty.empty()) {
    if (print) std::fprintf(stderr, "dptrain: error: %s (see --help)\n", empty.c_str());
    return 2;
  }
  // mlp-large: the large preset, unless the user gave the widths.
  if (cfg.model == "mlp-large" && app.get_option("--hidden")->count() == 0) cfg.hidden = {4096, 4096, 4096};
  // linreg has no hidden layers: drop the mlp default unless the user asked for layers.
  if (cfg.model == "linreg") {
    if (app.get_option("--hidden")->count() > 0) {
      if (print) std::fprintf(stderr, "dptrain: error: --hidden applies to --model mlp only (see --help)\n");
      return 2;
    }
    cfg.hidden.clear();
  }
  return -1;
}

}  // namespace dp
