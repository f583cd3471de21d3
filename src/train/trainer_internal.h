// Shared between trainer.cpp and trainer_setup.cpp; not part of the trainer's API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "kernels/backend.h"
#include "src/data/batch.h"
#include "src/data/batch_loader.h"
#include "src/model/mlp.h"
#include "src/train/trainer.h"

namespace dp {

// The cores this process may run on, as a list of ranges: "0-3,8".
std::string affinity_text();

// runs/<YYYYmmdd-HHMMSS>[-N] (rank 0 decides; the caller broadcasts it). create: made here,
// atomically, under a name no other run has (else only a name that does not exist yet).
std::string default_run_dir(bool create);

// Each rank evaluates samples r, r+W, r+2W, ... of the split (no padding, so each counts
// once) in batches of eval_rows; the sums are all-reduced.
// loader: over `test`, with capacity eval_rows, on the backend of ctx.
EvalResult evaluate_split(const kernels::Context& ctx, Communicator& comm, Mlp& model, const float* params,
                          const Dataset& test, std::int64_t eval_rows, BatchLoader* loader,
                          std::vector<std::int64_t>* idx);

// Where a run computes and how its gradients travel, decided from --device/--comm and
// what this host has (a UserError names the flag when the request cannot be met).
struct DeviceChoice {
  Backend backend = Backend::cpu;
  int gpu = -1;                 // CUDA device of this rank
  std::string comm = "mpi";     // gradient all-reduce: mpi | nccl | none (one GPU rank, --comm auto)
  bool cuda_aware_mpi = false;  // --comm mpi on GPUs: MPI takes device buffers (no staging)
  std::string text = "cpu";     // for banners: "cpu" or "GPU 0: NVIDIA H100 ..."
};
// This rank's wish (throws UserError when --device cuda finds no GPU here).
DeviceChoice choose_device(const Config& cfg, const RankInfo& me);
// Collective, on every rank whatever its device: all ranks end on the same backend
// (--device auto falls back to the CPU everywhere unless every rank has a GPU), and NCCL
// is used only when no two ranks share a GPU (same host and PCI bus id); --comm nccl
// with a shared GPU is refused (UserError, identical on every rank).
void agree_device(const Config& cfg, Communicator& comm, DeviceChoice* d);
// A rank's GPU: its node (RankInfo::node) and "host PCI-bus-id" ("" for a CPU rank).
struct GpuName {
  int node = 0;
  std::string text;
};
// Collective: every rank's GPU, in rank order.
std::vector<GpuName> gpu_names(Communicator& comm, const DeviceChoice& d);
// "ranks A and B use the same GPU (NAME)" for the first pair on one node with one GPU, else "".
std::string shared_gpu(const std::vector<GpuName>& names);

}  // namespace dp
