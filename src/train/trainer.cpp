#include "src/train/trainer.h"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "kernels/backend.h"
#include "src/data/batch.h"
#include "src/data/sampler.h"
#include "src/model/mlp.h"
#include "src/optim/adam.h"
#include "src/optim/lr_schedule.h"
#include "src/train/agree.h"
#include "src/train/progress.h"
#include "src/train/replica_check.h"
#include "src/train/safetensors.h"
#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp {
namespace {

using json = nlohmann::json;

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

void make_dirs(const std::string& path) {
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST)
      throw UserError(concat("--run-dir: cannot create ", partial, ": ", std::strerror(errno)));
  }
  struct stat st;
  DP_USER_CHECK(::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "--run-dir: ", path,
                " is not a directory");
}

// runs/<YYYYmmdd-HHMMSS>[-N]: decided by rank 0 and shared, so every rank agrees.
std::string default_run_dir() {
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string dir = std::string("runs/") + stamp;
  struct stat st;
  for (int i = 1; ::stat(dir.c_str(), &st) == 0; ++i) dir = concat("runs/", stamp, "-", i);
  return dir;
}

std::string broadcast_string(Communicator& comm, std::string s) {
  std::uint64_t n = s.size();
  DP_CHECK_OK(comm.broadcast(&n, sizeof n, 0));
  s.resize(n);
  DP_CHECK_OK(comm.broadcast(s.data(), n, 0));
  return s;
}

// Each rank evaluates indices r, r+W, r+2W, ... of the test split (no padding, so every
// sample counts once); the sums are all-reduced.
EvalResult evaluate(const kernels::Context& ctx, Communicator& comm, Mlp& model, const float* params,
                    const Dataset& test, std::int64_t eval_rows, Batch* batch,
                    std::vector<std::int64_t>* idx) {
  const std::int64_t w = comm.world_size(), r = comm.rank();
  double sums[3] = {0.0, 0.0, 0.0};  // loss sum, correct, rows
  for (std::int64_t start = r; start < test.count; start += w * eval_rows) {
    std::int64_t rows = 0;
    for (std::int64_t i = start; i < test.count && rows < eval_rows; i += w)
      (*idx)[static_cast<std::size_t>(rows++)] = i;
    gather_batch(test, idx->data(), rows, batch);
    const EvalSums s = model.evaluate(ctx, params, *batch);
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

}  // namespace

CpuShare cpu_share(int local_size) {
  CpuShare share;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  share.allowed = cores;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) share.allowed = CPU_COUNT(&set);
  share.per_rank = std::max(1, cores / std::max(1, local_size));
  share.threads = std::max(1, std::min(share.allowed, share.per_rank));
  return share;
}

void validate_config(const Config& c, int world) {
  DP_USER_CHECK(c.model == "mlp" || c.model == "linreg", "--model: unknown model '", c.model,
                "' (expected mlp or linreg)");
  DP_USER_CHECK(c.device == "cpu", "--device: '", c.device,
                "' is not available in this build (only cpu; the CUDA backend is not built yet)");
  DP_USER_CHECK(c.batch_size >= 1, "--batch-size must be >= 1, got ", c.batch_size);
  DP_USER_CHECK(c.batch_size >= world, "--batch-size ", c.batch_size, " is smaller than the ", world,
                " ranks (each rank needs at least one sample)");
  DP_USER_CHECK(c.batch_size % world == 0, "--batch-size ", c.batch_size,
                " is the GLOBAL batch and must be divisible by the number of ranks (", world, ")");
  DP_USER_CHECK(c.lr > 0 && std::isfinite(c.lr), "--lr must be > 0, got ", c.lr);
  DP_USER_CHECK(c.epochs >= 1 || c.steps >= 1, "--epochs or --steps must be >= 1");
  DP_USER_CHECK(c.steps >= 0, "--steps must be >= 0, got ", c.steps);
  DP_USER_CHECK(c.eval_batch_size >= 1, "--eval-batch-size must be >= 1");
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
  DP_USER_CHECK(c.model == "mlp" || c.hidden.empty(), "--hidden applies to --model mlp only");
}

