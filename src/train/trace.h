// A step timeline in the Chrome trace-event format (chrome://tracing, ui.perfetto.dev):
// one process per rank, one track (thread) each for data, compute, communication and the
// optimizer; complete events ("ph":"X") with microsecond timestamps relative to a
// barrier taken when tracing starts, so the ranks' tracks are aligned up to the skew of
// leaving that barrier (and, across hosts, their clocks' drift). Rank 0 gathers every
// rank's events and writes one file.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace dp {

class Tracer {
 public:
  enum Track : int { data = 1, compute = 2, communication = 3, optimizer = 4 };

  // Records steps 1..max_steps when enabled.
  Tracer(bool enabled, std::int64_t max_steps) : enabled_(enabled), max_steps_(max_steps) {}

  bool recording(std::int64_t step) const { return enabled_ && step >= 1 && step <= max_steps_; }
  // Collective: a barrier, then every rank takes its time origin.
  void start(Communicator& comm);
  // Thread-safe: the communication thread adds its own events. Times in seconds from
  // dp::now_seconds().
  void add(Track track, const std::string& name, double begin_s, double end_s, nlohmann::json args = {});
  // Collective: rank 0 gathers all ranks' events and writes the trace file to path.
  // Throws UserError (on rank 0) when the file cannot be written.
  void write(Communicator& comm, const std::string& path) const;

 private:
  bool enabled_;
  std::int64_t max_steps_;
  double origin_s_ = 0.0;
  mutable std::mutex mu_;
  std::vector<nlohmann::json> events_;
};

}  // namespace dp
