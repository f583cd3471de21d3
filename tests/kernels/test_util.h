// Helpers shared by the kernel tests: seeded random fills, a scoped abort handler that
// turns a failed DP_CHECK into a C++ exception (so argument checks can be tested without
// killing the test process), and a mismatch counter that reports the worst element.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/util/check.h"
#include "src/util/rng.h"

namespace dp::test {

inline std::vector<float> uniform_floats(Rng& rng, std::size_t count, double lo, double hi) {
  std::vector<float> out(count);
  for (auto& x : out) x = static_cast<float>(rng.uniform(lo, hi));
  return out;
}

inline std::vector<float> normal_floats(Rng& rng, std::size_t count, double stddev = 1.0) {
  std::vector<float> out(count);
  for (auto& x : out) x = static_cast<float>(stddev * rng.normal());
  return out;
}

inline std::vector<std::int32_t> random_labels(Rng& rng, std::size_t count, std::int64_t classes) {
  std::vector<std::int32_t> out(count);
  for (auto& y : out) y = static_cast<std::int32_t>(rng.uniform_index(static_cast<std::uint64_t>(classes)));
  return out;
}

inline bool same_bits(float a, float b) {
  std::uint32_t ua = 0, ub = 0;
  static_assert(sizeof(ua) == sizeof(a), "float is 32 bits");
  std::memcpy(&ua, &a, sizeof(a));
  std::memcpy(&ub, &b, sizeof(b));
  return ua == ub;
}

// Thrown instead of aborting while a CheckThrows guard is alive.
struct CheckFailure : std::runtime_error {
  explicit CheckFailure(int code)
      : std::runtime_error("DP_CHECK failed, exit code " + std::to_string(code)) {}
};

// RAII: while alive, a failed DP_CHECK throws CheckFailure (check_failed calls the abort
// handler before std::abort, and an exception leaves check_failed before the abort).
class CheckThrows {
 public:
  CheckThrows() { set_abort_handler(&CheckThrows::raise); }
  ~CheckThrows() { set_abort_handler(nullptr); }
  CheckThrows(const CheckThrows&) = delete;
  CheckThrows& operator=(const CheckThrows&) = delete;

 private:
  static void raise(int code) { throw CheckFailure(code); }
};

// Counts elements with |got - want| > tol and remembers the worst one (by err / tol).
class Mismatches {
 public:
  void check(std::int64_t index, double got, double want, double tol) {
    ++checked_;
    const double err = std::fabs(got - want);
    const bool bad = !(err <= tol);  // NaN counts as bad
    if (bad) ++wrong_;
    const double ratio = err == err ? err / tol : std::numeric_limits<double>::infinity();
    if (ratio > worst_ratio_) {
      worst_ratio_ = ratio;
      std::ostringstream s;
      s.precision(10);
      s << "index " << index << ": got " << got << ", want " << want << ", |err| " << err << ", tol " << tol;
      worst_ = s.str();
    }
  }
  std::int64_t wrong() const { return wrong_; }
  std::int64_t checked() const { return checked_; }
  std::string report() const {
    std::ostringstream s;
    s << wrong_ << " wrong of " << checked_ << "; worst (err/tol = " << worst_ratio_ << ") " << worst_;
    return s.str();
  }

 private:
  std::int64_t wrong_ = 0, checked_ = 0;
  double worst_ratio_ = -1.0;
  std::string worst_ = "none";
};

}  // namespace dp::test
