#include "src/train/device_sync.h"

#include "kernels/device.h"
#include "src/util/check.h"
#include "src/util/timer.h"
#if defined(DPTRAIN_HAVE_CUDA)
#include "comm/nccl_comm.h"
#endif

namespace dp {

StagedGradientSync::StagedGradientSync(GuardedCommunicator& comm, float* d_grads, std::vector<Bucket> buckets,
                                       const kernels::Context& ctx, Tracer* tracer, bool cuda_aware_mpi)
    : d_grads_(d_grads), count_(buckets.back().end), ctx_(ctx) {
  if (!cuda_aware_mpi)
    h_grads_ = static_cast<float*>(device::alloc_pinned(static_cast<std::size_t>(count_) * sizeof(float)));
  // Inline buckets: the copy back waits for all of them anyway.
  inner_ = std::make_unique<GradientReducer>(comm, direct() ? d_grads_ : h_grads_, std::move(buckets),
                                             /*use_thread=*/false, tracer);
}

StagedGradientSync::~StagedGradientSync() {
  inner_.reset();
  device::release_pinned(h_grads_);
}

Status StagedGradientSync::finish(StepCommTimes* times) {
  const double t0 = now_seconds();
  const std::size_t nbytes = static_cast<std::size_t>(count_) * sizeof(float);
  if (!direct()) device::copy(h_grads_, d_grads_, nbytes, ctx_.stream);
  device::synchronize(ctx_.stream);  // backward's gradients are complete before MPI reads them
  Status s = inner_->finish(times);
  if (!direct())
    device::copy(d_grads_, h_grads_, nbytes, ctx_.stream);  // before the optimizer's kernels
  else
    device::synchronize_device();  // MPI's own copies (on other streams) are done before ctx.stream reads
  const double t1 = now_seconds();
  // The copies are communication too: nothing overlaps them.
  times->busy_s = t1 - t0;
  times->exposed_s = t1 - t0;
  return s;
}

#if defined(DPTRAIN_HAVE_CUDA)

NcclGradientSync::NcclGradientSync(NcclCommunicator& nccl, float* d_grads, std::vector<Bucket> buckets,
                                   const kernels::Context& ctx)
    : nccl_(nccl), d_grads_(d_grads), buckets_(std::move(buckets)), ctx_(ctx) {
  DP_CHECK(!buckets_.empty(), "NcclGradientSync: no buckets");
  comm_stream_ = device::stream_create();
  for (std::size_t b = 0; b < buckets_.size(); ++b) ready_events_.push_back(device::event_create());
  done_event_ = device::event_create();
}

NcclGradientSync::~NcclGradientSync() {
  for (void* e : ready_events_) device::event_destroy(e);
  device::event_destroy(done_event_);
  device::stream_destroy(comm_stream_);
}

void NcclGradientSync::start_step(std::int64_t step) {
  step_ = step;
  launched_ = 0;
  status_ = Status();
}

void NcclGradientSync::ready(std::int64_t end) {
  while (launched_ < buckets_.size() && buckets_[launched_].end <= end) {
    const std::size_t b = launched_++;
    if (!status_.ok()) continue;
    const Bucket& bucket = buckets_[b];
    device::NvtxRange range("all_reduce bucket");
    device::event_record(ready_events_[b], ctx_.stream);
    device::stream_wait(comm_stream_, ready_events_[b]);
    status_ =
        nccl_.all_reduce_on(d_grads_ + bucket.begin, static_cast<std::size_t>(bucket.end - bucket.begin),
                            DeviceReduce::avg, comm_stream_, "all_reduce(gradient bucket)");
  }
}

Status NcclGradientSync::finish(StepCommTimes* times) {
  const double t0 = now_seconds();
  ready(buckets_.back().end);
  device::event_record(done_event_, comm_stream_);
  device::stream_wait(ctx_.stream, done_event_);  // the optimizer runs after the last bucket
  if (status_.ok()) status_ = nccl_.wait_event(done_event_, concat("all_reduce(gradients) at step ", step_));
  const double t1 = now_seconds();
  // The host only sees the wait: the all-reduce time hidden behind backward is not measured.
  times->busy_s = t1 - t0;
  times->exposed_s = t1 - t0;
  return status_;
}

#endif

}  // namespace dp
