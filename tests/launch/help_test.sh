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
# launch/run.sh --dry-run: the rank count it derives from -n, --ppn and a hostfile.
hosts=$(mktemp)
printf 'node1 slots=8\n# a comment\nnode2 slots=8\n' >"$hosts"
while IFS='|' read -r args want; do
  read -r -a words <<<"$args"
  line=$(./launch/run.sh "${words[@]}" --dry-run -- --steps 2 2>&1)
  if ! grep -qE -- "$want" <<<"$line"; then
    echo "FAIL: launch/run.sh $args --dry-run: got '$line', want /$want/"
    failures=$((failures + 1))
  else
    echo "ok:   launch/run.sh $args --dry-run"
  fi
done <<EOF2
|mpirun -n 2 .*dptrain --steps 2\$
--ppn 4|mpirun -n 4 .*--map-by ppr:4:node .*dptrain
-n 3|mpirun -n 3 .*dptrain
--hostfile $hosts --ppn 3|mpirun -n 6 .*--hostfile $hosts --map-by ppr:3:node
--hostfile $hosts|mpirun --hostfile $hosts .*dptrain
EOF2
rm -f "$hosts"
if [[ -x launch/mpi-env.sh ]]; then
  echo "FAIL: launch/mpi-env.sh is meant to be sourced, not run, but is executable"
  failures=$((failures + 1))
fi
[[ $failures -eq 0 ]]
