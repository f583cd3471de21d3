// MPI start-up and shutdown, and the facts every rank needs about where it runs.
//   mpi_init():  MPI_Init_thread (SERIALIZED), MPI_ERRORS_RETURN on MPI_COMM_WORLD.
//   Works as a singleton (no mpirun) with world size 1. Rank, world size, host and
//   local rank come from MpiCommunicator::info().
#pragma once

#include <cstddef>

#include "comm/communicator.h"

namespace dp {

// MPI libraries allocate scratch space of a message's size inside large collectives (Open
// MPI's all-reduce: count * extent bytes per call). glibc serves every block above its mmap
// threshold (at most 32 MiB by default) with a fresh mmap and unmaps it on free, so each
// such call page-faults its whole scratch in again (10x slower all-reduces measured).
// keep_large_blocks_in_heap(nbytes) makes glibc serve blocks of messages up to nbytes (at
// least kDefaultHeapBlockNbytes, at most 2 GiB) from the heap and keep as much free memory
// at the heap's top for the next call instead of returning it to the system: the price is
// that a rank's resident memory stays at its peak up to that much. It only ever raises the
// limit. The first call also puts every thread started afterwards on glibc's main arena
// (another thread's arena cannot hold a block above 64 MiB: the gradient-communication
// thread's buckets would be mapped afresh each time); mpi_init makes that first call, with
// kDefaultHeapBlockNbytes, before MPI starts. Callers that know their largest message
// raise it (the trainer: its largest gradient bucket; dpbench: its largest size).
// False when nbytes is not covered: the user set glibc's malloc options (MALLOC_*
// variables, glibc.malloc in GLIBC_TUNABLES; then nothing is changed), the allocator is
// not glibc's, nbytes is above 2 GiB, or glibc refused the threshold (some versions accept
// at most 32 MiB, which is then set).
inline constexpr std::size_t kDefaultHeapBlockNbytes = std::size_t{64} << 20;
bool keep_large_blocks_in_heap(std::size_t nbytes);
// True when the user set glibc's malloc options (then they are left alone).
bool user_malloc_settings();
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
