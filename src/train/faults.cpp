#include "src/train/faults.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

#include "src/util/check.h"

namespace dp {

std::vector<Fault> parse_faults(const std::string& spec, int world_size) {
  std::vector<Fault> out;
  std::size_t start = 0;
  while (start < spec.size()) {
    std::size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    start = end + 1;
    const auto at = item.find('@'), colon = item.find(':');
    DP_USER_CHECK(at != std::string::npos && colon != std::string::npos && colon > at, "--inject-fault: '",
                  item, "' must look like KIND@STEP:RANK (KIND: ", kFaultKinds, ")");
    Fault f;
    const std::string kind = item.substr(0, at);
    if (kind == "hang")
      f.kind = Fault::Kind::hang;
    else if (kind == "crash")
      f.kind = Fault::Kind::crash;
    else if (kind == "nan")
      f.kind = Fault::Kind::nan;
    else if (kind == "ckpt-crash")
      f.kind = Fault::Kind::ckpt_crash;
    else if (kind == "ckpt-slow")
      f.kind = Fault::Kind::ckpt_slow;
    else if (kind == "slow")
      f.kind = Fault::Kind::slow;
    else
      throw UserError(concat("--inject-fault: unknown kind '", kind, "' (", kFaultKinds, ")"));
    char* rest = nullptr;
    const std::string step_text = item.substr(at + 1, colon - at - 1), rank_text = item.substr(colon + 1);
    f.step = std::strtoll(step_text.c_str(), &rest, 10);
    DP_USER_CHECK(!step_text.empty() && *rest == '\0' && f.step >= 1, "--inject-fault: bad step in '", item,
                  "'");
    const long rank = std::strtol(rank_text.c_str(), &rest, 10);
    DP_USER_CHECK(!rank_text.empty() && *rest == '\0' && rank >= 0 && rank < world_size,
                  "--inject-fault: rank in '", item, "' must lie in [0, ", world_size, ")");
    f.rank = static_cast<int>(rank);
    // Only rank 0 writes checkpoints: a checkpoint fault elsewhere would never fire.
    DP_USER_CHECK(f.rank == 0 || (f.kind != Fault::Kind::ckpt_crash && f.kind != Fault::Kind::ckpt_slow),
                  "--inject-fault: '", item, "': only rank 0 writes checkpoints, so RANK must be 0");
    out.push_back(f);
  }
  return out;
}

bool FaultInjector::active(Fault::Kind kind, std::int64_t step) const {
  for (const Fault& f : faults_)
    if (f.kind == kind && f.step == step && f.rank == rank_) return true;
  return false;
}

void die_now() {
  std::fflush(nullptr);
  ::kill(::getpid(), SIGKILL);
  std::_Exit(137);
}

void FaultInjector::before_all_reduce(std::int64_t step) const {
  if (active(Fault::Kind::crash, step)) {
    std::fprintf(stderr, "dptrain: %s injected fault: crash at step %lld\n", identity_prefix().c_str(),
                 static_cast<long long>(step));
    die_now();
  }
  if (active(Fault::Kind::hang, step)) {
    std::fprintf(stderr, "dptrain: %s injected fault: hang at step %lld\n", identity_prefix().c_str(),
                 static_cast<long long>(step));
    std::fflush(stderr);
    for (;;) ::pause();
  }
}

void FaultInjector::before_forward(std::int64_t step) const {
  if (!active(Fault::Kind::slow, step)) return;
  std::fprintf(stderr, "dptrain: %s injected fault: %.1f s late at step %lld\n", identity_prefix().c_str(),
               kSlowFaultSeconds, static_cast<long long>(step));
  std::this_thread::sleep_for(std::chrono::duration<double>(kSlowFaultSeconds));
}

void FaultInjector::before_checkpoint_write(std::int64_t step) const {
  if (!active(Fault::Kind::ckpt_slow, step)) return;
  std::fprintf(stderr, "dptrain: %s injected fault: checkpoint write %.1f s slower at step %lld\n",
               identity_prefix().c_str(), kSlowCheckpointSeconds, static_cast<long long>(step));
  std::this_thread::sleep_for(std::chrono::duration<double>(kSlowCheckpointSeconds));
}

void FaultInjector::poison(float* values, std::int64_t count) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::int64_t i = 0; i < count; ++i) values[i] = nan;
}

}  // namespace dp
