#include "src/train/reducer.h"

#include <algorithm>

#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp {

std::vector<Bucket> plan_buckets(std::int64_t count, std::int64_t first_nbytes, std::int64_t nbytes) {
  DP_CHECK(count >= 1 && first_nbytes >= 0 && nbytes >= 0, "plan_buckets: count=", count);
  std::vector<Bucket> out;
  if (nbytes == 0) return {Bucket{0, count}};
  const std::int64_t first = std::max<std::int64_t>(1, first_nbytes / 4);
  const std::int64_t rest = std::max<std::int64_t>(1, nbytes / 4);
  for (std::int64_t begin = 0; begin < count;) {
    const std::int64_t end = std::min(count, begin + (out.empty() ? first : rest));
    out.push_back({begin, end});
    begin = end;
  }
  return out;
}

GradientReducer::GradientReducer(GuardedCommunicator& comm, float* grads, std::vector<Bucket> buckets,
                                 bool use_thread, Tracer* tracer)
    : comm_(comm), grads_(grads), buckets_(std::move(buckets)), tracer_(tracer) {
  DP_CHECK(!buckets_.empty(), "GradientReducer: no buckets");
  if (use_thread && buckets_.size() > 1) thread_ = std::thread([this] { run_thread(); });
}

GradientReducer::~GradientReducer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GradientReducer::start_step(std::int64_t step) {
  step_ = step;
  launched_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  done_ = 0;
  busy_s_ = 0.0;
  status_ = Status();
}

void GradientReducer::reduce(std::size_t b) {
  const Bucket& bucket = buckets_[b];
  const bool single = buckets_.size() == 1;
  const double t0 = now_seconds();
  Status s = comm_.all_reduce_as(grads_ + bucket.begin, static_cast<std::size_t>(bucket.end - bucket.begin),
                                 DataType::f32, ReduceOp::sum, single ? "gradients" : "gradient bucket",
                                 single ? -1 : static_cast<std::int64_t>(b), step_);
  const double t1 = now_seconds();
  if (tracer_ && tracer_->recording(step_))
    tracer_->add(Tracer::communication, concat("all_reduce bucket ", b), t0, t1,
                 {{"step", step_}, {"bucket", b}, {"nbytes", 4 * (bucket.end - bucket.begin)}});
  std::lock_guard<std::mutex> lock(mu_);
  busy_s_ += t1 - t0;
  if (status_.ok() && !s.ok()) status_ = std::move(s);
  ++done_;
}

void GradientReducer::run_thread() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const std::size_t b = queue_.front();
    queue_.pop_front();
    lock.unlock();
    reduce(b);
    done_cv_.notify_all();
    lock.lock();
  }
}

void GradientReducer::launch_until(std::int64_t end) {
  if (!thread_.joinable()) return;  // inline mode: everything runs in finish()
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (launched_ < buckets_.size() && buckets_[launched_].end <= end) {
      queue_.push_back(launched_++);
      any = true;
    }
  }
  if (any) work_cv_.notify_one();
}

void GradientReducer::ready(std::int64_t end) {
  launch_until(end);
}

Status GradientReducer::finish(StepCommTimes* times) {
  const double t0 = now_seconds();
  if (thread_.joinable()) {
    launch_until(buckets_.back().end);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return done_ == buckets_.size(); });
  } else {
    for (std::size_t b = 0; b < buckets_.size(); ++b) reduce(b);
  }
  const double t1 = now_seconds();
  std::lock_guard<std::mutex> lock(mu_);
  times->busy_s = busy_s_;
  times->exposed_s = t1 - t0;
  return status_;
}

}  // namespace dp