TrainResult train(const Config& cfg, Communicator& comm, const std::string& resolved_config_json,
                  const TrainHooks& hooks) {
  const Stopwatch wall;
  const int world = comm.world_size();
  const bool root = comm.rank() == 0;
  validate_config(cfg, world);

  const CpuShare share = cpu_share(comm.info().local_size);
  const int threads = cfg.threads > 0 ? cfg.threads : share.threads;
  kernels::set_cpu_threads(threads);
  kernels::Context ctx;  // CPU backend

  // ---- data (every rank loads it; a failure on any rank stops all of them alike) ----
  DataSplits data;
  agree_on_user_errors(comm, [&] { data = load_data(cfg.data); });
  const Dataset& train_set = data.train;

  // ---- run directory, config.json (rank 0) ----
  TrainResult result;
  std::string run_dir;
  std::ofstream metrics;  // rank 0 only
  if (cfg.run_dir != "none") {
    run_dir = broadcast_string(comm, root ? (cfg.run_dir.empty() ? default_run_dir() : cfg.run_dir) : "");
    agree_on_user_errors(comm, [&] {
      if (!root) return;
      make_dirs(run_dir);
      std::ofstream out(run_dir + "/config.json");
      DP_USER_CHECK(out.good(), "--run-dir: cannot write ", run_dir, "/config.json");
      json c = resolved_config_json.empty() ? json::object() : json::parse(resolved_config_json);
      c["world_size"] = world;
      c["threads_per_rank"] = threads;
      out << c.dump(2) << "\n";
      DP_USER_CHECK(out.good(), "--run-dir: writing ", run_dir, "/config.json failed");
      metrics.open(run_dir + "/metrics.jsonl");
      DP_USER_CHECK(metrics.is_open(), "--run-dir: cannot create ", run_dir, "/metrics.jsonl");
    });
  }
  result.run_dir = run_dir;

  // ---- model, replicated state ----
  const std::int64_t local_batch = cfg.batch_size / world;
  const LossKind loss_kind = train_set.is_classification() ? LossKind::softmax_xent : LossKind::mse;
  const std::vector<std::int64_t>& hidden = cfg.hidden;  // empty for linreg (validated)
  Mlp model(train_set.features, hidden, train_set.output_dim(), loss_kind,
            std::max(local_batch, cfg.eval_batch_size));
  const std::int64_t nparams = model.param_count();
  std::vector<float> params(static_cast<std::size_t>(nparams));
  // grads has one extra slot: the local loss rides along in the same all-reduce.
  std::vector<float> grads(static_cast<std::size_t>(nparams) + 1);
  model.init(params.data(), cfg.seed);
  DP_CHECK_OK(comm.broadcast(params.data(), params.size() * sizeof(float), 0));

  kernels::AdamHyper hyper;
  hyper.beta1 = static_cast<float>(cfg.beta1);
  hyper.beta2 = static_cast<float>(cfg.beta2);
  hyper.eps = static_cast<float>(cfg.eps);
  hyper.weight_decay = static_cast<float>(cfg.weight_decay);
  hyper.decay_mode =
      cfg.optimizer == "adam" ? kernels::WeightDecayMode::l2 : kernels::WeightDecayMode::decoupled;
  AdamOptimizer adam(nparams, hyper);

  // ---- schedule ----
  DistributedSampler sampler(train_set.count, comm.rank(), world, cfg.seed, /*shuffle=*/true, cfg.drop_last);
  const std::int64_t steps_per_epoch = (sampler.shard_count() + local_batch - 1) / local_batch;
  const std::int64_t total_steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * steps_per_epoch;
  const std::int64_t epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  LrSchedule schedule;
  schedule.kind = cfg.lr_schedule == "cosine" ? LrScheduleKind::cosine : LrScheduleKind::constant;
  schedule.lr = cfg.lr;
  schedule.min_lr = cfg.min_lr;
  schedule.warmup_steps = cfg.warmup_steps;
  schedule.total_steps = total_steps;

  Progress progress(Progress::resolve(cfg.progress), root, total_steps, epochs, cfg.log_every);
  {
    std::string layers;
    for (auto w : model.widths()) layers += (layers.empty() ? "" : "-") + std::to_string(w);
    progress.print_line(
        concat("dptrain: ", world, " rank(s), ", threads, " BLAS thread(s) per rank, model ", cfg.model, " ",
               layers, " (", nparams, " parameters, ",
               loss_kind == LossKind::softmax_xent ? "softmax cross-entropy" : "mean squared error", "), ",
               train_set.count, " training samples, global batch ", cfg.batch_size, " (", local_batch,
               " per rank), ", total_steps, " steps in ", epochs, " epoch(s)",
               run_dir.empty() ? std::string() : ", run dir " + run_dir));
  }

  if (cfg.threads == 0 && share.allowed < share.per_rank)
    progress.print_line(
        concat("note: this rank may only run on ", share.allowed, " of the ", share.per_rank,
               " cores that are its share of the node (mpirun binds ranks to cores by default), so "
               "it uses ",
               threads,
               " BLAS thread(s); mpirun --bind-to none (or --map-by "
               "slot:PE=",
               share.per_rank, ") lets it use ", share.per_rank));
  Batch batch, eval_batch;
  reserve_batch(train_set, local_batch, &batch);
  std::vector<std::int64_t> eval_idx(static_cast<std::size_t>(cfg.eval_batch_size));
  if (data.has_test) reserve_batch(data.test, cfg.eval_batch_size, &eval_batch);

  Ema ema_step, ema_data, ema_compute, ema_comm, ema_optim;
  const float grad_scale = 1.0f / static_cast<float>(world);
  std::int64_t step = 0;
  for (std::int64_t epoch = 0; epoch < epochs && step < total_steps; ++epoch) {
    const Stopwatch epoch_watch;
    sampler.set_epoch(epoch);
    const auto& shard = sampler.shard();
    for (std::int64_t s = 0; s < steps_per_epoch && step < total_steps; ++s) {
      Stopwatch phase;
      const std::int64_t begin = s * local_batch;
      const std::int64_t rows = std::min(local_batch, sampler.shard_count() - begin);
      gather_batch(train_set, shard.data() + begin, rows, &batch);
      const double data_s = phase.lap_s();

      grads[static_cast<std::size_t>(nparams)] =
          static_cast<float>(model.forward_backward(ctx, params.data(), batch, grads.data()));
      const double compute_s = phase.lap_s();

      DP_CHECK_OK(comm.all_reduce(grads.data(), grads.size(), ReduceOp::sum));
      const double comm_s = phase.lap_s();
      const double loss = static_cast<double>(grads[static_cast<std::size_t>(nparams)]) / world;

      const double lr = schedule.at(step);
      adam.step(ctx, params.data(), grads.data(), lr, grad_scale);
      const double optim_s = phase.lap_s();
      ++step;
      if (hooks.after_step) hooks.after_step(step, params.data(), nparams);

      const double step_s = data_s + compute_s + comm_s + optim_s;
      const double global_rows = static_cast<double>(rows) * world;
      ema_step.add(step_s);
      ema_data.add(data_s);
      ema_compute.add(compute_s);
      ema_comm.add(comm_s);
      ema_optim.add(optim_s);
      result.last_loss = loss;
      if (metrics.is_open())
        metrics << json{{"type", "train"},
                        {"step", step},
                        {"epoch", epoch},
                        {"loss", loss},
                        {"lr", lr},
                        {"samples", static_cast<std::int64_t>(global_rows)},
                        {"samples_per_s", global_rows / step_s},
                        {"step_ms", 1e3 * step_s},
                        {"data_ms", 1e3 * data_s},
                        {"compute_ms", 1e3 * compute_s},
                        {"comm_ms", 1e3 * comm_s},
                        {"optim_ms", 1e3 * optim_s}}
                       .dump()
                << "\n";
      StepStats st;
      st.step = step;
      st.epoch = epoch;
      st.loss = loss;
      st.lr = lr;
      st.samples_per_s = static_cast<double>(cfg.batch_size) / ema_step.value;
      st.data_frac = ema_data.value / ema_step.value;
      st.compute_frac = ema_compute.value / ema_step.value;
      st.comm_frac = ema_comm.value / ema_step.value;
      st.optim_frac = ema_optim.value / ema_step.value;
      progress.update(st);

      if ((cfg.check_every > 0 && step % cfg.check_every == 0) || step == total_steps)
        check_replicas(comm, params.data(), nparams, step);
    }
    const double epoch_s = epoch_watch.elapsed_s();
    if (data.has_test) {
      result.final_eval =
          evaluate(ctx, comm, model, params.data(), data.test, cfg.eval_batch_size, &eval_batch, &eval_idx);
      const EvalResult& e = result.final_eval;
      if (metrics.is_open())
        metrics << json{{"type", "eval"},
                        {"step", step},
                        {"epoch", epoch},
                        {"test_loss", e.loss},
                        {"test_accuracy",
                         loss_kind == LossKind::softmax_xent ? json(e.accuracy) : json(nullptr)},
                        {"test_samples", e.samples},
                        {"epoch_s", epoch_s}}
                       .dump()
                << "\n";
      progress.epoch_line(
          concat("epoch ", epoch + 1, "/", epochs, ": train loss ", fixed(result.last_loss, 4),
                 ", test loss ", fixed(e.loss, 4),
                 loss_kind == LossKind::softmax_xent ? ", test accuracy " + fixed(e.accuracy, 4) : "", " (",
                 e.samples, " samples), ", fixed(epoch_s, 2), " s"));
    } else {
      progress.epoch_line(concat("epoch ", epoch + 1, "/", epochs, ": train loss ",
                                 fixed(result.last_loss, 4), ", ", fixed(epoch_s, 2), " s"));
    }
    if (metrics.is_open()) metrics.flush();
  }
  progress.finish();
  result.steps = step;
  result.epochs = epochs;
  result.wall_s = wall.elapsed_s();
  {
    const EvalResult& e = result.final_eval;
    std::string evaluation = "no test split";
    if (e.valid)
      evaluation = loss_kind == LossKind::softmax_xent ? concat("final test accuracy ", fixed(e.accuracy, 4),
                                                                ", test loss ", fixed(e.loss, 4))
                                                       : concat("final test loss (mse) ", fixed(e.loss, 6));
    progress.print_line(concat("done: ", step, " steps, ", epochs, " epoch(s) in ", fixed(result.wall_s, 1),
                               " s; ", evaluation, "; last train loss ", fixed(result.last_loss, 4)));
  }
  result.layout = model.layout();

  if (!cfg.export_path.empty()) {
    agree_on_user_errors(comm, [&] {
      if (!root) return;
      std::string hidden_text;
      for (auto h : hidden) hidden_text += (hidden_text.empty() ? "" : ",") + std::to_string(h);
      write_safetensors(cfg.export_path, model.layout(), params.data(),
                        {{"format", "pt"},
                         {"producer", "dptrain " DPTRAIN_VERSION},
                         {"model", cfg.model},
                         {"hidden", hidden_text},
                         {"loss", loss_kind == LossKind::softmax_xent ? "softmax_cross_entropy" : "mse"},
                         {"steps", std::to_string(step)}});
    });
    progress.print_line(concat("exported ", nparams, " parameters to ", cfg.export_path));
  }
  result.params = std::move(params);
  return result;
}

}  // namespace dp
