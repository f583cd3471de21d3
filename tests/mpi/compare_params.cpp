// compare_params REF.safetensors OTHER.safetensors... [--rel-l2 X] [--max-abs Y]
// Compares parameter files tensor by tensor (same names and shapes required) and prints,
// for each OTHER, the max |difference| and ||other - ref|| / ||ref|| over all tensors.
// The tolerances default to the golden-test constants of tests/tolerance.h.
// Exit 0 when every file is within both tolerances, 1 otherwise, 2 on bad usage/files.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "src/train/safetensors.h"
#include "src/util/check.h"
#include "tests/tolerance.h"

int main(int argc, char** argv) {
  std::vector<std::string> files;
  double rel_l2_tol = dp::tol::kGoldenRelL2, max_abs_tol = dp::tol::kGoldenMaxAbs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rel-l2" && i + 1 < argc)
      rel_l2_tol = std::atof(argv[++i]);
    else if (a == "--max-abs" && i + 1 < argc)
      max_abs_tol = std::atof(argv[++i]);
    else
      files.push_back(a);
  }
  if (files.size() < 2 || rel_l2_tol < 0 || max_abs_tol < 0) {
    std::fprintf(stderr, "usage: compare_params REF OTHER... [--rel-l2 X] [--max-abs Y]\n");
    return 2;
  }
  try {
    std::map<std::string, dp::NamedTensor> ref;
    for (auto& t : dp::read_safetensors(files[0])) ref[t.name] = std::move(t);
    bool ok = true;
    for (std::size_t f = 1; f < files.size(); ++f) {
      const auto other = dp::read_safetensors(files[f]);
      DP_USER_CHECK(other.size() == ref.size(), files[f], ": ", other.size(), " tensors, reference has ",
                    ref.size());
      double max_abs = 0, diff2 = 0, ref2 = 0;
      for (const auto& t : other) {
        const auto it = ref.find(t.name);
        DP_USER_CHECK(it != ref.end() && it->second.shape == t.shape, files[f], ": tensor ", t.name,
                      " missing from the reference or shaped differently");
        for (std::size_t i = 0; i < t.data.size(); ++i) {
          const double d = static_cast<double>(t.data[i]) - static_cast<double>(it->second.data[i]);
          max_abs = std::max(max_abs, std::abs(d));
          diff2 += d * d;
          ref2 += static_cast<double>(it->second.data[i]) * static_cast<double>(it->second.data[i]);
        }
      }
      const double rel_l2 = std::sqrt(diff2 / ref2);
      const bool within = rel_l2 <= rel_l2_tol && max_abs <= max_abs_tol;
      std::printf("%s vs %s: max |diff| %.3e (tolerance %.1e), relative L2 %.3e (tolerance %.1e): %s\n",
                  files[f].c_str(), files[0].c_str(), max_abs, max_abs_tol, rel_l2, rel_l2_tol,
                  within ? "ok" : "OUT OF TOLERANCE");
      ok = ok && within;
    }
    return ok ? 0 : 1;
  } catch (const dp::UserError& e) {
    std::fprintf(stderr, "compare_params: %s\n", e.what());
    return 2;
  }
}
