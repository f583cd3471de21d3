// Shared between trainer.cpp and trainer_setup.cpp; not part of the trainer's API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "kernels/backend.h"
#include "src/data/batch.h"
#include "src/model/mlp.h"
#include "src/train/trainer.h"

namespace dp {

// The cores this process may run on, as a list of ranges: "0-3,8".
std::string affinity_text();

// runs/<YYYYmmdd-HHMMSS>[-N] (rank 0 decides; the caller broadcasts it).
std::string default_run_dir();

// Each rank evaluates samples r, r+W, r+2W, ... of the split (no padding, so each counts
// once) in batches of eval_rows; the sums are all-reduced.
EvalResult evaluate_split(const kernels::Context& ctx, Communicator& comm, Mlp& model, const float* params,
                          const Dataset& test, std::int64_t eval_rows, Batch* batch,
                          std::vector<std::int64_t>* idx);

}  // namespace dp
