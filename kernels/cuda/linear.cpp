// CUDA twin of kernels/cpu/linear.cpp: one cuBLASLt matmul with a fused epilogue.
//
// Row-major y[rows, out] is, read column-major, D = y^T [out, rows] (ld = out), and
//   D = W · x^T:  W row-major [out, in] is column-major [in, out] (ld = in), used transposed;
//                 x row-major [rows, in] is column-major [in, rows] (ld = in), used as is.
// So m = out, n = rows, k = in, op(A) = T, op(B) = N, and cuBLASLt's bias (one value per
// row of D, length m) is exactly b [out]. The epilogue adds it and applies the ReLU while
// the tile is still in registers.
//
// A plan (descriptors + the heuristic's algorithm) per shape and pointer alignment is made
// once and cached: building one costs far more than a small GEMM. The alignments matter:
// cuBLASLt assumes 256-byte aligned operands unless told otherwise. The trainer's W and b
// are views into the flat parameter buffer whose layout starts every tensor at 256 bytes
// (ParamLayout), but a caller may pass any float pointer (x: rows of a batch). So each
// operand's actual alignment goes into the heuristic's preferences (and the plan's key),
// and a bias that is not 16-byte aligned takes the unfused path. Host code only; one
// thread per handle (the bias pointer is set on the cached descriptor before each call).
#include "kernels/linear.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/bias.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/gemm.h"
#include "kernels/relu.h"

namespace dp::kernels::cuda {
namespace {

using cuda_detail::cublas_lt;
using cuda_detail::CublasLtApi;

struct Plan {
  bool usable = false;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  std::size_t workspace_nbytes = 0;
};

// (device, handle, rows, in, out, relu, tf32, alignments of x, W, y) -> plan. Plans live
// as long as the process (a few per model).
using Key = std::tuple<int, void*, std::int64_t, std::int64_t, std::int64_t, bool, bool, std::uint32_t,
                       std::uint32_t, std::uint32_t>;

// The largest power of two (at most 256) that divides the address.
std::uint32_t alignment_of(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t a = 256;
  while (a > 1 && address % a != 0) a /= 2;
  return a;
}

struct Alignments {
  std::uint32_t x, w, y;
};

Plan make_plan(const CublasLtApi& lt, const Context& ctx, std::int64_t rows, std::int64_t in,
               std::int64_t out, bool relu, const Alignments& align) {
  Plan p;
  auto ok = [](cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; };
  const cublasComputeType_t compute = ctx.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  if (!ok(lt.desc_create(&p.desc, compute, CUDA_R_32F))) return p;
  const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  const cudaDataType_t bias_type = CUDA_R_32F;
  if (!ok(lt.desc_set(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a)) ||
      !ok(lt.desc_set(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b)) ||
      !ok(lt.desc_set(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue)) ||
      !ok(lt.desc_set(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type)))
    return p;
  const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
  if (!ok(lt.layout_create(&p.a, CUDA_R_32F, u(in), u(out), in)) ||   // W as column-major [in, out]
      !ok(lt.layout_create(&p.b, CUDA_R_32F, u(in), u(rows), in)) ||  // x as column-major [in, rows]
      !ok(lt.layout_create(&p.d, CUDA_R_32F, u(out), u(rows), out)))  // y as column-major [out, rows]
    return p;
  cublasLtMatmulPreference_t pref = nullptr;
  if (!ok(lt.pref_create(&pref))) return p;
  const std::size_t max_workspace = Context::kWorkspaceNbytes;
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  // A is W, B is x, C and D are y.
  const bool searched =
      ok(lt.pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_workspace, sizeof max_workspace)) &&
      ok(lt.pref_set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align.w, sizeof align.w)) &&
      ok(lt.pref_set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align.x, sizeof align.x)) &&
      ok(lt.pref_set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align.y, sizeof align.y)) &&
      ok(lt.pref_set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align.y, sizeof align.y)) &&
      ok(lt.heuristic(static_cast<cublasLtHandle_t>(ctx.lt_handle), p.desc, p.a, p.b, p.d, p.d, pref, 1,
                      &result, &found));
  lt.pref_destroy(pref);
  if (!searched || found < 1 || !ok(result.state)) return p;
  p.algo = result.algo;
  p.workspace_nbytes = result.workspaceSize;
  p.usable = true;
  return p;
}

const Plan& plan_for(const CublasLtApi& lt, const Context& ctx, std::int64_t rows, std::int64_t in,
                     std::int64_t out, bool relu, const Alignments& align) {
  static std::mutex mu;
  static std::map<Key, Plan> plans;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  const Key key{dev, ctx.lt_handle, rows, in, out, relu, ctx.allow_tf32, align.x, align.w, align.y};
  std::lock_guard<std::mutex> lock(mu);
  auto it = plans.find(key);
  if (it == plans.end()) {
    it = plans.emplace(key, make_plan(lt, ctx, rows, in, out, relu, align)).first;
    cuda_detail::forget_library_errors();  // a failed attribute or heuristic only makes it unusable
  }
  return it->second;
}

// Without cuBLASLt: the three separate operations (what the CPU twin does).
void unfused(const Context& ctx, const float* x, const float* w, const float* b, float* y, std::int64_t rows,
             std::int64_t in, std::int64_t out, bool relu) {
  cuda::gemm(ctx, Trans::no, Trans::yes, rows, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  cuda::bias_add(ctx, y, b, rows, out);
  if (relu) cuda::relu_forward(ctx, y, y, rows * out);
}

std::atomic<std::int64_t> fused_calls{0};

}  // namespace

std::int64_t fused_linear_calls() {
  return fused_calls.load();
}

void linear_forward(const Context& ctx, const float* x, const float* w, const float* b, float* y,
                    std::int64_t rows, std::int64_t in, std::int64_t out, bool relu) {
  if (rows == 0) return;
  // The bias epilogue reads b in 16-byte vectors: an unaligned bias is not fused.
  const CublasLtApi* lt = ctx.lt_handle && alignment_of(b) >= 16 ? cublas_lt() : nullptr;
  const Alignments align{alignment_of(x), alignment_of(w), alignment_of(y)};
  const Plan* plan = lt ? &plan_for(*lt, ctx, rows, in, out, relu, align) : nullptr;
  if (!plan || !plan->usable) {
    unfused(ctx, x, w, b, y, rows, in, out, relu);
    return;
  }
  const float alpha = 1.0f, beta = 0.0f;  // beta = 0: y is written, never read
  CUBLAS_CHECK(lt->desc_set(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &b, sizeof b));
  CUBLAS_CHECK(lt->matmul(static_cast<cublasLtHandle_t>(ctx.lt_handle), plan->desc, &alpha, w, plan->a, x,
                          plan->b, &beta, y, plan->d, y, plan->d, &plan->algo, ctx.d_workspace,
                          plan->workspace_nbytes, cuda_detail::stream_of(ctx.stream)));
  cuda_detail::forget_library_errors();
  ++fused_calls;
}

}  // namespace dp::kernels::cuda
