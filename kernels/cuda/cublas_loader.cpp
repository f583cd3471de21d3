#include "kernels/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <string>

#include "src/util/check.h"

namespace dp::kernels::cuda_detail {
namespace {

template <typename F>
void resolve(void* lib, const char* name, const std::string& from, F* out) {
  void* sym = dlsym(lib, name);
  DP_CHECK(sym != nullptr, "cuBLAS: symbol ", name, " not found in ", from);
  *out = reinterpret_cast<F>(sym);
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

}  // namespace

const CublasApi& cublas() {
  static const CublasApi api = load();
  return api;
}

}  // namespace dp::kernels::cuda_detail
