#include "kernels/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "src/util/check.h"

namespace dp::kernels::cuda_detail {
namespace {

template <typename F>
bool try_resolve(void* lib, const char* name, F* out) {
  void* sym = dlsym(lib, name);
  *out = reinterpret_cast<F>(sym);
  return sym != nullptr;
}

template <typename F>
void resolve(void* lib, const char* name, const std::string& from, F* out) {
  DP_CHECK(try_resolve(lib, name, out), "cuBLAS: symbol ", name, " not found in ", from);
}

CublasApi load() {
  // The soname of the cuBLAS we compiled against, found through the executable's run
  // path or the loader's search path; then the file CMake found at configure time.
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  std::string tried = soname;
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
#ifdef DPTRAIN_CUBLAS_PATH
  if (!lib) {
    lib = dlopen(DPTRAIN_CUBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    tried += std::string(", ") + DPTRAIN_CUBLAS_PATH;
  }
#endif
  if (!lib) {
    const char* why = dlerror();
    check_failed(__FILE__, __LINE__, "dlopen(cuBLAS)",
                 concat("cannot load cuBLAS (tried ", tried, "): ", why ? why : "unknown error",
                        "; put the CUDA toolkit's lib directory on LD_LIBRARY_PATH"));
  }
  CublasApi api;
  resolve(lib, "cublasCreate_v2", soname, &api.create);
  resolve(lib, "cublasDestroy_v2", soname, &api.destroy);
  resolve(lib, "cublasSetStream_v2", soname, &api.set_stream);
  resolve(lib, "cublasSetMathMode", soname, &api.set_math_mode);
  resolve(lib, "cublasSetPointerMode_v2", soname, &api.set_pointer_mode);
  resolve(lib, "cublasSgemm_v2_64", soname, &api.sgemm_64);
  resolve(lib, "cublasGetStatusName", soname, &api.status_name);
  resolve(lib, "cublasGetStatusString", soname, &api.status_string);
  return api;  // the library stays loaded for the life of the process
}

// nullptr when cuBLASLt cannot be used; never aborts (cuBLAS alone still works).
const CublasLtApi* load_lt() {
  const char* env = std::getenv("DPTRAIN_CUBLASLT");
  if (env && std::string(env) == "0") return nullptr;
  const std::string soname = "libcublasLt.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
#ifdef DPTRAIN_CUBLASLT_PATH
  if (!lib) lib = dlopen(DPTRAIN_CUBLASLT_PATH, RTLD_NOW | RTLD_LOCAL);
#endif
  if (!lib) return nullptr;
  static CublasLtApi api;
  const bool ok = try_resolve(lib, "cublasLtCreate", &api.create) &&
                  try_resolve(lib, "cublasLtDestroy", &api.destroy) &&
                  try_resolve(lib, "cublasLtMatmulDescCreate", &api.desc_create) &&
                  try_resolve(lib, "cublasLtMatmulDescSetAttribute", &api.desc_set) &&
                  try_resolve(lib, "cublasLtMatrixLayoutCreate", &api.layout_create) &&
                  try_resolve(lib, "cublasLtMatmulPreferenceCreate", &api.pref_create) &&
                  try_resolve(lib, "cublasLtMatmulPreferenceSetAttribute", &api.pref_set) &&
                  try_resolve(lib, "cublasLtMatmulPreferenceDestroy", &api.pref_destroy) &&
                  try_resolve(lib, "cublasLtMatmulAlgoGetHeuristic", &api.heuristic) &&
                  try_resolve(lib, "cublasLtMatmul", &api.matmul);
  return ok ? &api : nullptr;
}

}  // namespace

const CublasLtApi* cublas_lt() {
  static const CublasLtApi* api = load_lt();
  return api;
}

const CublasApi& cublas() {
  static const CublasApi api = load();
  return api;
}

}  // namespace dp::kernels::cuda_detail
