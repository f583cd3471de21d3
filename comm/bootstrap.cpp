#include "comm/bootstrap.h"

#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI's extensions: MPIX_CUDA_AWARE_SUPPORT
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "comm/mpi_comm.h"
#include "src/util/check.h"

namespace dp {
namespace {
bool g_we_initialized = false;
int g_thread_level = MPI_THREAD_SINGLE;

Status mpi_status(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return Status();
  return Status::error(concat(call, ": ", mpi_error_string(rc)));
}
}  // namespace

bool user_malloc_settings() {
  for (const char* name : {"MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_",
                           "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(name)) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables && std::strstr(tunables, "glibc.malloc");
}

// Measured on a 2-core VM, 4 ranks: all-reducing 64 MiB took 465 ms with glibc's defaults
// (each call page-faulted Open MPI's scratch buffer in again) and 42 ms with this.
bool keep_large_blocks_in_heap(std::size_t nbytes) {
#if defined(__GLIBC__)
  static std::size_t covered_nbytes = 0;  // the threshold set so far (0: none yet)
  if (user_malloc_settings()) return false;
  // mallopt takes an int; the scratch block is a little larger than the message (header,
  // alignment), and blocks of the threshold's size or more are mapped.
  const std::size_t limit = static_cast<std::size_t>(std::numeric_limits<int>::max());
  const std::size_t want =
      nbytes >= limit ? limit + 1  // beyond reach: set the most, say false
                      : std::max(nbytes, kDefaultHeapBlockNbytes) + nbytes / 8 + (std::size_t{1} << 20);
  if (want <= covered_nbytes) return true;
  const std::size_t value = std::min(want, limit);
  bool ok = mallopt(M_MMAP_THRESHOLD, static_cast<int>(value)) == 1;
  std::size_t set = value;
  if (!ok) {
    // Some glibc versions refuse a threshold above 32 MiB: take that, which still beats the
    // dynamic threshold (it reaches 32 MiB only after the first mapped block is freed).
    set = std::size_t{32} << 20;
    if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(set)) != 1) return false;
  }
  if (covered_nbytes == 0) (void)mallopt(M_ARENA_MAX, 1);  // before the threads that need it start
  (void)mallopt(M_TRIM_THRESHOLD, static_cast<int>(set));
  covered_nbytes = set;
  return ok && want <= limit;
#else
  (void)nbytes;
  return false;
#endif
}

bool mpi_is_initialized() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  int finalized = 0;
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

Status mpi_init(int* argc, char*** argv) {
  if (!mpi_is_initialized()) {
    keep_large_blocks_in_heap(kDefaultHeapBlockNbytes);
    int provided = 0;
    // SERIALIZED: the main thread and the gradient-communication thread both call MPI,
    // never at the same time (src/train/reducer.h); the watchdog thread never calls MPI.
    const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return Status::error("MPI_Init_thread failed (is the MPI installation usable?)");
    g_we_initialized = true;
  }
  MPI_Query_thread(&g_thread_level);
  // Errors on the world communicator come back as codes instead of killing the job.
  return mpi_status(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

bool mpi_thread_serialized() {
  return g_thread_level >= MPI_THREAD_SERIALIZED;
}

bool mpi_cuda_aware() {
  const char* env = std::getenv("DPTRAIN_MPI_CUDA_AWARE");
  if (env && std::string(env) == "0") return false;
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  return MPIX_Query_cuda_support() == 1;  // the library was built with CUDA and it is enabled
#else
  return false;
#endif
}

void mpi_finalize() {
  if (g_we_initialized && mpi_is_initialized()) MPI_Finalize();
}

}  // namespace dp
