#!/usr/bin/env bash
# Convenience launcher: the mpirun line for one node or several, with the flags this
# machine needs (launch/mpi-env.sh), and prints it before running it.
#   launch/run.sh [-n N] [--hostfile FILE] [--ppn P] [--cores-per-rank C] [--bind core|none|...]
#                 [--dptrain PATH] [--dry-run] [--] [dptrain arguments...]
# Examples:
#   launch/run.sh -n 2 -- --epochs 3                          # one node, 2 ranks (--ppn 2 alike)
#   launch/run.sh --hostfile hosts --ppn 4 -- --steps 1000   # every host in FILE, 4 ranks each
#   launch/run.sh --hostfile hosts -- --steps 1000           # one rank per slot the hostfile lists
#   launch/run.sh -n 2 --cores-per-rank 8 -- --threads 8     # 8 bound cores (and BLAS threads) per rank
# run.sh's flags come first: from the first other argument on, everything goes to dptrain
# (so a --dry-run after it is dptrain's own: it checks everything and trains nothing).
# See launch/README.md for what each flag does and for Slurm.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
source "$here/mpi-env.sh"

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
die() { echo "run.sh: error: $*" >&2; exit 2; }

ranks="" hostfile="" ppn="" pe="" bind="" dptrain="$root/build/dptrain" dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--np) [[ $# -ge 2 ]] || die "$1 needs a value"; ranks=$2; shift 2 ;;
    --hostfile) [[ $# -ge 2 ]] || die "$1 needs a value"; hostfile=$2; shift 2 ;;
    --ppn) [[ $# -ge 2 ]] || die "$1 needs a value"; ppn=$2; shift 2 ;;
    --cores-per-rank) [[ $# -ge 2 ]] || die "$1 needs a value"; pe=$2; shift 2 ;;
    --bind) [[ $# -ge 2 ]] || die "$1 needs a value"; bind=$2; shift 2 ;;
    --dptrain) [[ $# -ge 2 ]] || die "$1 needs a value"; dptrain=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) break ;;  # the rest goes to dptrain
  esac
done

[[ -z "$hostfile" || -f "$hostfile" ]] || die "--hostfile: no such file: $hostfile"
for v in ranks ppn pe; do
  [[ -z "${!v}" || ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v} must be a positive integer, got '${!v}'"
done
# Without -n: --ppn ranks on every host of the hostfile; a hostfile alone leaves the
# count to mpirun (one rank per slot it lists); no hostfile: --ppn ranks here, else 2.
if [[ -z "$ranks" ]]; then
  if [[ -n "$hostfile" && -n "$ppn" ]]; then
    hosts=$(grep -cvE '^\s*(#|$)' "$hostfile")
    ranks=$((hosts * ppn))
  elif [[ -z "$hostfile" ]]; then
    ranks=${ppn:-2}
  fi
fi
(( dry_run )) || [[ -x "$dptrain" ]] || die "dptrain not found or not executable: $dptrain (build it: cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build dptrain; or pass --dptrain)"

# On this machine (no hostfile) a rank cannot be bound to more cores than there are:
# say so here rather than through Open MPI's "binding more processes than cpus".
if [[ -z "$hostfile" && -n "$pe" ]] && (( ranks * pe > $(nproc) )); then
  die "--cores-per-rank $pe x $ranks rank(s) = $((ranks * pe)) cores, but this machine has $(nproc): lower one of them (or use --hostfile)"
fi
dptrain_mpi_flags "$ranks"
[[ -n "$hostfile" ]] && MPIRUN_FLAGS=("${MPIRUN_FLAGS[@]/--oversubscribe/}")
flags=()
for f in "${MPIRUN_FLAGS[@]}"; do [[ -n $f ]] && flags+=("$f"); done
[[ -n "$hostfile" ]] && flags+=(--hostfile "$hostfile")
if [[ -n "$ppn" ]]; then
  flags+=(--map-by "ppr:$ppn:node${pe:+:PE=$pe}")
elif [[ -n "$pe" ]]; then
  flags+=(--map-by "slot:PE=$pe")
fi
[[ -n "$bind" ]] && flags+=(--bind-to "$bind")
# Open MPI passes the environment to remote hosts only with -x: forward what matters if set.
if [[ -n "$hostfile" ]]; then
  for v in OMP_NUM_THREADS OPENBLAS_NUM_THREADS $(compgen -e | grep -E '^(NCCL_|UCX_)' || true); do
    [[ -n "${!v:-}" ]] && flags+=(-x "$v")
  done
fi

cmd=(mpirun ${ranks:+-n "$ranks"} "${flags[@]}" "$dptrain" "$@")
echo "+ $(dptrain_mpi_env_prefix)${cmd[*]}"
(( dry_run )) && exit 0
exec "${cmd[@]}"
