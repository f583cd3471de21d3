// A polite stop on SIGTERM, SIGINT or SIGUSR1: the handler only records the signal; the
// trainer asks all ranks at a step boundary (stop_requested + one all-reduce), writes a
// checkpoint and ends with exit code 128 + the signal number. A second SIGINT (Ctrl-C)
// takes the default action (the process ends at once); repeated SIGTERM or SIGUSR1 change
// nothing (launchers may deliver SIGTERM twice; their SIGKILL is the hard stop).
//
// Launchers: Slurm's srun passes SIGTERM (scancel, the time limit) and SIGUSR1
// (--signal=USR1@T) to every task; Open MPI's mpirun passes SIGUSR1 on as it is, but
// turns its own SIGTERM/SIGINT into SIGTERM to the ranks followed by SIGKILL after
// odls_base_sigkill_timeout (1 s by default) -- with mpirun, SIGUSR1 is the safe one.
#pragma once

namespace dp {

// Installs the handlers (the dptrain executable only; libraries and tests leave signals
// alone).
void install_stop_handlers();

// Whether install_stop_handlers ran (the same answer on every rank of one executable).
bool stop_handlers_installed();

// The first stop signal received by this process, or 0.
int stop_requested();

// "SIGTERM", "SIGINT", "SIGUSR1", or "a signal".
const char* stop_signal_name(int signo);

}  // namespace dp
