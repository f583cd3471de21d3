#include "comm/nccl_comm.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <thread>

#include "kernels/cuda/cuda_check.h"
#include "kernels/device.h"
#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp {
namespace {

ncclComm_t as_nccl(void* c) {
  return static_cast<ncclComm_t>(c);
}
cudaStream_t as_stream(void* s) {
  return static_cast<cudaStream_t>(s);
}

ncclDataType_t to_nccl(DataType t) {
  switch (t) {
    case DataType::f32:
      return ncclFloat32;
    case DataType::f64:
      return ncclFloat64;
    case DataType::i64:
      return ncclInt64;
    case DataType::u64:
      return ncclUint64;
  }
  return ncclFloat32;
}

ncclRedOp_t to_nccl(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return ncclSum;
    case ReduceOp::min:
      return ncclMin;
    case ReduceOp::max:
      return ncclMax;
  }
  return ncclSum;
}

// Between two polls of a pending operation: short enough to add little latency to a
// collective that is about to finish, long enough not to burn a core.
void poll_pause(double waited_s) {
  std::this_thread::sleep_for(std::chrono::microseconds(waited_s < 0.01 ? 0 : waited_s < 1 ? 50 : 1000));
}

}  // namespace

std::string NcclCommunicator::library_version() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "NCCL (version unknown)";
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return concat("NCCL ", v / 10000, ".", (v % 10000) / 100, ".", v % 100);
}

// The communicator is unusable from here on. It is NOT aborted here: ncclCommAbort may
// itself wait for peers on the node, and the caller usually ends the job next
// (abort_job), which must not wait for a dead peer. abort() or the destructor aborts it,
// except after a failed create(), which leaves it to the process's end.
Status NcclCommunicator::fail(const std::string& what, const std::string& why) {
  broken_ = true;
  return Status::error(concat(identity_prefix(), " GPU ", dev_, ": NCCL ", what, ": ", why));
}

// One poll of a pending operation: an error once the communicator reports one or the
// deadline (from start) has passed, else a pause before the next poll. *in_progress says
// whether the communicator itself still has an operation in flight.
Status NcclCommunicator::poll(const std::string& what, double start, bool* in_progress) {
  ncclResult_t state = ncclSuccess;
  const ncclResult_t rc = ncclCommGetAsyncError(as_nccl(comm_), &state);
  if (rc != ncclSuccess) return fail(what, ncclGetErrorString(rc));
  if (state != ncclSuccess && state != ncclInProgress)
    return fail(what, concat(ncclGetErrorString(state), " (", ncclGetLastError(as_nccl(comm_)), ")"));
  *in_progress = state == ncclInProgress;
  const double waited = now_seconds() - start;
  if (timeout_s_ > 0 && waited > timeout_s_)
    return fail(what, concat("not done within ", timeout_s_,
                             " s (--comm-timeout): another rank has probably died or hung"));
  return Status();
}

Status NcclCommunicator::settle(const std::string& what) {
  const double start = now_seconds();
  for (;;) {
    bool in_progress = false;
    if (Status s = poll(what, start, &in_progress); !s.ok()) return s;
    if (!in_progress) return Status();
    poll_pause(now_seconds() - start);
  }
}

Status NcclCommunicator::create(Communicator& host, int dev, double timeout_s,
                                std::unique_ptr<NcclCommunicator>* out) {
  std::unique_ptr<NcclCommunicator> c(new NcclCommunicator());
  c->host_ = &host;
  c->info_ = host.info();
  c->dev_ = dev;
  c->timeout_s_ = timeout_s;
  // Rank 0's id and whether making it worked: every rank fails alike if it did not.
  struct {
    ncclUniqueId id;
    std::int32_t rc;
  } shared{};
  if (host.rank() == 0) shared.rc = static_cast<std::int32_t>(ncclGetUniqueId(&shared.id));
  if (Status s = host.broadcast(&shared, sizeof shared, 0); !s.ok()) return s;
  if (shared.rc != ncclSuccess)
    return Status::error(concat("ncclGetUniqueId failed on rank 0: ",
                                ncclGetErrorString(static_cast<ncclResult_t>(shared.rc))));
  const ncclUniqueId& id = shared.id;
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const ncclResult_t rc = ncclCommInitRankConfig(&comm, host.world_size(), id, host.rank(), &config);
  c->comm_ = comm;
  Status s = rc == ncclSuccess || rc == ncclInProgress
                 ? c->settle("communicator initialisation")
                 : c->fail("ncclCommInitRankConfig",
                           concat(ncclGetErrorString(rc), " (", ncclGetLastError(nullptr), ")"));
  if (!s.ok()) {
    // Not aborted: ncclCommAbort joins NCCL's initialisation thread, which may be stuck on
    // a dead peer. The half-made communicator is left to the process's end, which the
    // caller brings next (abort_job).
    c->comm_ = nullptr;
    return s;
  }
  kernels::cuda_detail::forget_library_errors();  // NCCL's own probes (peer access, driver entry points)
  c->own_stream_ = device::stream_create();
  c->own_event_ = device::event_create();
  c->d_barrier_ = device::alloc(sizeof(float));
  // The barrier all-reduces this float; zeroed so it never reads uninitialised memory
  // (compute-sanitizer's initcheck).
  device::fill_bytes(c->d_barrier_, 0, sizeof(float), c->own_stream_);
  device::synchronize(c->own_stream_);
  *out = std::move(c);
  return Status();
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ && !aborted_) {
    if (std::uncaught_exceptions() > 0) {
      // Unwinding: other ranks may not be here to finalize with us, and waiting for them
      // could hang. The communicator is left to the process exit (or MPI_Abort).
    } else if (broken_) {
      abort();
    } else {
      // Finalize flushes outstanding work; on a non-blocking communicator it may be pending.
      const ncclResult_t rc = ncclCommFinalize(as_nccl(comm_));
      if (rc == ncclSuccess || rc == ncclInProgress)
        (void)settle("finalize");
      else
        broken_ = true;  // a communicator that reported an error is aborted, not destroyed
      if (broken_)
        abort();
      else
        (void)ncclCommDestroy(as_nccl(comm_));
    }
  }
  device::release(d_barrier_);
  device::event_destroy(own_event_);
  device::stream_destroy(own_stream_);
}

