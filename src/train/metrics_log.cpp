#include "src/train/metrics_log.h"

#include <cstdio>
#include <vector>

#include "src/util/check.h"
#include "src/util/fs.h"

namespace dp {

void MetricsLog::open(const std::string& path, bool keep_existing) {
  path_ = path;
  out_.open(path, keep_existing ? std::ios::app : std::ios::trunc);
  DP_USER_CHECK(out_.is_open(), "--run-dir: cannot create ", path);
}

std::int64_t MetricsLog::continue_after(std::int64_t step) {
  if (!out_.is_open()) return 0;
  out_.close();
  std::vector<std::string> kept, dropped;
  {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      // A torn line (the process died mid-write) does not parse: dropped.
      const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      const bool keep =
          record.is_object() && (!record.contains("step") || !record["step"].is_number_integer() ||
                                 record["step"].get<std::int64_t>() <= step);
      (keep ? kept : dropped).push_back(line);
    }
  }
  if (!dropped.empty()) {
    // Nothing is thrown away: a wrong --checkpoint-dir must not cost the history.
    std::ofstream aside(path_ + ".dropped", std::ios::app);
    for (const std::string& line : dropped) aside << line << "\n";
    DP_USER_CHECK(aside.flush().good(), "--run-dir: cannot write ", path_, ".dropped");
  }
  // Rewritten through a synced temporary file and a rename: a crash at any point leaves
  // the old file or the new one.
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const std::string& line : kept) out << line << "\n";
    DP_USER_CHECK(out.flush().good(), "--run-dir: cannot write ", tmp);
  }
  DP_USER_CHECK(fsync_file(tmp), "--run-dir: cannot sync ", tmp);
  DP_USER_CHECK(std::rename(tmp.c_str(), path_.c_str()) == 0, "--run-dir: cannot replace ", path_);
  (void)fsync_dir(parent_dir(path_));
  out_.open(path_, std::ios::app);
  DP_USER_CHECK(out_.is_open(), "--run-dir: cannot reopen ", path_);
  return static_cast<std::int64_t>(dropped.size());
}

nlohmann::json last_metrics_record(const std::string& path, const std::string& type) {
  nlohmann::json last;
  if (path.empty()) return last;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.contains("type") && record["type"] == type) last = std::move(record);
  }
  return last;
}

}  // namespace dp
