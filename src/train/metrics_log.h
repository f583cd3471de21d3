// RUN_DIR/metrics.jsonl: one JSON object per line, written by rank 0 only.
//
// Invariant after a resume: the file holds each step's records once, in order. A run that
// was killed may have left records past its last checkpoint (steps the resumed run takes
// again) and a torn last line; continue_after() moves both to metrics.jsonl.dropped
// before appending.
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace dp {

class MetricsLog {
 public:
  // A fresh file (truncated), or, with keep_existing, the old one left as it is until
  // continue_after() decides what to keep. Throws UserError naming --run-dir.
  void open(const std::string& path, bool keep_existing);
  bool is_open() const { return out_.is_open(); }

  // Keeps the complete records whose "step" is <= step (records without one too) and
  // appends after them; returns the number of lines dropped. step 0 empties the file.
  std::int64_t continue_after(std::int64_t step);

  void write(const nlohmann::json& record) {
    if (out_.is_open()) out_ << record.dump() << "\n";
  }
  void flush() {
    if (out_.is_open()) out_.flush();
  }

 private:
  std::string path_;
  std::ofstream out_;
};

// The last complete record of this "type" in the metrics file at path (null when none or no
// file). Reads only: usable where no MetricsLog is open (a dry run).
nlohmann::json last_metrics_record(const std::string& path, const std::string& type);

}  // namespace dp
