// CUDA_CHECK / CUBLAS_CHECK / KERNEL_CHECK: the CUDA members of the DP_CHECK family
// (src/util/check.h). On failure: rank, host, file:line, the call and the library's own
// error string, then the whole job aborts. Only for code under kernels/cuda and comm/.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/cublas_loader.h"
#include "src/util/check.h"

#define CUDA_CHECK(call)                                                                       \
  do {                                                                                         \
    const cudaError_t dp_cuda_rc_ = (call);                                                    \
    if (dp_cuda_rc_ != cudaSuccess)                                                            \
      ::dp::check_failed(                                                                      \
          __FILE__, __LINE__, #call,                                                           \
          ::dp::concat(cudaGetErrorName(dp_cuda_rc_), ": ", cudaGetErrorString(dp_cuda_rc_))); \
  } while (0)

#define CUBLAS_CHECK(call)                                                                                   \
  do {                                                                                                       \
    const cublasStatus_t dp_cublas_rc_ = (call);                                                             \
    if (dp_cublas_rc_ != CUBLAS_STATUS_SUCCESS)                                                              \
      ::dp::check_failed(__FILE__, __LINE__, #call,                                                          \
                         ::dp::concat(::dp::kernels::cuda_detail::cublas().status_name(dp_cublas_rc_), ": ", \
                                      ::dp::kernels::cuda_detail::cublas().status_string(dp_cublas_rc_)));   \
  } while (0)

// After every kernel launch: a bad launch configuration is reported here, at its source,
// not by the next unrelated CUDA call. It reads (and clears) this thread's last error, so
// that must be clean before the launch: cudaErrorNotReady is a query's answer, never a
// launch's, and libraries that succeed may leave an error they handled themselves (see
// forget_library_errors).
#define KERNEL_CHECK() CUDA_CHECK(::dp::kernels::cuda_detail::launch_error())

namespace dp::kernels::cuda_detail {
inline cudaStream_t stream_of(void* stream) {
  return static_cast<cudaStream_t>(stream);
}

inline cudaError_t launch_error() {
  const cudaError_t rc = cudaGetLastError();
  return rc == cudaErrorNotReady ? cudaSuccess : rc;
}

// After a cuBLAS, cuBLASLt or NCCL call that succeeded: an error the library met and
// handled inside (a probe of a driver entry point, peer access already enabled, an event
// query not ready) may stay as this thread's last error, and the next KERNEL_CHECK would
// blame a healthy launch for it. A sticky error (a kernel's illegal address) is not lost:
// every later call returns it again.
inline void forget_library_errors() {
  (void)cudaGetLastError();
}

// cudaEventQuery answers cudaErrorNotReady while the work before the event still runs.
// That is an answer, not a failure, but the runtime may also keep it as this thread's
// "last error", and the next KERNEL_CHECK (cudaPeekAtLastError) would then report it
// against an unrelated, healthy launch. Every poll goes through here, which forgets it.
inline cudaError_t query_event(void* event) {
  const cudaError_t rc = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (rc == cudaErrorNotReady && cudaPeekAtLastError() == cudaErrorNotReady) (void)cudaGetLastError();
  return rc;
}
}  // namespace dp::kernels::cuda_detail
