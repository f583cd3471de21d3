#include "src/train/watchdog.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp {

Watchdog::Watchdog(double timeout_s) : timeout_s_(timeout_s) {
  if (timeout_s_ > 0) thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::arm(const char* collective, const char* label, std::int64_t index, std::int64_t step,
                   double extra_s) {
  if (timeout_s_ <= 0) return;
  const double now = now_seconds();
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  armed_at_ = now;
  extra_s_ = extra_s;
  collective_ = collective;
  label_ = label;
  index_ = index;
  step_ = step;
}

void Watchdog::disarm() {
  if (timeout_s_ <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
}

void Watchdog::run() {
  // Poll often enough that a timeout fires within ~5% of its value (at least every 1 s).
  const double poll_s = std::min(1.0, std::max(0.01, timeout_s_ / 20));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::duration<double>(poll_s));
    if (stop_ || !armed_) continue;
    const double waited = now_seconds() - armed_at_;
    if (waited < timeout_s_ + extra_s_) continue;
    std::string what = collective_;
    if (label_) what += index_ >= 0 ? concat("(", label_, " ", index_, ")") : concat("(", label_, ")");
    // With extra time, a rank was reading or writing files meanwhile (a file system may hang).
    char limit[160];
    if (extra_s_ >= 0.5)
      std::snprintf(limit, sizeof limit, "%.0f s (--comm-timeout %.0f s + %.0f s for file I/O)",
                    timeout_s_ + extra_s_, timeout_s_, extra_s_);
    else
      std::snprintf(limit, sizeof limit, "%.0f s (--comm-timeout)", timeout_s_);
    std::fprintf(stderr,
                 "dptrain: error: %s %s at step %lld did not complete within %s: %s; ending the job\n",
                 identity_prefix().c_str(), what.c_str(), static_cast<long long>(step_), limit,
                 extra_s_ > 0 ? "a file system may be stuck, or a rank has died or hung"
                              : "another rank has probably died or hung");
    std::fflush(stderr);
    std::_Exit(kExitCommTimeout);
  }
}

template <typename F>
Status GuardedCommunicator::guarded(const char* collective, F&& call) {
  watchdog_.arm(collective, label_, -1, step_, extra_s_);
  Status s = call();
  watchdog_.disarm();
  return s;
}

Status GuardedCommunicator::all_reduce_as(void* data, std::size_t count, DataType type, ReduceOp op,
                                          const char* label, std::int64_t index, std::int64_t step) {
  watchdog_.arm("all_reduce", label, index, step);
  Status s = inner_.all_reduce(data, count, type, op);
  watchdog_.disarm();
  return s;
}

Status GuardedCommunicator::all_reduce(void* data, std::size_t count, DataType type, ReduceOp op) {
  return guarded("all_reduce", [&] { return inner_.all_reduce(data, count, type, op); });
}
Status GuardedCommunicator::all_reduce_avg(void* data, std::size_t count, DataType type) {
  return guarded("all_reduce_avg", [&] { return inner_.all_reduce_avg(data, count, type); });
}
Status GuardedCommunicator::broadcast(void* data, std::size_t nbytes, int root) {
  return guarded("broadcast", [&] { return inner_.broadcast(data, nbytes, root); });
}
Status GuardedCommunicator::all_gather(const void* send, void* recv, std::size_t nbytes_per_rank) {
  return guarded("all_gather", [&] { return inner_.all_gather(send, recv, nbytes_per_rank); });
}
void GuardedCommunicator::abort_job(int exit_code) {
  inner_.abort_job(exit_code);
  std::_Exit(exit_code);  // not reached: abort_job does not return
}

Status GuardedCommunicator::barrier() {
  return guarded("barrier", [&] { return inner_.barrier(); });
}

}  // namespace dp
