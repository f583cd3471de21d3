// MPI start-up and shutdown, and the facts every rank needs about where it runs.
//   mpi_init():  MPI_Init_thread (SERIALIZED), MPI_ERRORS_RETURN on MPI_COMM_WORLD.
//   Works as a singleton (no mpirun) with world size 1. Rank, world size, host and
//   local rank come from MpiCommunicator::info().
#pragma once

#include "comm/communicator.h"

namespace dp {

// Called by mpi_init before MPI starts. MPI libraries allocate scratch space of a
// message's size inside large collectives (Open MPI's all-reduce: count * extent bytes per
// call). glibc serves every block above its mmap threshold (at most 32 MiB by default)
// with a fresh mmap and unmaps it on free, so each such call page-faults its whole scratch
// in again. This keeps blocks below 2 GiB in the heap, keeps up to 2 GiB of free memory at
// the heap's top for the next call, and puts every thread on the main arena (another
// thread's arena cannot hold a block above 64 MiB: the gradient-communication thread's
// buckets would be mapped afresh each time). False, and nothing changed, when the user set
// glibc's malloc options (MALLOC_*_ variables, glibc.malloc in GLIBC_TUNABLES) or the C
// library is not glibc.
bool keep_large_blocks_in_heap();
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
