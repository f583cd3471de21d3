// The training run: data -> sampler -> model forward/backward -> all-reduce -> Adam,
// with evaluation, metrics, progress, replica checks and export. Every rank calls
// train() with the same Config; rank 0 alone writes files and prints.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "src/config.h"
#include "src/tensor/layout.h"

namespace dp {

struct EvalResult {
  bool valid = false;  // false when there is no test split
  double loss = 0.0;
  double accuracy = 0.0;  // classification only
  std::int64_t samples = 0;
};

struct TrainResult {
  std::vector<float> params;  // final parameter buffer (identical on every rank), laid out by `layout`
  ParamLayout layout;
  std::int64_t steps = 0;          // steps taken, counting from step 0 (also before a resume)
  std::int64_t skipped_steps = 0;  // non-finite steps skipped under --on-nonfinite skip
  bool stopped_early = false;      // --stop-at-step or a stop signal ended the run
  bool already_complete = false;   // --resume auto found the run finished: nothing was trained
  int stop_signal = 0;             // the signal that stopped it (SIGTERM, SIGINT, SIGUSR1), or 0
  std::int64_t epochs = 0;         // epochs started (the last one may be partial with --steps)
  double last_loss = 0.0;          // global mean training loss of the last step
  double wall_s = 0.0;
  EvalResult final_eval;
  std::string run_dir;         // "" when files are disabled
  std::string checkpoint_dir;  // "" when checkpoints are disabled
};

struct TrainHooks {
  // Called on every rank after each optimizer step with the live parameter buffer (count
  // elements in the model's ParamLayout, gaps included; host memory; on the CUDA backend a
  // copy that is written back after the call).
  std::function<void(std::int64_t step, float* params, std::int64_t count)> after_step;
};

// resolved_config_json: the option table as JSON (main passes it), written to
// RUN_DIR/config.json with the world size and threads added; empty writes only those two.
TrainResult train(const Config& cfg, Communicator& comm, const std::string& resolved_config_json = "",
                  const TrainHooks& hooks = {});

// Validates the Config against the world size (batch divisibility and the like);
// throws UserError naming the flag. train() calls it first.
void validate_config(const Config& cfg, int world_size);

// The cores the ranks on this host run on together: the union of their affinity masks
// (mpirun's binding, taskset, a cgroup cpuset narrow them). Ranks on one host are those
// MPI puts on one shared-memory node (RankInfo::node). Collective. The --print-topology oversubscription note
// uses it.
int node_cores(Communicator& comm);

// BLAS threads per rank when --threads is 0: the cores the job may use on this node (its
// cgroup cpuset, else the host's online cores; the ranks' masks lie inside both) divided
// among the node's ranks, but no more than the cores this process may run on (its
// affinity mask).
struct CpuShare {
  int allowed = 1;   // cores in this process's affinity mask
  int per_rank = 1;  // the job's cores on the node / ranks on the node
  int threads = 1;   // min of the two
};
CpuShare cpu_share(int local_size);

}  // namespace dp
