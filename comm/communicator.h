// Communicator: how ranks exchange bytes. The trainer sees only this interface; the MPI
// implementation lives in mpi_comm.*, NCCL (device buffers) arrives with the GPU issue.
//
// Every collective returns a Status instead of aborting: the caller (src/) decides.
// Buffers are host memory for the MPI implementation. Counts are ELEMENTS (count),
// sizes in bytes are nbytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/util/status.h"

namespace dp {

enum class DataType { f32, f64, i64, u64 };
enum class ReduceOp { sum, min, max };

std::size_t datatype_nbytes(DataType t);

struct RankInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // rank among the processes on this host
  int local_size = 1;  // processes on this host
  int node = 0;        // the lowest rank on this host: equal exactly for the ranks of one node
  std::string host;    // for messages (containers on different nodes may share a host name)
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual const RankInfo& info() const = 0;
  int rank() const { return info().rank; }
  int world_size() const { return info().world_size; }

  // In place: data[i] = op over ranks of data[i].
  virtual Status all_reduce(void* data, std::size_t count, DataType type, ReduceOp op) = 0;
  // In place: data[i] = (sum over ranks of data[i]) / world_size. Floating types only.
  virtual Status all_reduce_avg(void* data, std::size_t count, DataType type) = 0;
  // data (nbytes) from root to every rank.
  virtual Status broadcast(void* data, std::size_t nbytes, int root) = 0;
  // recv[r * nbytes_per_rank ...] = send of rank r; recv holds world_size * nbytes_per_rank.
  virtual Status all_gather(const void* send, void* recv, std::size_t nbytes_per_rank) = 0;
  virtual Status barrier() = 0;
  // Ends every rank of the job now (used when a rank cannot go on).
  [[noreturn]] virtual void abort_job(int exit_code) = 0;

  // Typed conveniences.
  Status all_reduce(float* d, std::size_t n, ReduceOp op) { return all_reduce(d, n, DataType::f32, op); }
  Status all_reduce(double* d, std::size_t n, ReduceOp op) { return all_reduce(d, n, DataType::f64, op); }
  Status all_reduce(std::int64_t* d, std::size_t n, ReduceOp op) {
    return all_reduce(d, n, DataType::i64, op);
  }
  Status all_reduce(std::uint64_t* d, std::size_t n, ReduceOp op) {
    return all_reduce(d, n, DataType::u64, op);
  }
};

// Broadcasts a variable-size byte container (std::string, std::vector<std::uint8_t>) from
// root: its length first, then its bytes; on the other ranks it is resized to match.
template <typename Bytes>
Status broadcast_sized(Communicator& comm, Bytes* data, int root) {
  std::uint64_t n = data->size();
  if (Status s = comm.broadcast(&n, sizeof n, root); !s.ok()) return s;
  data->resize(static_cast<std::size_t>(n));
  return comm.broadcast(data->data(), static_cast<std::size_t>(n), root);
}

}  // namespace dp
