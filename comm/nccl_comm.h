// NCCL implementation of Communicator: device buffers, one GPU per rank, bootstrapped
// over a host Communicator (MPI): rank 0 makes the ncclUniqueId, a broadcast shares it.
//
// Never a silent hang: the communicator is created NON-BLOCKING, and every wait (for
// init, for an enqueue that returned ncclInProgress, for a collective to finish on its
// stream) polls ncclCommGetAsyncError and a deadline of timeout_s. Past the deadline
// the call returns an error naming the rank, host, GPU and collective and the
// communicator is unusable; the caller ends the job (abort_job, which does not wait on
// NCCL), or the destructor aborts it (ncclCommAbort). A communicator whose creation
// failed is not aborted at all (abort may wait on a stuck initialisation): the caller is
// expected to end the process.
//
// Two ways to use it:
//   - the Communicator interface: each call enqueues on the communicator's own stream and
//     waits for it (tests, benchmarks, evaluation sums). That stream is not ordered with
//     any other: the caller synchronises the stream that wrote the buffer first;
//   - stream-ordered (the gradient path): all_reduce_on(stream) enqueues on a stream the
//     caller orders with events, wait_event() waits under the deadline.
// Built only with the CUDA backend (DPTRAIN_HAVE_CUDA).
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"

namespace dp {

enum class DeviceReduce { sum, avg };

class NcclCommunicator final : public Communicator {
 public:
  // Collective over every rank of `host`. dev is this rank's CUDA device (already
  // selected by the caller). timeout_s <= 0 waits without a deadline.
  static Status create(Communicator& host, int dev, double timeout_s, std::unique_ptr<NcclCommunicator>* out);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  const RankInfo& info() const override { return info_; }
  int device() const { return dev_; }
  // "NCCL 2.28.9" (the linked library's version).
  static std::string library_version();

  using Communicator::all_reduce;
  Status all_reduce(void* d_data, std::size_t count, DataType type, ReduceOp op) override;
  Status all_reduce_avg(void* d_data, std::size_t count, DataType type) override;  // ncclAvg
  Status broadcast(void* d_data, std::size_t nbytes, int root) override;
  Status all_gather(const void* d_send, void* d_recv, std::size_t nbytes_per_rank) override;
  Status barrier() override;
  [[noreturn]] void abort_job(int exit_code) override;

  // Stream-ordered, in place: enqueues the all-reduce of f32 d_data on `stream` and returns
  // once NCCL has accepted it (not when it has run). `what` names it in errors.
  Status all_reduce_on(float* d_data, std::size_t count, DeviceReduce op, void* stream, const char* what);
  // Waits until `event` (recorded after the collectives) completes, under the deadline.
  Status wait_event(void* event, const std::string& what);

  // ncclCommAbort (idempotent); every later call fails.
  void abort() noexcept;

 private:
  NcclCommunicator() = default;
  Status settle(const std::string& what);  // waits out ncclInProgress on the communicator
  Status poll(const std::string& what, double start, bool* in_progress);  // async error + deadline
  Status fail(const std::string& what, const std::string& why);
  Status run_sync(const std::string& what);  // waits for own_stream_

  void* comm_ = nullptr;  // ncclComm_t
  void* own_stream_ = nullptr;
  void* own_event_ = nullptr;
  void* d_barrier_ = nullptr;
  Communicator* host_ = nullptr;
  int dev_ = 0;
  double timeout_s_ = 0;
  bool aborted_ = false;
  bool broken_ = false;  // a call failed or timed out: no more collectives, abort on destruction
  RankInfo info_;
};

}  // namespace dp
