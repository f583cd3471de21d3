// The resolved configuration of one run. src/cli.cpp declares every field as a CLI11
// option (help text, default, config-file key) in ONE table; tests build Configs directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/data/sources.h"

namespace dp {

struct Config {
  // model
  std::string model = "mlp";  // mlp | mlp-large (hidden 4096,4096,4096) | linreg (no hidden layer)
  std::vector<std::int64_t> hidden = {256, 128};

  // data
  DataConfig data;
  std::int64_t batch_size = 128;  // GLOBAL batch; each rank takes batch_size / world_size
  bool drop_last = false;
  std::int64_t eval_batch_size = 1000;  // per rank, evaluation only

  // optimisation
  std::int64_t epochs = 15;  // with the cosine schedule: ~0.89 test accuracy on Fashion-MNIST
  std::int64_t steps = 0;    // > 0: train exactly this many steps (overrides epochs)
  double lr = 1e-3;
  std::string lr_schedule = "cosine";  // cosine | constant
  std::int64_t warmup_steps = 0;
  double min_lr = 0.0;
  std::string optimizer = "adamw";  // adamw (decoupled decay) | adam (L2 decay)
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::uint64_t seed = 42;

  // run
  std::string device = "cpu";     // cpu | cuda | auto (cuda when a GPU is visible)
  std::string comm = "auto";      // gradient all-reduce: auto | nccl | mpi
  bool tf32 = false;              // allow TF32 tensor cores in cuBLAS GEMMs
  std::string gpu_data = "auto";  // auto | resident (data set on the GPU) | stream (pinned copies)
  std::string run_dir;            // "" -> runs/<timestamp>
  std::string progress = "auto";  // auto | bar | lines | none
  std::int64_t log_every = 100;
  std::int64_t check_every = 100;  // replica hash check every N steps (0 = only at the end)
  int threads = 0;                 // BLAS threads per rank (0 = cores / ranks on the node)
  std::string export_path;         // safetensors file written at the end
  bool print_topology = false;     // rank -> host -> local rank -> cores -> device map at start
  bool dry_run = false;            // check flags, data, model, --resume checkpoint; train and write nothing

  // communication
  double bucket_mb = 25;        // gradient bucket size; 0 = one all-reduce after backward
  std::int64_t grad_accum = 1;  // micro-batches per optimizer step (communication on the last only)
  std::string trace_path;       // Chrome/Perfetto timeline written at the end
  std::int64_t trace_steps = 20;

  // reliability
  std::int64_t checkpoint_every = 0;  // steps between checkpoints (0 = none)
  double checkpoint_minutes = 30;     // minutes of training between checkpoints (0 = none)
  std::string checkpoint_dir;         // "" -> RUN_DIR/checkpoints
  int keep_checkpoints = 3;
  std::string resume;                 // "" (fresh), "auto" (newest valid in the dir) or a file
  std::int64_t stop_at_step = 0;      // > 0: checkpoint and stop after this step (job chaining)
  double comm_timeout_s = 300;        // a collective not done by then ends the job (0 = never)
  std::string on_nonfinite = "stop";  // stop | skip
  std::string inject_fault;           // debug: KIND@STEP:RANK[,...] (see src/train/faults.h)
};

}  // namespace dp
