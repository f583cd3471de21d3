// MPI implementation of Communicator over MPI_COMM_WORLD (or a duplicate of a given
// communicator). Host buffers. Messages above 2^31-1 elements are split into chunks,
// so any count works with the int-count MPI-3 API.
#pragma once

#include <mpi.h>

#include "comm/communicator.h"

namespace dp {

class MpiCommunicator final : public Communicator {
 public:
  // Duplicates `base` (so our traffic never mixes with the user's), sets
  // MPI_ERRORS_RETURN on the duplicate. MPI must be initialised (see bootstrap.h).
  static Status create(MPI_Comm base, MpiCommunicator** out);
  ~MpiCommunicator() override;

  const RankInfo& info() const override { return info_; }
  using Communicator::all_reduce;  // the typed overloads
  Status all_reduce(void* data, std::size_t count, DataType type, ReduceOp op) override;
  Status all_reduce_avg(void* data, std::size_t count, DataType type) override;
  Status broadcast(void* data, std::size_t nbytes, int root) override;
  Status all_gather(const void* send, void* recv, std::size_t nbytes_per_rank) override;
  Status barrier() override;
  [[noreturn]] void abort_job(int exit_code) override;

  MPI_Comm mpi_comm() const { return comm_; }

 private:
  MpiCommunicator() = default;
  MPI_Comm comm_ = MPI_COMM_NULL;
  RankInfo info_;
};

// The error string of an MPI return code, e.g. "MPI_ERR_TRUNCATE: message truncated".
std::string mpi_error_string(int code);

}  // namespace dp
