// kernels/device.h on the CUDA runtime (host code; built only with the CUDA backend).
#include "kernels/device.h"

#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>

#include <cstdio>

#include "kernels/cuda/cuda_check.h"

namespace dp::device {

using kernels::cuda_detail::stream_of;

bool compiled() {
  return true;
}

namespace {
// cudaGetDeviceCount once: no driver or no device is an answer (0 devices), not an error.
struct Probe {
  int devices = 0;
  cudaError_t rc = cudaSuccess;
};
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    r.rc = cudaGetDeviceCount(&r.devices);
    if (r.rc != cudaSuccess) {
      (void)cudaGetLastError();  // not sticky: clear it
      r.devices = 0;
    }
    return r;
  }();
  return p;
}
}  // namespace

int count() {
  return probe().devices;
}

std::string unavailable_reason() {
  const Probe& p = probe();
  if (p.devices > 0) return "";
  if (p.rc == cudaSuccess || p.rc == cudaErrorNoDevice) return "no CUDA device visible";
  if (p.rc == cudaErrorInsufficientDriver)
    return concat("no usable CUDA driver (none installed, or older than this CUDA ", CUDART_VERSION / 1000,
                  ".", CUDART_VERSION % 1000 / 10, " build needs: ", cudaGetErrorName(p.rc), ")");
  return concat("CUDA is unusable here (", cudaGetErrorName(p.rc), ": ", cudaGetErrorString(p.rc), ")");
}

std::string pci_bus_id(int dev) {
  char id[64] = {};
  CUDA_CHECK(cudaDeviceGetPCIBusId(id, sizeof id, dev));
  return id;
}

std::string describe(int dev) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  int driver = 0;
  CUDA_CHECK(cudaDriverGetVersion(&driver));
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f",
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return concat(prop.name, " (sm_", prop.major, prop.minor, ", ", gib, " GiB, ", prop.multiProcessorCount,
                " SMs, driver ", driver / 1000, ".", (driver % 1000) / 10, ")");
}

void select(int dev) {
  CUDA_CHECK(cudaSetDevice(dev));
}

int current() {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  return dev;
}

void* alloc(std::size_t nbytes) {
  void* p = nullptr;
  if (nbytes == 0) return nullptr;
  CUDA_CHECK(cudaMalloc(&p, nbytes));
  return p;
}

void release(void* d_ptr) noexcept {
  if (d_ptr) (void)cudaFree(d_ptr);
}

void* alloc_pinned(std::size_t nbytes) {
  void* p = nullptr;
  if (nbytes == 0) return nullptr;
  CUDA_CHECK(cudaMallocHost(&p, nbytes));
  return p;
}

void release_pinned(void* h_ptr) noexcept {
  if (h_ptr) (void)cudaFreeHost(h_ptr);
}

void copy(void* dst, const void* src, std::size_t nbytes, void* stream) {
  if (nbytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, stream_of(stream)));
}

void fill_bytes(void* d_ptr, int byte, std::size_t nbytes, void* stream) {
  if (nbytes == 0) return;
  CUDA_CHECK(cudaMemsetAsync(d_ptr, byte, nbytes, stream_of(stream)));
}

void synchronize_device() {
  CUDA_CHECK(cudaDeviceSynchronize());
}

void synchronize(void* stream) {
  CUDA_CHECK(cudaStreamSynchronize(stream_of(stream)));
}

std::size_t free_nbytes() {
  std::size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

void event_wait_host(void* event) {
  CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

void* event_create() {
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void event_destroy(void* event) noexcept {
  if (event) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void event_record(void* event, void* stream) {
  CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), stream_of(stream)));
}

void stream_wait(void* stream, void* event) {
  CUDA_CHECK(cudaStreamWaitEvent(stream_of(stream), static_cast<cudaEvent_t>(event), 0));
}

bool event_done(void* event) {
  const cudaError_t rc = kernels::cuda_detail::query_event(event);
  if (rc == cudaErrorNotReady) return false;
  CUDA_CHECK(rc);
  return true;
}

void* stream_create() {
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy(void* stream) noexcept {
  if (stream) (void)cudaStreamDestroy(stream_of(stream));
}

NvtxRange::NvtxRange(const char* name) {
  nvtxRangePushA(name);
}
NvtxRange::~NvtxRange() {
  nvtxRangePop();
}

Runtime::Runtime(int dev, bool allow_tf32) : dev_(dev) {
  select(dev);
  ctx_.backend = Backend::cuda;
  ctx_.stream = stream_create();
  cublasHandle_t handle = nullptr;
  const auto& blas = kernels::cuda_detail::cublas();
  CUBLAS_CHECK(blas.create(&handle));
  CUBLAS_CHECK(blas.set_stream(handle, stream_of(ctx_.stream)));
  // Default math never uses TF32 for float GEMMs; TF32 tensor cores only on request.
  CUBLAS_CHECK(blas.set_math_mode(handle, allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  ctx_.blas_handle = handle;
  ctx_.allow_tf32 = allow_tf32;
  // cuBLASLt is optional: without it linear_forward runs GEMM, bias and ReLU separately.
  if (const auto* lt = kernels::cuda_detail::cublas_lt()) {
    cublasLtHandle_t lt_handle = nullptr;
    if (lt->create(&lt_handle) == CUBLAS_STATUS_SUCCESS) {
      ctx_.lt_handle = lt_handle;
      ctx_.d_workspace = alloc(kernels::Context::kWorkspaceNbytes);
    }
  }
  ctx_.d_scratch = alloc(kernels::Context::kScratchNbytes);
  ctx_.h_scratch = alloc_pinned(kernels::Context::kScratchNbytes);
  kernels::cuda_detail::forget_library_errors();  // e.g. a failed cuBLASLt handle, handled above
}

Runtime::~Runtime() {
  if (ctx_.stream) (void)cudaStreamSynchronize(stream_of(ctx_.stream));
  if (ctx_.blas_handle)
    (void)kernels::cuda_detail::cublas().destroy(static_cast<cublasHandle_t>(ctx_.blas_handle));
  if (ctx_.lt_handle)
    (void)kernels::cuda_detail::cublas_lt()->destroy(static_cast<cublasLtHandle_t>(ctx_.lt_handle));
  release(ctx_.d_workspace);
  release(ctx_.d_scratch);
  release_pinned(ctx_.h_scratch);
  stream_destroy(ctx_.stream);
}

}  // namespace dp::device
