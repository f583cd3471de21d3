// Replicas must stay bit-identical: every rank hashes its parameter buffer, the hashes
// are all-gathered, and any difference stops the run on every rank (RunError) with the
// step and the ranks that disagree with rank 0.
#pragma once

#include <cstdint>

#include "comm/communicator.h"

namespace dp {

void check_replicas(Communicator& comm, const float* params, std::int64_t count, std::int64_t step);

}  // namespace dp
