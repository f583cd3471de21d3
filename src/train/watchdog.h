// No silent hangs on the MPI path. GuardedCommunicator wraps a Communicator and arms a
// watchdog around every collective: if one has not returned after --comm-timeout
// seconds, the watchdog thread prints which rank, host, collective and step, and ends
// this process with exit code 4. mpirun then terminates the remaining ranks (a rank
// that exits non-zero ends an Open MPI job), so a dead or hung peer costs at most the
// timeout, never a hang.
//
// File I/O that other ranks wait for in a collective (rank 0's checkpoint or exported
// model, every rank's data load) gets extra time, nbytes / kSlowestFileBytesPerS, so a
// slow but working file system does not end the job, and a hung one still does.
//
// The watchdog thread never calls MPI (the library is initialised FUNNELED): it only
// reads the armed state and calls _Exit.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "comm/communicator.h"

namespace dp {

constexpr int kExitCommTimeout = 4;
// The slowest file system a run should survive without raising --comm-timeout: a busy
// parallel file system can fall to a few MB/s for one writer.
constexpr double kSlowestFileBytesPerS = 5e6;

class Watchdog {
 public:
  // timeout_s <= 0 disables it (no thread).
  explicit Watchdog(double timeout_s);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Cheap enough for every collective (no allocation): the message is only built when the
  // timeout fires, as "collective(label index)". label may be null, index < 0 = none; the
  // strings must outlive the armed period (string literals in practice). The limit is
  // timeout_s + extra_s.
  void arm(const char* collective, const char* label, std::int64_t index, std::int64_t step,
           double extra_s = 0.0);
  void disarm();
  double timeout_s() const { return timeout_s_; }

 private:
  void run();
  double timeout_s_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool armed_ = false;
  double armed_at_ = 0.0;
  double extra_s_ = 0.0;
  const char* collective_ = "";
  const char* label_ = nullptr;
  std::int64_t index_ = -1;
  std::int64_t step_ = 0;
  std::thread thread_;
};

class GuardedCommunicator final : public Communicator {
 public:
  GuardedCommunicator(Communicator& inner, double timeout_s) : inner_(inner), watchdog_(timeout_s) {}

  // The step named in a timeout message (the trainer updates it every step).
  void set_step(std::int64_t step) { step_ = step; }
  // Names the next collectives (e.g. "all_reduce(gradients)") until changed. file_nbytes:
  // what rank 0 reads or writes meanwhile (the others wait for it in these collectives),
  // which adds file_nbytes / kSlowestFileBytesPerS to their limit.
  void set_label(const char* label, std::uint64_t file_nbytes = 0) {
    label_ = label;
    extra_s_ = static_cast<double>(file_nbytes) / kSlowestFileBytesPerS;
  }

  // An all-reduce named explicitly, e.g. ("gradient bucket", 3): for another thread, as it
  // reads no label or step that the main thread sets. label must be a string literal.
  Status all_reduce_as(void* data, std::size_t count, DataType type, ReduceOp op, const char* label,
                       std::int64_t index, std::int64_t step);

  const RankInfo& info() const override { return inner_.info(); }
  using Communicator::all_reduce;
  Status all_reduce(void* data, std::size_t count, DataType type, ReduceOp op) override;
  Status all_reduce_avg(void* data, std::size_t count, DataType type) override;
  Status broadcast(void* data, std::size_t nbytes, int root) override;
  Status all_gather(const void* send, void* recv, std::size_t nbytes_per_rank) override;
  Status barrier() override;
  [[noreturn]] void abort_job(int exit_code) override;

 private:
  template <typename F>
  Status guarded(const char* collective, F&& call);
  Communicator& inner_;
  Watchdog watchdog_;
  std::int64_t step_ = 0;
  const char* label_ = nullptr;
  double extra_s_ = 0.0;
};

// set_label for a stretch of code: the label (and the extra time) go at end() or when the
// scope is left, by an exception too (a refused checkpoint that training survives).
class CollectiveLabel {
 public:
  CollectiveLabel(GuardedCommunicator& comm, const char* label, std::uint64_t file_nbytes = 0)
      : comm_(&comm) {
    comm.set_label(label, file_nbytes);
  }
  ~CollectiveLabel() { end(); }
  CollectiveLabel(const CollectiveLabel&) = delete;
  CollectiveLabel& operator=(const CollectiveLabel&) = delete;
  void end() {
    if (comm_ != nullptr) comm_->set_label(nullptr);
    comm_ = nullptr;
  }

 private:
  GuardedCommunicator* comm_;
};

}  // namespace dp
