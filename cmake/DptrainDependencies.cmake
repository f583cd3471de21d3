# All third-party dependencies come from Debian packages (see launch/install-deps.sh).
# Each one becomes an imported target; nothing is downloaded at configure time.

# The C++ component (found through mpicxx) is used with only the MPI C API, see comm/.
find_package(MPI 3.1 REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(CLI11 2.1 CONFIG REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Threads REQUIRED)

# OpenBLAS: we need its CBLAS header and openblas_set_num_threads, so we look for
# OpenBLAS itself rather than any libblas.  BLAS_LIBRARIES may point at it by hand.
find_path(DPTRAIN_CBLAS_INCLUDE_DIR cblas.h
  PATH_SUFFIXES x86_64-linux-gnu/openblas-pthread aarch64-linux-gnu/openblas-pthread
                openblas-pthread openblas)
if(BLAS_LIBRARIES)
  set(DPTRAIN_OPENBLAS_LIBRARY "${BLAS_LIBRARIES}" CACHE FILEPATH "OpenBLAS library" FORCE)
else()
  find_library(DPTRAIN_OPENBLAS_LIBRARY NAMES openblas
    PATH_SUFFIXES openblas-pthread x86_64-linux-gnu/openblas-pthread aarch64-linux-gnu/openblas-pthread)
endif()
if(NOT DPTRAIN_CBLAS_INCLUDE_DIR OR NOT DPTRAIN_OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS (cblas.h and libopenblas) not found: install libopenblas-dev "
                      "(launch/install-deps.sh does it) or pass -DBLAS_LIBRARIES=/path/libopenblas.so")
endif()
add_library(dptrain_openblas INTERFACE)
target_include_directories(dptrain_openblas SYSTEM INTERFACE ${DPTRAIN_CBLAS_INCLUDE_DIR})
target_link_libraries(dptrain_openblas INTERFACE ${DPTRAIN_OPENBLAS_LIBRARY} Threads::Threads)
message(STATUS "dptrain: OpenBLAS ${DPTRAIN_OPENBLAS_LIBRARY} (cblas.h in ${DPTRAIN_CBLAS_INCLUDE_DIR})")

if(DPTRAIN_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
