#include "bench/bench_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "src/util/check.h"

namespace dp::bench {

std::uint64_t parse_size(const std::string& text, const char* flag) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  std::uint64_t mult = 1;
  if (*end == 'K' || *end == 'k')
    mult = 1ull << 10, ++end;
  else if (*end == 'M' || *end == 'm')
    mult = 1ull << 20, ++end;
  else if (*end == 'G' || *end == 'g')
    mult = 1ull << 30, ++end;
  const double nbytes = v * static_cast<double>(mult);
  DP_USER_CHECK(*end == '\0' && std::isfinite(nbytes) && nbytes >= 4 && nbytes <= 64.0 * (1ull << 30), flag,
                ": '", text, "' is not a size between 4 bytes and 64G (e.g. 8, 64K, 1M, 1G)");
  return static_cast<std::uint64_t>(nbytes);
}

double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (in >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024.0;
    in.ignore(256, '\n');
  }
  return 0.0;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace dp::bench
