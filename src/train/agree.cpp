#include "src/train/agree.h"

#include <string>

#include "src/util/check.h"

namespace dp {

void agree_on_user_errors(Communicator& comm, const std::function<void()>& body) {
  std::string message;
  bool failed = false;
  try {
    body();
  } catch (const UserError& e) {
    failed = true;
    message = e.what();
  }
  std::int64_t first_failed = failed ? comm.rank() : comm.world_size();
  DP_CHECK_OK(comm.all_reduce(&first_failed, 1, ReduceOp::min));
  if (first_failed == comm.world_size()) return;
  DP_CHECK_OK(broadcast_sized(comm, &message, static_cast<int>(first_failed)));
  throw UserError(message);
}

}  // namespace dp