void NcclCommunicator::abort() noexcept {
  if (comm_ && !aborted_) {
    aborted_ = true;
    (void)ncclCommAbort(as_nccl(comm_));
  }
}

Status NcclCommunicator::wait_event(void* event, const std::string& what) {
  const double start = now_seconds();
  for (;;) {
    if (aborted_ || broken_) return Status::error(concat("NCCL ", what, ": the communicator failed earlier"));
    const cudaError_t q = kernels::cuda_detail::query_event(event);
    if (q == cudaSuccess) return Status();
    if (q != cudaErrorNotReady) return fail(what, concat("CUDA: ", cudaGetErrorString(q)));
    bool in_progress = false;
    if (Status s = poll(what, start, &in_progress); !s.ok()) return s;
    poll_pause(now_seconds() - start);
  }
}

Status NcclCommunicator::run_sync(const std::string& what) {
  device::event_record(own_event_, own_stream_);
  return wait_event(own_event_, what);
}

#define DP_NCCL_ENQUEUE(what, call)                                                     \
  do {                                                                                  \
    if (aborted_ || broken_)                                                            \
      return Status::error(concat("NCCL ", what, ": the communicator failed earlier")); \
    const ncclResult_t dp_nccl_rc_ = (call);                                            \
    if (dp_nccl_rc_ != ncclSuccess && dp_nccl_rc_ != ncclInProgress)                    \
      return fail(what, concat(#call, ": ", ncclGetErrorString(dp_nccl_rc_), " (",      \
                               ncclGetLastError(as_nccl(comm_)), ")"));                 \
    if (dp_nccl_rc_ == ncclInProgress)                                                  \
      if (Status dp_s_ = settle(what); !dp_s_.ok()) return dp_s_;                       \
    kernels::cuda_detail::forget_library_errors();                                      \
  } while (0)

Status NcclCommunicator::all_reduce_on(float* d_data, std::size_t count, DeviceReduce op, void* stream,
                                       const char* what) {
  if (count == 0) return Status();
  DP_NCCL_ENQUEUE(
      what, ncclAllReduce(d_data, d_data, count, ncclFloat32, op == DeviceReduce::avg ? ncclAvg : ncclSum,
                          as_nccl(comm_), as_stream(stream)));
  return Status();
}

Status NcclCommunicator::all_reduce(void* d_data, std::size_t count, DataType type, ReduceOp op) {
  if (count == 0) return Status();
  DP_NCCL_ENQUEUE("all_reduce", ncclAllReduce(d_data, d_data, count, to_nccl(type), to_nccl(op),
                                              as_nccl(comm_), as_stream(own_stream_)));
  return run_sync("all_reduce");
}

Status NcclCommunicator::all_reduce_avg(void* d_data, std::size_t count, DataType type) {
  if (type != DataType::f32 && type != DataType::f64)
    return Status::error("all_reduce_avg: averaging needs a floating type");
  if (count == 0) return Status();
  DP_NCCL_ENQUEUE("all_reduce_avg", ncclAllReduce(d_data, d_data, count, to_nccl(type), ncclAvg,
                                                  as_nccl(comm_), as_stream(own_stream_)));
  return run_sync("all_reduce_avg");
}

Status NcclCommunicator::broadcast(void* d_data, std::size_t nbytes, int root) {
  if (root < 0 || root >= info_.world_size)
    return Status::error(concat("broadcast: root ", root, " outside [0, ", info_.world_size, ")"));
  if (nbytes == 0) return Status();
  DP_NCCL_ENQUEUE("broadcast", ncclBroadcast(d_data, d_data, nbytes, ncclUint8, root, as_nccl(comm_),
                                             as_stream(own_stream_)));
  return run_sync("broadcast");
}

Status NcclCommunicator::all_gather(const void* d_send, void* d_recv, std::size_t nbytes_per_rank) {
  if (nbytes_per_rank == 0) return Status();
  DP_NCCL_ENQUEUE("all_gather", ncclAllGather(d_send, d_recv, nbytes_per_rank, ncclUint8, as_nccl(comm_),
                                              as_stream(own_stream_)));
  return run_sync("all_gather");
}

Status NcclCommunicator::barrier() {
  // A one-element all-reduce: returns only when every rank has reached it.
  return all_reduce(d_barrier_, 1, DataType::f32, ReduceOp::sum);
}

void NcclCommunicator::abort_job(int exit_code) {
  // No ncclCommAbort first: it may wait for peers, and the job must end now.
  host_->abort_job(exit_code);
  std::_Exit(exit_code);  // not reached: abort_job does not return
}

}  // namespace dp
