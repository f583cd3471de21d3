#include "comm/mpi_comm.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "comm/bootstrap.h"
#include "src/util/check.h"

namespace dp {
namespace {

// Breadcrumb-carrying error: "MPI_Allreduce (comm/mpi_comm.cpp:57): MPI_ERR_...".
#define DP_MPI_TRY(call)                                                                                   \
  do {                                                                                                     \
    const int dp_rc_ = (call);                                                                             \
    if (dp_rc_ != MPI_SUCCESS)                                                                             \
      return Status::error(concat(#call, " (", __FILE__, ":", __LINE__, "): ", mpi_error_string(dp_rc_))); \
  } while (0)

MPI_Datatype to_mpi(DataType t) {
  switch (t) {
    case DataType::f32:
      return MPI_FLOAT;
    case DataType::f64:
      return MPI_DOUBLE;
    case DataType::i64:
      return MPI_INT64_T;
    case DataType::u64:
      return MPI_UINT64_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op to_mpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return MPI_SUM;
    case ReduceOp::min:
      return MPI_MIN;
    case ReduceOp::max:
      return MPI_MAX;
  }
  return MPI_OP_NULL;
}

// MPI-3 counts are int: larger messages go in chunks of at most this many elements.
constexpr std::size_t kMaxChunkCount = static_cast<std::size_t>(INT_MAX);

}  // namespace

std::size_t datatype_nbytes(DataType t) {
  switch (t) {
    case DataType::f32:
      return 4;
    case DataType::f64:
      return 8;
    case DataType::i64:
      return 8;
    case DataType::u64:
      return 8;
  }
  return 0;
}

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return concat("MPI error code ", code);
  return std::string(text, static_cast<std::size_t>(len));
}

Status MpiCommunicator::create(MPI_Comm base, MpiCommunicator** out) {
  if (!mpi_is_initialized()) return Status::error("MpiCommunicator: MPI is not initialised");
  auto* c = new MpiCommunicator();
  auto fail = [&](int rc, const char* call) {
    delete c;
    return Status::error(concat(call, ": ", mpi_error_string(rc)));
  };
  int rc = MPI_Comm_dup(base, &c->comm_);
  if (rc != MPI_SUCCESS) return fail(rc, "MPI_Comm_dup");
  rc = MPI_Comm_set_errhandler(c->comm_, MPI_ERRORS_RETURN);
  if (rc != MPI_SUCCESS) return fail(rc, "MPI_Comm_set_errhandler");
  MPI_Comm_rank(c->comm_, &c->info_.rank);
  MPI_Comm_size(c->comm_, &c->info_.world_size);

  MPI_Comm node = MPI_COMM_NULL;
  rc = MPI_Comm_split_type(c->comm_, MPI_COMM_TYPE_SHARED, c->info_.rank, MPI_INFO_NULL, &node);
  if (rc != MPI_SUCCESS) return fail(rc, "MPI_Comm_split_type");
  MPI_Comm_rank(node, &c->info_.local_rank);
  MPI_Comm_size(node, &c->info_.local_size);
  rc = MPI_Allreduce(&c->info_.rank, &c->info_.node, 1, MPI_INT, MPI_MIN, node);
  MPI_Comm_free(&node);
  if (rc != MPI_SUCCESS) return fail(rc, "MPI_Allreduce(node)");

  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int name_len = 0;
  MPI_Get_processor_name(name, &name_len);
  c->info_.host.assign(name, static_cast<std::size_t>(name_len));
  *out = c;
  return Status();
}

MpiCommunicator::~MpiCommunicator() {
  if (comm_ != MPI_COMM_NULL && mpi_is_initialized()) MPI_Comm_free(&comm_);
}

Status MpiCommunicator::all_reduce(void* data, std::size_t count, DataType type, ReduceOp op) {
  if (count == 0 || info_.world_size == 1) return Status();  // a no-op; the result is the input
  auto* bytes = static_cast<char*>(data);
  const std::size_t elem = datatype_nbytes(type);
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(count - done, kMaxChunkCount);
    DP_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, bytes + done * elem, static_cast<int>(n), to_mpi(type), to_mpi(op),
                             comm_));
    done += n;
  }
  return Status();
}

Status MpiCommunicator::all_reduce_avg(void* data, std::size_t count, DataType type) {
  if (type != DataType::f32 && type != DataType::f64)
    return Status::error("all_reduce_avg: averaging needs a floating type");
  if (auto s = all_reduce(data, count, type, ReduceOp::sum); !s.ok()) return s;
  if (info_.world_size == 1) return Status();
  // SUM then scale by 1/N: the same scale factor on every rank keeps replicas identical.
  if (type == DataType::f32) {
    const float inv = 1.0f / static_cast<float>(info_.world_size);
    auto* x = static_cast<float*>(data);
    for (std::size_t i = 0; i < count; ++i) x[i] *= inv;
  } else {
    const double inv = 1.0 / static_cast<double>(info_.world_size);
    auto* x = static_cast<double*>(data);
    for (std::size_t i = 0; i < count; ++i) x[i] *= inv;
  }
  return Status();
}

Status MpiCommunicator::broadcast(void* data, std::size_t nbytes, int root) {
  if (root < 0 || root >= info_.world_size)
    return Status::error(concat("broadcast: root ", root, " outside [0, ", info_.world_size, ")"));
  if (nbytes == 0 || info_.world_size == 1) return Status();
  auto* bytes = static_cast<char*>(data);
  for (std::size_t done = 0; done < nbytes;) {
    const std::size_t n = std::min(nbytes - done, kMaxChunkCount);
    DP_MPI_TRY(MPI_Bcast(bytes + done, static_cast<int>(n), MPI_BYTE, root, comm_));
    done += n;
  }
  return Status();
}

Status MpiCommunicator::all_gather(const void* send, void* recv, std::size_t nbytes_per_rank) {
  if (nbytes_per_rank > kMaxChunkCount)
    return Status::error(concat("all_gather: ", nbytes_per_rank, " bytes per rank exceeds 2^31-1"));
  DP_MPI_TRY(MPI_Allgather(send, static_cast<int>(nbytes_per_rank), MPI_BYTE, recv,
                           static_cast<int>(nbytes_per_rank), MPI_BYTE, comm_));
  return Status();
}

Status MpiCommunicator::barrier() {
  DP_MPI_TRY(MPI_Barrier(comm_));
  return Status();
}

void MpiCommunicator::abort_job(int exit_code) {
  MPI_Abort(comm_, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest.
}

}  // namespace dp
