// dptrain: data-parallel training on MPI ranks.
//   mpirun -n 4 dptrain --data fashion-mnist --epochs 10
// Exit codes: 0 success (or --help/--version), 2 bad input (a flag, a file), 3 the run
// failed (replicas diverged, a collective failed), 4 a collective timed out, 128 + N
// stopped by signal N (SIGTERM 143, SIGINT 130, SIGUSR1 138) after a checkpoint,
// 1 anything unexpected.
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include "comm/bootstrap.h"
#include "comm/mpi_comm.h"
#include "src/cli.h"
#include "src/cli_errors.h"
#include "src/train/agree.h"
#include "src/train/trainer.h"
#include "src/util/check.h"
#include "src/util/stop_signal.h"

namespace {

dp::Communicator* g_comm = nullptr;

[[noreturn]] void abort_job(int code) {
  if (g_comm) g_comm->abort_job(code);
  std::_Exit(code);
}

int finish(int code) {
  delete g_comm;
  g_comm = nullptr;
  dp::mpi_finalize();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // A write beyond the file-size limit should fail like a full disk (EFBIG, reported by
  // the writer) instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  // The stop handlers first: a launcher's SIGUSR1 or SIGTERM that arrives while MPI starts
  // (a sweep interrupted just after it launched a run) must not kill the rank by the
  // default action, without a checkpoint; it is honoured after the first step.
  dp::install_stop_handlers();
  if (dp::Status s = dp::mpi_init(&argc, &argv); !s.ok()) {
    std::fprintf(stderr, "dptrain: error: %s\n", s.message().c_str());
    return 1;
  }
  // Again: an MPI library that installs handlers of its own for these signals in MPI_Init
  // must not take them over.
  dp::install_stop_handlers();
  dp::MpiCommunicator* comm = nullptr;
  if (dp::Status s = dp::MpiCommunicator::create(MPI_COMM_WORLD, &comm); !s.ok()) {
    std::fprintf(stderr, "dptrain: error: %s\n", s.message().c_str());
    return finish(1);
  }
  g_comm = comm;
  dp::set_process_identity(comm->rank(), comm->info().host);
  dp::set_abort_handler(&abort_job);
  const bool root = comm->rank() == 0;

  dp::Config cfg;
  CLI::App app{
      "dptrain: data-parallel training on MPI ranks. Each rank holds a replica of the model and a "
      "shard of every global batch; gradients are averaged with an all-reduce, so N ranks train "
      "the same model as one rank would.",
      "dptrain"};
  app.footer(
      "Examples:\n"
      "  mpirun -n 2 dptrain                                  # MLP on Fashion-MNIST\n"
      "  mpirun -n 4 dptrain --model linreg --data synthetic-linreg --lr 0.05\n"
      "  dptrain --config run.toml --lr 3e-4                  # flags override the file\n"
      "Outputs: RUN_DIR/config.json, metrics.jsonl, resume.toml, model.safetensors (at the end), and\n"
      "--export FILE.safetensors.\n"
      "Exit codes: 0 ok, 2 bad flag or input file, 3 run failed (replicas diverged, non-finite values),\n"
      "4 a collective timed out (--comm-timeout: a rank died or hung), 128+N stopped by signal N.\n"
      "Signals: SIGTERM, SIGINT (Ctrl-C) or SIGUSR1 stop the run at the next check (about 50 ms of steps,\n"
      "at least one step), after a checkpoint\n"
      "(with --checkpoint-dir or a run dir); exit 143, 130 or 138. A second Ctrl-C stops at once (under "
      "mpirun:\n"
      "mpirun exits and the ranks die without a checkpoint).");
  app.set_version_flag("--version", "dptrain " DPTRAIN_VERSION);
  app.set_config("--config", "",
                 "read options from a TOML/INI file (key = value, keys as the long flags without --); flags "
                 "on the command line override it");
  app.config_formatter(std::make_shared<dp::ConfigFileFormat>());  // TOML/INI, byte-order mark allowed
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.get_formatter()->column_width(34);
  dp::OptionTable table(app, cfg);
  if (const int code = dp::parse_command_line(argc, argv, root, app, cfg); code >= 0) return finish(code);

  // Printed by the run once its set-up has accepted it (a refused call prints its error only).
  const std::string resolved = table.to_json().dump();

  try {
    const dp::TrainResult result = dp::train(cfg, *comm, resolved);
    // Stopped politely by a signal, after a checkpoint: the shell's code for that signal.
    if (result.stop_signal != 0) return finish(128 + result.stop_signal);
    // A dry run trains no step to stop after: a stop signal received meanwhile ends it as one.
    if (cfg.dry_run && dp::stop_requested() != 0) return finish(128 + dp::stop_requested());
  } catch (const dp::UserError& e) {
    if (root) std::fprintf(stderr, "dptrain: error: %s\n", e.what());
    return finish(2);
  } catch (const dp::RunError& e) {
    if (root) std::fprintf(stderr, "dptrain: error: %s\n", e.what());
    return finish(3);
  } catch (const std::exception& e) {
    // Not agreed across ranks: end the whole job so no rank is left waiting.
    std::fprintf(stderr, "dptrain: %s unexpected error: %s\n", dp::identity_prefix().c_str(), e.what());
    abort_job(1);
  }
  return finish(0);
}
