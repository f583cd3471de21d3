// Status: what comm/ (and later the CUDA/NCCL layers) return instead of aborting.
// The caller decides: the trainer turns a bad Status into DP_CHECK_OK (abort the job),
// a test can assert on it. The message carries breadcrumbs: "MPI_Allreduce
// (comm/mpi_comm.cpp:88): MPI_ERR_TRUNCATE: message truncated".
#pragma once

#include <string>
#include <utility>

namespace dp {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status error(std::string message) { return Status(std::move(message)); }
  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace dp
