#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds dptrain with its tests, and runs the
# whole ctest suite (unit, MPI tests on 1/2/4 ranks, golden equivalence, CLI). GPU tests,
# once they exist, carry the label "gpu" and report skipped without a device.
#   tests/run.sh [extra ctest arguments...]     e.g. -L unit, -R golden
set -euo pipefail
cd "$(dirname "$0")/.."

launch/install-deps.sh test
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDPTRAIN_BUILD_TESTS=ON
cmake --build build
ctest --test-dir build --output-on-failure "$@"
