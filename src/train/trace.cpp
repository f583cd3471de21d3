#include "src/train/trace.h"

#include <fstream>

#include "src/util/check.h"
#include "src/util/timer.h"

namespace dp {

void Tracer::start(Communicator& comm) {
  if (!enabled_) return;
  DP_CHECK_OK(comm.barrier());
  origin_s_ = now_seconds();
}

void Tracer::add(Track track, const std::string& name, double begin_s, double end_s, nlohmann::json args) {
  if (!enabled_) return;
  nlohmann::json e = {{"name", name},
                      {"ph", "X"},
                      {"tid", static_cast<int>(track)},
                      {"ts", 1e6 * (begin_s - origin_s_)},
                      {"dur", 1e6 * (end_s - begin_s)}};
  if (!args.is_null()) e["args"] = std::move(args);
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(e));
}

void Tracer::write(Communicator& comm, const std::string& path) const {
  if (!enabled_) return;
  const int rank = comm.rank();
  // This rank's events plus the names of its process and tracks.
  nlohmann::json mine = nlohmann::json::array();
  mine.push_back({{"name", "process_name"},
                  {"ph", "M"},
                  {"args", {{"name", concat("rank ", rank, " @ ", comm.info().host)}}}});
  mine.push_back({{"name", "process_sort_index"}, {"ph", "M"}, {"args", {{"sort_index", rank}}}});
  const char* tracks[] = {"", "data", "compute", "communication", "optimizer"};
  for (int t = 1; t <= 4; ++t)
    mine.push_back({{"name", "thread_name"}, {"ph", "M"}, {"tid", t}, {"args", {{"name", tracks[t]}}}});
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : events_) mine.push_back(e);
  }
  for (auto& e : mine) e["pid"] = rank;

  // Gather: each rank in turn broadcasts its serialized events (traces are small).
  nlohmann::json all = nlohmann::json::array();
  for (int r = 0; r < comm.world_size(); ++r) {
    std::string text = r == rank ? mine.dump() : std::string();
    DP_CHECK_OK(broadcast_sized(comm, &text, r));
    if (rank == 0)
      for (auto& e : nlohmann::json::parse(text)) all.push_back(std::move(e));
  }
  if (rank != 0) return;
  std::ofstream out(path);
  out << nlohmann::json{{"traceEvents", all}, {"displayTimeUnit", "ms"}}.dump() << "\n";
  DP_USER_CHECK(out.good(), "--trace: cannot write ", path);
}

}  // namespace dp
