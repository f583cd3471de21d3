#include "src/util/stop_signal.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <initializer_list>

namespace dp {
namespace {

// Written by the handler (on whichever thread the kernel picks), read by the trainer.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs a lock-free atomic");
bool g_installed = false;

// Only notes the signal (the trainer announces the stop on stdout, in order with its other
// lines). Only Ctrl-C escalates: a second SIGINT ends the process at once. SIGTERM may come
// twice from a launcher (Slurm signals the tasks and srun passes its own on), and SIGUSR1
// is the gentle request; repeats of those change nothing.
void on_stop_signal(int signo) {
  const int saved_errno = errno;  // the interrupted code may be about to read errno
  int none = 0;
  (void)g_signal.compare_exchange_strong(none, signo);
  if (signo == SIGINT) std::signal(SIGINT, SIG_DFL);
  errno = saved_errno;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = &on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking calls (MPI progress, file I/O) carry on
  for (int signo : {SIGTERM, SIGINT, SIGUSR1}) sigaction(signo, &sa, nullptr);
  g_installed = true;
}

bool stop_handlers_installed() {
  return g_installed;
}

int stop_requested() {
  return g_signal.load();
}

const char* stop_signal_name(int signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "a signal";
  }
}

}  // namespace dp
