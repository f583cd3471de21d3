// Gradient all-reduce in buckets, overlapped with the backward pass.
//
// The flat gradient buffer is in the order backward produces it (last layer first), so
// the finished part of it is always a prefix. The buffer is cut into buckets: the first
// small (about 1 MB, so communication starts early), the rest about --bucket-mb each. As
// soon as backward has finished every gradient of a bucket (ready(end)), its all-reduce
// (SUM) is handed to a communication thread, which runs the buckets in order while the
// main thread goes on with backward; finish() hands over the rest and waits. The time the
// main thread spends waiting there is the EXPOSED communication time; the rest of the
// communication was hidden behind compute.
//
// The communication thread is the CPU analogue of a CUDA communication stream. It is
// needed because MPI implementations (Open MPI's included) make progress on a
// non-blocking MPI_Iallreduce only inside MPI calls, so a main thread busy in a BLAS call
// would not move it forward. MPI is initialised SERIALIZED: only one thread is ever inside
// MPI, since the main thread makes no MPI call between the first ready() and finish().
// Without that thread level, or with a single bucket, the all-reduce runs inline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "src/train/trace.h"
#include "src/train/watchdog.h"
#include "src/util/status.h"

namespace dp {

struct Bucket {
  std::int64_t begin = 0, end = 0;  // element range [begin, end) of the gradient buffer
};

// Cuts [0, count) of float32 elements into buckets: the first of first_nbytes, then
// nbytes each (the last takes the remainder). nbytes == 0: one bucket.
std::vector<Bucket> plan_buckets(std::int64_t count, std::int64_t first_nbytes, std::int64_t nbytes);

struct StepCommTimes {
  double busy_s = 0.0;     // total time in all-reduce calls
  double exposed_s = 0.0;  // time the main thread waited for communication
};

// How the gradient buffer gets reduced across ranks during a step. The trainer calls
// start_step, ready(end) as backward finishes prefixes of the buffer, then finish.
// Implementations: GradientReducer (host buffers, MPI, below), LocalGradientSync (one
// rank, nothing to do), and for device buffers
// StagedGradientSync (through pinned host memory and MPI) and NcclGradientSync
// (src/train/device_sync.h).
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual const std::vector<Bucket>& buckets() const = 0;
  virtual bool overlapping() const = 0;
  // After finish() the buffer holds the mean over ranks (true) or the sum (false).
  virtual bool averages() const { return false; }
  virtual void start_step(std::int64_t step) = 0;
  virtual void ready(std::int64_t end) = 0;
  virtual Status finish(StepCommTimes* times) = 0;
};

// One rank (GPU ranks under --comm auto): the buffer already is the mean over ranks, so
// nothing is moved and nothing waited for. The buckets are only reported.
class LocalGradientSync final : public GradientSync {
 public:
  explicit LocalGradientSync(std::vector<Bucket> buckets) : buckets_(std::move(buckets)) {}
  const std::vector<Bucket>& buckets() const override { return buckets_; }
  bool overlapping() const override { return false; }
  bool averages() const override { return true; }
  void start_step(std::int64_t) override {}
  void ready(std::int64_t) override {}
  Status finish(StepCommTimes* times) override {
    *times = StepCommTimes();
    return Status();
  }

 private:
  std::vector<Bucket> buckets_;
};

class GradientReducer final : public GradientSync {
 public:
  // grads holds buckets.back().end elements. use_thread: overlap with a communication
  // thread (ignored with a single bucket).
  GradientReducer(GuardedCommunicator& comm, float* grads, std::vector<Bucket> buckets, bool use_thread,
                  Tracer* tracer);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  const std::vector<Bucket>& buckets() const override { return buckets_; }
  bool overlapping() const override { return thread_.joinable(); }

  void start_step(std::int64_t step) override;
  // grads[0, end) is final: start every bucket that lies inside it.
  void ready(std::int64_t end) override;
  // Starts the remaining buckets and waits for all; the first failed all-reduce's Status.
  Status finish(StepCommTimes* times) override;

 private:
  void launch_until(std::int64_t end);
  void reduce(std::size_t bucket);
  void run_thread();

  GuardedCommunicator& comm_;
  float* grads_;
  std::vector<Bucket> buckets_;
  Tracer* tracer_;
  std::int64_t step_ = 0;
  std::size_t launched_ = 0;

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<std::size_t> queue_;
  std::size_t done_ = 0;
  bool stop_ = false;
  double busy_s_ = 0.0;
  Status status_;
  std::thread thread_;
};

}  // namespace dp
