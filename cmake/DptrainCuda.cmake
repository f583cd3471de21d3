# The CUDA backend: found or not, never required.
#   DPTRAIN_HAVE_CUDA   ON when nvcc, the CUDA runtime, cuBLAS and NCCL were all found
#   dptrain_cuda        INTERFACE target: CUDA runtime, cuBLAS, NCCL, nvtx3 include dir
# nvcc is looked for on PATH, then under $CUDA_HOME, $CUDA_PATH and the toolkit's default
# prefix. Without CMAKE_CUDA_ARCHITECTURES: "native" when a GPU is visible at configure
# time, else 80-real;90 (A100 SASS, H100/H200 SASS + compute_90 PTX for newer GPUs).
set(DPTRAIN_HAVE_CUDA OFF)
if(NOT DPTRAIN_ENABLE_CUDA)
  message(STATUS "dptrain: CUDA disabled (-DDPTRAIN_ENABLE_CUDA=OFF); building the CPU backend")
  return()
endif()

if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(DPTRAIN_NVCC nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH PATH_SUFFIXES bin
               PATHS /usr/local/cuda/bin)
  if(DPTRAIN_NVCC)
    set(CMAKE_CUDA_COMPILER "${DPTRAIN_NVCC}" CACHE FILEPATH "CUDA compiler")
  endif()
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "dptrain: no CUDA compiler found; building the CPU backend only")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE smi_rc OUTPUT_VARIABLE smi_out ERROR_QUIET)
  if(smi_rc EQUAL 0 AND smi_out MATCHES "GPU 0")
    set(CMAKE_CUDA_ARCHITECTURES native CACHE STRING "CUDA architectures")
  else()
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90" CACHE STRING "CUDA architectures")
  endif()
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
find_package(CUDAToolkit REQUIRED)

find_path(DPTRAIN_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV NCCL_HOME PATH_SUFFIXES include)
find_library(DPTRAIN_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ENV NCCL_HOME PATH_SUFFIXES lib lib64)
if(NOT DPTRAIN_NCCL_INCLUDE_DIR OR NOT DPTRAIN_NCCL_LIBRARY OR NOT TARGET CUDA::cublas)
  message(WARNING "dptrain: nvcc found but cuBLAS or NCCL is missing (NCCL: ${DPTRAIN_NCCL_LIBRARY}); "
                  "building the CPU backend only")
  return()
endif()
add_library(dptrain_nccl UNKNOWN IMPORTED)
set_target_properties(dptrain_nccl PROPERTIES IMPORTED_LOCATION "${DPTRAIN_NCCL_LIBRARY}"
                      INTERFACE_INCLUDE_DIRECTORIES "${DPTRAIN_NCCL_INCLUDE_DIR}")

# cuBLAS is not linked: kernels/cuda/cublas_loader.cpp loads it on first use (loading it
# costs ~0.5 s per process, which CPU ranks and tests should not pay). Its headers come
# with the toolkit's include directory; the path found here is the loader's fallback.
get_target_property(DPTRAIN_CUBLAS_PATH CUDA::cublas IMPORTED_LOCATION)
get_target_property(DPTRAIN_CUBLASLT_PATH CUDA::cublasLt IMPORTED_LOCATION)
add_library(dptrain_cuda INTERFACE)
target_link_libraries(dptrain_cuda INTERFACE CUDA::cudart dptrain_nccl ${CMAKE_DL_LIBS})
target_compile_definitions(dptrain_cuda INTERFACE DPTRAIN_HAVE_CUDA=1)
# Device code: warnings are errors too (nvcc's own and the host compiler's; both follow
# DPTRAIN_WERROR, so -DDPTRAIN_WERROR=OFF builds with a newer toolkit that warns), and
# floating-point stays IEEE (no --use_fast_math), so kernels match their CPU twins.
add_library(dptrain_cuda_flags INTERFACE)
target_compile_options(dptrain_cuda_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra
    $<$<BOOL:${DPTRAIN_WERROR}>:--Werror=all-warnings -Xcompiler=-Werror> -lineinfo>)
set(DPTRAIN_HAVE_CUDA ON)
message(STATUS "dptrain: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures "
               "${CMAKE_CUDA_ARCHITECTURES}, NCCL ${DPTRAIN_NCCL_LIBRARY})")
