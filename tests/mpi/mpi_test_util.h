// Shared by the MPI test files: one MpiCommunicator over MPI_COMM_WORLD for the whole
// test session (MPI is initialised by mpi_catch_main.cpp).
#pragma once

#include <memory>

#include "comm/mpi_comm.h"
#include "src/util/check.h"

namespace dp::test {

inline MpiCommunicator& world() {
  static std::unique_ptr<MpiCommunicator> comm = [] {
    MpiCommunicator* c = nullptr;
    DP_CHECK_OK(MpiCommunicator::create(MPI_COMM_WORLD, &c));
    return std::unique_ptr<MpiCommunicator>(c);
  }();
  return *comm;
}

}  // namespace dp::test
