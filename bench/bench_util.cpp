#include "bench/bench_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "src/util/cgroup.h"
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

namespace {

// The first number in a file, or nullopt ("max", a missing file, anything else).
std::optional<double> read_number(const std::string& path) {
  std::ifstream in(path);
  double v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

// "key value" lines of a memory.stat: the value of key (0 when absent).
double stat_value(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string k;
  double v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0.0;
}

}  // namespace

double cgroup_headroom_bytes(const std::string& cgroup_root, const std::string& proc_cgroup) {
  double best = -1.0;
  for (const CgroupDirs& h : cgroup_dirs("memory", cgroup_root, proc_cgroup)) {
    for (const std::string& dir : h.dirs) {
      const std::optional<double> limit =
          read_number(dir + (h.v2 ? "/memory.max" : "/memory.limit_in_bytes"));
      const std::optional<double> usage =
          read_number(dir + (h.v2 ? "/memory.current" : "/memory.usage_in_bytes"));
      // cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); v2 as "max".
      if (!limit || !usage || *limit >= 0x1p60) continue;
      const double in_use = *usage - stat_value(dir + "/memory.stat", "inactive_file");
      const double left = std::max(0.0, *limit - std::max(0.0, in_use));
      best = best < 0 ? left : std::min(best, left);
    }
  }
  return best;
}

double available_memory_bytes() {
  double available = 0.0;
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (in >> key >> kib) {
    if (key == "MemAvailable:") {
      available = kib * 1024.0;
      break;
    }
    in.ignore(256, '\n');
  }
  const double cgroup = cgroup_headroom_bytes();
  if (cgroup >= 0 && (available <= 0 || cgroup < available)) return std::max(cgroup, 1.0);
  return available;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace dp::bench
