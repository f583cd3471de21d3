#include "src/train/metrics_log.h"

#include <cstdio>
#include <vector>

#include "src/util/check.h"

namespace dp {

void MetricsLog::open(const std::string& path, bool keep_existing) {
  path_ = path;
  out_.open(path, keep_existing ? std::ios::app : std::ios::trunc);
  DP_USER_CHECK(out_.is_open(), "--run-dir: cannot create ", path);
}

std::int64_t MetricsLog::continue_after(std::int64_t step) {
  if (!out_.is_open()) return 0;
  out_.close();
  std::vector<std::string> kept;
  std::int64_t dropped = 0;
  {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      // A torn line (the process died mid-write) does not parse: dropped.
      const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      const bool keep =
          record.is_object() && (!record.contains("step") || !record["step"].is_number_integer() ||
                                 record["step"].get<std::int64_t>() <= step);
      if (keep)
        kept.push_back(line);
      else
        ++dropped;
    }
  }
  // Rewritten through a temporary file and a rename: a crash here loses nothing kept.
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const std::string& line : kept) out << line << "\n";
    out.flush();
    DP_USER_CHECK(out.good(), "--run-dir: cannot write ", tmp);
  }
  DP_USER_CHECK(std::rename(tmp.c_str(), path_.c_str()) == 0, "--run-dir: cannot replace ", path_);
  out_.open(path_, std::ios::app);
  DP_USER_CHECK(out_.is_open(), "--run-dir: cannot reopen ", path_);
  return dropped;
}

}  // namespace dp
