#include "src/train/replica_check.h"

#include <cstdio>
#include <vector>

#include "src/train/agree.h"
#include "src/util/check.h"
#include "src/util/hash.h"

namespace dp {

void check_replicas(Communicator& comm, const float* params, std::int64_t count, std::int64_t step) {
  const std::uint64_t mine = hash64(params, static_cast<std::size_t>(count) * sizeof(float));
  std::vector<std::uint64_t> all(static_cast<std::size_t>(comm.world_size()));
  DP_CHECK_OK(comm.all_gather(&mine, all.data(), sizeof mine));
  std::string differing;
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  if (differing.empty()) return;
  char h0[24];
  std::snprintf(h0, sizeof h0, "%016llx", static_cast<unsigned long long>(all[0]));
  throw RunError(concat("parameter replicas diverged at step ", step, ": rank(s) ", differing,
                        " differ from rank 0 (parameter hash ", h0,
                        "); the ranks no longer train the same model"));
}

}  // namespace dp
