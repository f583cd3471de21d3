// The CUDA runtime as the rest of the program sees it. No CUDA header leaks out of
// kernels/: pointers are void*, streams are the void* of kernels::Context. Every call is
// checked (CUDA_CHECK: rank, host, file:line and CUDA's own error string).
// In a build without CUDA, compiled() is false, count() is 0 and everything else aborts
// with a clear message (callers check count() first).
#pragma once

#include <cstddef>
#include <string>

#include "kernels/backend.h"

namespace dp::device {

bool compiled();  // the CUDA backend is part of this build
// Usable CUDA devices; 0 without the backend, a driver or a device (never aborts).
int count();
// Why count() is 0, for messages: "no CUDA device visible", "no usable CUDA driver
// (cudaErrorInsufficientDriver: ...)", "this build has no CUDA backend ..."; "" when
// there are devices.
std::string unavailable_reason();
// The PCI bus id of device dev ("0000:1b:00.0"): the same physical GPU gives the same id
// in every process of a host, whatever CUDA_VISIBLE_DEVICES numbers it.
std::string pci_bus_id(int dev);
// One line about device dev: "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB, driver 13.0)".
std::string describe(int dev);
void select(int dev);  // cudaSetDevice
int current();

void* alloc(std::size_t nbytes);  // device memory (uninitialised)
void release(void* d_ptr) noexcept;
void* alloc_pinned(std::size_t nbytes);  // page-locked host memory, for async copies
void release_pinned(void* h_ptr) noexcept;

// Asynchronous on stream (nullptr = the legacy default stream); host memory must be
// pinned for the copy to be truly asynchronous. The direction is inferred (UVA).
void copy(void* dst, const void* src, std::size_t nbytes, void* stream);
void fill_bytes(void* d_ptr, int byte, std::size_t nbytes, void* stream);
void synchronize(void* stream);
void synchronize_device();  // every stream of the current device (cudaDeviceSynchronize)
std::size_t free_nbytes();  // free memory of the current device (cudaMemGetInfo)

// Events order two streams without blocking the host: record on one, wait on the other.
void* event_create();  // timing disabled
void event_destroy(void* event) noexcept;
void event_record(void* event, void* stream);
void stream_wait(void* stream, void* event);
bool event_done(void* event);       // cudaEventQuery: true when complete, aborts on error
void event_wait_host(void* event);  // blocks the host until the event has completed

void* stream_create();  // non-blocking with respect to the legacy default stream
void stream_destroy(void* stream) noexcept;

// NVTX range around a phase of the step, visible in Nsight Systems (no-op without CUDA).
class NvtxRange {
 public:
  explicit NvtxRange(const char* name);
  ~NvtxRange();
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// One device's compute context: a stream, a cuBLAS handle on it, and the reduction
// scratch. TF32 tensor-core math in GEMMs only when allow_tf32 (off by default, so the
// CUDA backend agrees with the CPU backend to float32 tolerances).
class Runtime {
 public:
  Runtime(int dev, bool allow_tf32);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  const kernels::Context& context() const { return ctx_; }
  int device() const { return dev_; }

 private:
  int dev_ = 0;
  kernels::Context ctx_;
};

}  // namespace dp::device
