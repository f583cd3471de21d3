// Gradient reduction for device-resident gradients (the CUDA backend).
//
// StagedGradientSync (--comm mpi): after backward, the whole buffer is copied to pinned
//   host memory, reduced there by a GradientReducer (MPI SUM, under the watchdog), and
//   copied back. No overlap; the path for several ranks on one GPU, which NCCL refuses,
//   and for clusters without NCCL. With a CUDA-aware MPI (mpi_cuda_aware()) the device
//   buffer goes to MPI directly, without the copies.
// NcclGradientSync (--comm nccl): each bucket's all-reduce (ncclAvg, in place) is
//   enqueued on a communication stream as soon as backward has finished it: an event
//   recorded on the compute stream orders the bucket after the kernels that wrote it, so
//   the all-reduce of bucket k runs while the compute stream goes on with the layers
//   below. finish() makes the compute stream wait for the communication stream and
//   waits on the host (under --comm-timeout, aborting NCCL on expiry).
#pragma once

#include <memory>
#include <vector>

#include "kernels/backend.h"
#include "src/train/reducer.h"

namespace dp {

class NcclCommunicator;

class StagedGradientSync final : public GradientSync {
 public:
  StagedGradientSync(GuardedCommunicator& comm, float* d_grads, std::vector<Bucket> buckets,
                     const kernels::Context& ctx, Tracer* tracer, bool cuda_aware_mpi = false);
  bool direct() const { return h_grads_ == nullptr; }  // CUDA-aware: no staging
  ~StagedGradientSync() override;
  const std::vector<Bucket>& buckets() const override { return inner_->buckets(); }
  bool overlapping() const override { return false; }
  void start_step(std::int64_t step) override { inner_->start_step(step); }
  void ready(std::int64_t) override {}
  Status finish(StepCommTimes* times) override;

 private:
  float* d_grads_;
  std::int64_t count_;
  kernels::Context ctx_;
  float* h_grads_ = nullptr;  // pinned mirror
  std::unique_ptr<GradientReducer> inner_;
};

#if defined(DPTRAIN_HAVE_CUDA)
class NcclGradientSync final : public GradientSync {
 public:
  NcclGradientSync(NcclCommunicator& nccl, float* d_grads, std::vector<Bucket> buckets,
                   const kernels::Context& ctx);
  ~NcclGradientSync() override;
  const std::vector<Bucket>& buckets() const override { return buckets_; }
  bool overlapping() const override { return buckets_.size() > 1; }
  bool averages() const override { return true; }
  void start_step(std::int64_t step) override;
  void ready(std::int64_t end) override;
  Status finish(StepCommTimes* times) override;
  // The stream the all-reduces run on (tests check its ordering against the compute stream).
  void* comm_stream() const { return comm_stream_; }

 private:
  NcclCommunicator& nccl_;
  float* d_grads_;
  std::vector<Bucket> buckets_;
  kernels::Context ctx_;
  void* comm_stream_ = nullptr;
  std::vector<void*> ready_events_;  // one per bucket
  void* done_event_ = nullptr;
  std::size_t launched_ = 0;
  std::int64_t step_ = 0;
  Status status_;
};
#endif

}  // namespace dp
