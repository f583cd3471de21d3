// cuBLAS, loaded on first use instead of at program start.
//
// Why: libcublasLt is ~540 MB and merely loading it costs ~0.5 s per process (measured:
// an empty program linked against it takes 0.43-0.60 s to start, against 0.00 s for
// cudart or NCCL). Every CPU rank and every test process would pay that for a library
// only the CUDA backend uses. So the executable does not link cuBLAS; the first
// device::Runtime dlopen()s it and resolves the few functions dptrain calls.
// Host code only; the types come from cublas_v2.h, the code from the shared library.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>

namespace dp::kernels::cuda_detail {

struct CublasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSetPointerMode_v2) set_pointer_mode = nullptr;
  decltype(&cublasSgemm_v2_64) sgemm_64 = nullptr;
  decltype(&cublasGetStatusName) status_name = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

// Loads the library on the first call (thread-safe); a library or symbol that cannot be
// found aborts with a message naming it and what was tried.
const CublasApi& cublas();

// cuBLASLt, for GEMMs with fused epilogues (kernels/cuda/linear.cpp). Optional: nullptr
// when the library or a symbol is missing, or when DPTRAIN_CUBLASLT=0 (the callers then
// use cuBLAS and separate kernels).
struct CublasLtApi {
  decltype(&cublasLtCreate) create = nullptr;
  decltype(&cublasLtDestroy) destroy = nullptr;
  decltype(&cublasLtMatmulDescCreate) desc_create = nullptr;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set = nullptr;
  decltype(&cublasLtMatrixLayoutCreate) layout_create = nullptr;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create = nullptr;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set = nullptr;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy = nullptr;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&cublasLtMatmul) matmul = nullptr;
};
const CublasLtApi* cublas_lt();

}  // namespace dp::kernels::cuda_detail
