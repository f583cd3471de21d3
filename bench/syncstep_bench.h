// dpbench syncstep: what ranks that share cores pay around a synchronising collective.
//
// Each rank repeats a synthetic step: a fixed amount of CPU work (single-threaded SGEMMs,
// calibrated so that it takes --work-ms when the rank runs alone) followed by an
// all-reduce of --bytes. On a machine with at least a core per rank the step takes about
// work + all-reduce. With more ranks than cores, fair time-sharing would make it
// s·work + all-reduce, s = ranks / cores; what is measured beyond that is the cost of
// the scheduler's interleaving around the collective (a rank that enters the all-reduce
// spins while descheduled peers still compute, peers wait for a rank that lost its core):
//   penalty = step - (s·work + allreduce_alone)
// launch/perf_model.py --syncstep adds this penalty (interpolated in the work) to its step
// predictions. The training runs it then predicts are separate measurements.
#pragma once

#include <string>

#include "comm/mpi_comm.h"

namespace dp::bench {

struct SyncStepOptions {
  std::string work_ms = "0.25,0.5,1,2,4";  // per-step work when alone, comma-separated
  std::string bytes = "1M";
  int steps = 200;
  int warmup = 20;
  int cores = 0;  // 0: this machine's
  std::string json_path;
  double timeout_s = 300;
};

int run_syncstep(const SyncStepOptions& opt, MpiCommunicator& comm);

}  // namespace dp::bench
