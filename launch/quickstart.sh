#!/usr/bin/env bash
# The first run: installs what is missing (Debian packages), builds dptrain (Release),
# then trains the default MLP (784-256-128-10, AdamW, cosine schedule, 15 epochs) on
# Fashion-MNIST on 2 MPI ranks, printing progress and the final test accuracy.
#   launch/quickstart.sh [extra dptrain flags...]     e.g. --epochs 3
# It runs from the repository root: relative paths among the flags (--run-dir, npy: data)
# are taken from there, and the default run dir is <repository>/runs/<time>.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  # The comment block at the top of this file is the usage text.
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
  echo "dptrain's own flags: build/dptrain --help (after a first run has built it)"
  exit 0
fi
cd "$(dirname "$0")/.."
source launch/mpi-env.sh

launch/install-deps.sh build
# A fresh build dir skips the tests (nothing to install or compile for them); an existing
# one keeps its settings, so a tests build is not turned into one whose test programs
# silently go stale. Either way only dptrain is compiled here.
if [[ -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDPTRAIN_BUILD_TESTS=OFF
fi
cmake --build build --target dptrain

ranks=2
dptrain_mpi_flags "$ranks"
echo "+ $(dptrain_mpi_env_prefix)mpirun -n $ranks ${MPIRUN_FLAGS[*]} build/dptrain --data fashion-mnist $*"
exec mpirun -n "$ranks" "${MPIRUN_FLAGS[@]}" build/dptrain --data fashion-mnist "$@"
