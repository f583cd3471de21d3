#!/usr/bin/env bash
# Every user-facing script answers --help with its usage and exit 0, at once, without
# installing, building or running anything:   help_test.sh SOURCE_DIR
# Also: scripts meant to be run are executable, mpi-env.sh (sourced) is not.
set -u
cd "$1" || exit 1
failures=0
scripts=(launch/quickstart.sh launch/install-deps.sh launch/run.sh launch/scaling.sh launch/gpu-bundle.sh
         tests/run.sh tests/gpu-check.sh)
for s in "${scripts[@]}"; do
  start=$(date +%s)
  out=$(timeout 20 "./$s" --help 2>&1)
  rc=$?
  took=$(($(date +%s) - start))
  if [[ $rc -ne 0 ]] || ! grep -q "$s" <<<"$out" || ((took > 5)); then
    echo "FAIL: $s --help: exit $rc after ${took} s; want exit 0 at once with a usage naming $s"
    head -5 <<<"$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok:   $s --help"
  fi
done
for f in launch/*.sh launch/*.py bench/*.py tests/gpu-check.sh tests/run.sh; do
  [[ $f == launch/mpi-env.sh ]] && continue
  if head -1 "$f" | grep -q '^#!' && [[ ! -x $f ]]; then
    echo "FAIL: $f has a shebang but is not executable"
    failures=$((failures + 1))
  fi
done
if [[ -x launch/mpi-env.sh ]]; then
  echo "FAIL: launch/mpi-env.sh is meant to be sourced, not run, but is executable"
  failures=$((failures + 1))
fi
[[ $failures -eq 0 ]]
