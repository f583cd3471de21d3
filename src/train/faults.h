// The debug fault injector (--inject-fault), off unless asked for. It makes the failure
// handling testable: KIND@STEP:RANK[,KIND@STEP:RANK...]
//   hang        rank RANK stops answering before the all-reduce of step STEP (sleeps forever)
//   crash       rank RANK dies (SIGKILL) before the all-reduce of step STEP
//   nan         rank RANK's loss and gradients become NaN at step STEP
//   ckpt-crash  rank RANK dies (SIGKILL) halfway through writing the checkpoint of step STEP
//   ckpt-slow   rank RANK takes kSlowCheckpointSeconds longer to write the checkpoint of step
//               STEP (a slow file system)
//               (only rank 0 writes checkpoints: RANK must be 0 for these two)
//   slow        rank RANK sleeps kSlowFaultSeconds before the forward pass of step STEP (a
//               straggler: the other ranks wait for it in the all-reduce)
// STEP counts from 1 (the first step of the run is step 1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dp {

inline constexpr double kSlowFaultSeconds = 0.5;
inline constexpr double kSlowCheckpointSeconds = 4.0;
inline constexpr const char* kFaultKinds = "hang, crash, nan, ckpt-crash, ckpt-slow, slow";

struct Fault {
  enum class Kind { hang, crash, nan, ckpt_crash, ckpt_slow, slow };
  Kind kind = Kind::crash;
  std::int64_t step = 0;
  int rank = 0;
};

// Throws UserError naming --inject-fault on a malformed spec or a rank >= world_size.
std::vector<Fault> parse_faults(const std::string& spec, int world_size);

class FaultInjector {
 public:
  FaultInjector(std::vector<Fault> faults, int rank) : faults_(std::move(faults)), rank_(rank) {}
  bool active(Fault::Kind kind, std::int64_t step) const;
  // hang / crash when scheduled for (step, this rank); returns otherwise.
  void before_all_reduce(std::int64_t step) const;
  // slow when scheduled for (step, this rank); returns at once otherwise.
  void before_forward(std::int64_t step) const;
  // ckpt-slow when scheduled for (step, this rank); returns at once otherwise.
  void before_checkpoint_write(std::int64_t step) const;
  // Fills count values with NaN (for a nan fault, which the caller checks with active()).
  static void poison(float* values, std::int64_t count);

 private:
  std::vector<Fault> faults_;
  int rank_;
};

// Ends this process as a crash would (SIGKILL: no cleanup, no core file).
[[noreturn]] void die_now();

}  // namespace dp
