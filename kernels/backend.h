// The backend seam. Every op entry (kernels/<op>.h) takes a Context, checks its
// arguments once, and dispatches to the twin for ctx.backend:
//   kernels/cpu/<op>.cpp   plain loops or CBLAS; the reference and the CPU backend
//   kernels/cuda/<op>.cu   CUDA kernels + launchers (the GPU issue), same signature + stream
// A backend that is not compiled in fails the entry's check with a clear message.
#pragma once

#include <cstdint>
#include <string>

namespace dp {

enum class Backend { cpu, cuda };

const char* backend_name(Backend b);
bool backend_available(Backend b);  // cuda: compiled in and a device present

namespace kernels {

struct Context {
  Backend backend = Backend::cpu;
  void* stream = nullptr;       // cudaStream_t on the CUDA backend
  void* blas_handle = nullptr;  // cublasHandle_t on the CUDA backend
};

}  // namespace kernels
}  // namespace dp

namespace dp::kernels {

// Threads used by the CPU backend's BLAS (OpenBLAS). Call before training starts.
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace dp::kernels
