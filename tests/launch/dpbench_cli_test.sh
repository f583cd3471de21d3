#!/usr/bin/env bash
# dpbench's command-line errors: one line naming the flag and what to type, exit 2.
#   dpbench_cli_test.sh DPBENCH
set -u
dpbench=$1
failures=0
expect() {  # expect PATTERN ARGS...
  local pattern=$1
  shift
  local err rc
  err=$("$dpbench" "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -eq 2 && $(grep -c '^dpbench: error:' <<<"$err") -eq 1 ]] && grep -qE -- "$pattern" <<<"$err"; then
    echo "ok:   dpbench $* -> $err"
  else
    echo "FAIL: dpbench $* -> exit $rc, want 2 and /$pattern/: $err"
    failures=$((failures + 1))
  fi
}
expect 'unknown flag --max-byte \(did you mean --max-bytes\?\)' allreduce --max-byte 1M
expect 'unknown flag --adam \(did you mean --adam-count\?\)' kernels --adam 5
expect "--iters: expected an integer, got 'x'" allreduce --iters x
expect "--nccl is a switch and takes no value; 'yes' after it is left over" allreduce --nccl yes
expect "unknown subcommand 'allred' \(expected allreduce, kernels or syncstep\)" allred
expect "--work-ms: '' is not a positive number of milliseconds" syncstep --work-ms 1,,2
[[ $failures -eq 0 ]]
