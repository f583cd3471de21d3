// Catch2 v2 main for tests that run under mpiexec: every rank runs every test case,
// MPI is initialised around the session, and the exit code is non-zero if any
// assertion failed on this rank (mpiexec then fails the ctest).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "comm/bootstrap.h"
#include "comm/mpi_comm.h"
#include "src/util/check.h"

int main(int argc, char** argv) {
  if (dp::Status s = dp::mpi_init(&argc, &argv); !s.ok()) {
    std::fprintf(stderr, "mpi_init: %s\n", s.message().c_str());
    return 1;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_Get_processor_name(host, &len);
  dp::set_process_identity(rank, host);
  const int failed = Catch::Session().run(argc, argv);
  dp::mpi_finalize();
  return failed;
}
