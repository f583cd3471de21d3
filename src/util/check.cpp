#include "src/util/check.h"

#include <cstdio>
#include <cstdlib>

namespace dp {
namespace {
int g_rank = -1;
std::string g_host = "?";
AbortHandler g_abort = nullptr;
}  // namespace

void set_process_identity(int rank, const std::string& host) {
  g_rank = rank;
  g_host = host;
}
int process_rank() {
  return g_rank;
}
const std::string& process_host() {
  return g_host;
}
void set_abort_handler(AbortHandler handler) {
  g_abort = handler;
}

std::string identity_prefix() {
  return concat("[rank ", g_rank < 0 ? std::string("?") : std::to_string(g_rank), " @ ", g_host, "]");
}

void check_failed(const char* file, int line, const char* expr, const std::string& message) {
  std::fprintf(stderr, "dptrain: %s %s:%d: check `%s` failed%s%s\n", identity_prefix().c_str(), file, line,
               expr, message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  if (g_abort) g_abort(3);
  std::abort();
}

}  // namespace dp
