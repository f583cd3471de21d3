#include "src/util/stop_signal.h"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <initializer_list>

namespace dp {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_announce = 0;
bool g_installed = false;

void on_stop_signal(int signo) {
  if (g_signal == 0) g_signal = signo;
  // The next one of the same kind is not caught: a second Ctrl-C ends the process at once.
  if (signo != SIGUSR1) std::signal(signo, SIG_DFL);
  if (g_announce != 0) {
    // write(2) is async-signal-safe; printf is not.
    const char* name = stop_signal_name(signo);
    const char head[] = "\ndptrain: ";
    const char tail[] =
        " received: stopping within a few steps, after a checkpoint (send it again to stop at once)\n";
    (void)!::write(STDERR_FILENO, head, sizeof head - 1);
    (void)!::write(STDERR_FILENO, name, std::strlen(name));
    (void)!::write(STDERR_FILENO, tail, sizeof tail - 1);
  }
}

}  // namespace

void install_stop_handlers(bool announce) {
  g_announce = announce ? 1 : 0;
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
  return static_cast<int>(g_signal);
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
