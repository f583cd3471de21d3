# Sourced by the launch and test scripts: the mpirun flags this machine needs, and only
# those. Sets MPIRUN_FLAGS (an array) for N ranks:  dptrain_mpi_flags N
#  - Open MPI refuses to start as root unless asked explicitly (containers, CI): we set
#    the two OMPI_ALLOW_RUN_AS_ROOT variables only when running as root.
#  - More ranks than cores needs --oversubscribe (laptops, small CI machines).
dptrain_mpi_flags() {
  local ranks=$1
  MPIRUN_FLAGS=()
  if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  if (( ranks > $(nproc) )); then
    MPIRUN_FLAGS+=(--oversubscribe)
  fi
}

# What to print before an mpirun line so that it can be pasted and run as it ran: the
# root consent when dptrain_mpi_flags exported it, else nothing.
dptrain_mpi_env_prefix() {
  if [[ -n ${OMPI_ALLOW_RUN_AS_ROOT:-} ]]; then
    printf 'OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '
  fi
}
