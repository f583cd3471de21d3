// dpbench kernels: the kernels against the machine's roofline, on one rank.
//   copy   device-to-device copy (CUDA) or memcpy (CPU) of the Adam buffers' size: the
//          bandwidth ceiling
//   adam   the fused Adam step over `count` parameters; it moves 28 bytes per parameter
//          (params, m, v read and written, grads read), so its achieved bandwidth as a
//          fraction of copy's says how close it is to the memory roofline (goal >= 0.8)
//   gemm   the MLP's GEMM shapes and a square one: TFLOP/s = 2mnk / time
#pragma once

#include <cstdint>
#include <string>

namespace dp::bench {

struct KernelBenchOptions {
  std::string device = "auto";         // cpu | cuda | auto
  std::int64_t adam_count = 64 << 20;  // parameters in the Adam / copy run
  std::int64_t gemm_square = 4096;     // m = n = k of the square GEMM
  std::int64_t batch = 1024;           // rows of the MLP GEMMs
  double budget_s = 0.5;               // timed seconds per measurement
  bool tf32 = false;
  std::string json_path;
};

// Prints a table and (optionally) writes JSON; returns the process exit code.
int run_kernel_bench(const KernelBenchOptions& opt);

}  // namespace dp::bench
