// Checkpoints: everything a replica needs to continue training bit for bit.
//
// File layout (little-endian):
//   "DPCKPT01"                 8-byte magic
//   u64 header_nbytes          length of the JSON header
//   header (JSON)              version, step, epoch, step_in_epoch, adam_steps,
//                              world_size, resume config, layout, payload_nbytes
//   payload                    params[n], adam m[n], adam v[n] as float32
//   u32 crc32                  zlib CRC-32 of everything after the magic
//
// Data-parallel replicas are identical, so rank 0 alone writes one file per checkpoint:
// to DIR/.ckpt-step<S>.tmp, fsync, rename to DIR/ckpt-step<S>.dpckpt, fsync DIR; then the
// oldest files beyond --keep-checkpoints are removed. A crash at any moment leaves the
// previous checkpoints intact. Readers check every header field against the file size
// before using it and verify the CRC before trusting a byte of the payload.
//
// The data order needs no RNG state: the permutation of epoch e is a pure function of
// (seed, e), so (epoch, step_in_epoch) is the sampler's whole position.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/tensor/layout.h"

namespace dp {

struct Checkpoint {
  std::int64_t step = 0;                 // optimizer steps completed (the next step is step + 1)
  std::int64_t epoch = 0;                // epoch of the next step
  std::int64_t step_in_epoch = 0;        // steps of that epoch already taken
  std::int64_t adam_steps = 0;           // Adam's bias-correction counter (steps actually applied)
  int world_size = 1;                    // of the run that wrote it (informational)
  nlohmann::ordered_json resume_config;  // settings that must match to resume exactly
  std::vector<TensorView> layout;
  std::vector<float> params, adam_m, adam_v;
};

// Test hook for --inject-fault ckpt-crash: called once the temporary file holds half of
// the payload, before it is complete.
using CheckpointFaultHook = void (*)();

// Writes `ck` atomically into dir as ckpt-step<S>.dpckpt and keeps the newest `keep`
// checkpoints (keep >= 1). Returns the path. Throws UserError naming the file when the
// directory cannot be written or the disk is full; the previous checkpoints survive.
std::string write_checkpoint(const std::string& dir, const Checkpoint& ck, int keep,
                             CheckpointFaultHook mid_write = nullptr);

// Reads and validates a checkpoint (magic, sizes, CRC, layout/payload consistency).
// Throws UserError naming the file on any problem.
Checkpoint read_checkpoint(const std::string& path);
Checkpoint parse_checkpoint(const std::vector<std::uint8_t>& bytes, const std::string& path);

// Checkpoint files in dir, newest (highest step) first. Missing dir -> empty.
std::vector<std::string> list_checkpoints(const std::string& dir);

// Creates dir (and parents) if needed and proves it is writable; UserError otherwise.
void ensure_writable_dir(const std::string& dir, const std::string& flag);

// Refuses (UserError naming `path` and the first differences) a checkpoint whose layout
// or resume config differs from this run's.
void check_compatible(const Checkpoint& ck, const std::string& path, const ParamLayout& layout,
                      const nlohmann::ordered_json& resume_config);
// The resume settings that differ, as the user sets them ("--lr 0.001 in WHERE vs 0.01
// now; ..."), or "" when `then` matches `now`.
std::string settings_diff(const nlohmann::ordered_json& then, const nlohmann::ordered_json& now,
                          const std::string& where);

}  // namespace dp
