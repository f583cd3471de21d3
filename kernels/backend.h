// The backend seam. Every op entry (kernels/<op>.h) takes a Context, checks its
// arguments once, and dispatches to the twin for ctx.backend:
//   kernels/cpu/<op>.cpp   plain loops or CBLAS; the reference and the CPU backend
//   kernels/cuda/<op>.cu   CUDA kernels + launchers (the GPU issue), same signature + stream
// A backend that is not compiled in fails the entry's check with a clear message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dp {

enum class Backend { cpu, cuda };

const char* backend_name(Backend b);
bool backend_available(Backend b);  // cuda: compiled in and a device present

namespace kernels {

// On the CUDA backend every pointer an op receives is device memory, every op is
// enqueued on ctx.stream, and ops that return a value to the host (loss sums, counts,
// buffer statistics) synchronise that stream. A Context is made by device::Runtime
// (kernels/device.h); the CPU backend needs none of the pointers.
struct Context {
  Backend backend = Backend::cpu;
  void* stream = nullptr;       // cudaStream_t on the CUDA backend
  void* blas_handle = nullptr;  // cublasHandle_t on the CUDA backend
  // Scratch for reductions that end on the host: device memory and pinned host memory,
  // kScratchNbytes each, owned by the Runtime; ops on one stream use them in turn.
  void* d_scratch = nullptr;
  void* h_scratch = nullptr;
  static constexpr std::size_t kScratchNbytes = 64 * 1024;
  // cuBLASLt (fused GEMM epilogues): its handle (null when cuBLASLt is not usable) and a
  // device workspace of kWorkspaceNbytes for its algorithms.
  void* lt_handle = nullptr;
  void* d_workspace = nullptr;
  static constexpr std::size_t kWorkspaceNbytes = 8 * 1024 * 1024;
  bool allow_tf32 = false;  // TF32 tensor cores in GEMMs (--tf32)
};

}  // namespace kernels
}  // namespace dp

namespace dp::kernels {

// Threads used by the CPU backend's BLAS (OpenBLAS). Call before training starts.
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace dp::kernels
