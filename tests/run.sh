#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds dptrain with its tests, and runs the
# whole ctest suite (unit, MPI tests on 1/2/4 ranks, golden equivalence, CLI). GPU tests
# carry the label "gpu" and report skipped without a device.
#   tests/run.sh [extra ctest arguments...]     e.g. -L unit, -R golden
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  # The comment block at the top of this file is the usage text.
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
  exit 0
fi
cd "$(dirname "$0")/.."

launch/install-deps.sh test
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDPTRAIN_BUILD_TESTS=ON
cmake --build build
ctest --test-dir build --output-on-failure "$@"
