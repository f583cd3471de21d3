// MPI start-up and shutdown, and the facts every rank needs about where it runs.
//   mpi_init():  MPI_Init_thread (SERIALIZED), MPI_ERRORS_RETURN on MPI_COMM_WORLD.
//   Works as a singleton (no mpirun) with world size 1. Rank, world size, host and
//   local rank come from MpiCommunicator::info().
#pragma once

#include "comm/communicator.h"

namespace dp {

// Idempotent. Returns an error Status instead of aborting.
Status mpi_init(int* argc, char*** argv);
// MPI_Finalize if we initialised MPI and it is not finalised yet.
void mpi_finalize();
bool mpi_is_initialized();
// True when MPI allows calls from more than one thread, one at a time (SERIALIZED or
// better): the condition for overlapping the gradient all-reduce with backward.
bool mpi_thread_serialized();
// True when this MPI library can take CUDA device pointers in collectives (Open MPI built
// with CUDA reports it through MPIX_Query_cuda_support). DPTRAIN_MPI_CUDA_AWARE=0 turns it
// off (the gradients are then staged through host memory).
bool mpi_cuda_aware();

}  // namespace dp
