// Wall-clock timing for the step split (data / compute / communication / optimizer).
#pragma once

#include <chrono>

namespace dp {

inline double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

class Stopwatch {
 public:
  Stopwatch() : start_(now_seconds()) {}
  double elapsed_s() const { return now_seconds() - start_; }
  // Returns the time since the last lap (or construction) and starts a new lap.
  double lap_s() {
    const double t = now_seconds();
    const double d = t - start_;
    start_ = t;
    return d;
  }

 private:
  double start_;
};

}  // namespace dp
