#!/usr/bin/env bash
# The GPU validation kit's plumbing, on whatever machine runs the suite (no GPU needed):
#   gpu_check_kit_test.sh BUILD_DIR SOURCE_DIR
# tests/gpu-check.sh against this build directory (--deps auto: the system's packages, or on a
# bare GPU machine the bundle already extracted there; nothing rebuilt):
#  1. bad options are refused with exit 2 and a message naming the option;
#  2. one training step, 1 epoch: PASS (GPU) or PASS-CPU (the stand-in without a GPU), the
#     other steps SKIP (not selected), summary.json / summary.md written;
#  3. --time-limit with the time already spent: no step starts (NO TIME), and a step whose
#     prerequisite got NO TIME is NO TIME too (not a failure); the summary is still written;
#  4. --time-limit cutting a run that would take minutes: the command ends near the limit,
#     the step FAILs with "cut short by --time-limit", the summary is still written.
set -u
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
check="$src/tests/gpu-check.sh"
py=$(command -v python3 || echo /usr/bin/python3)
[[ -x "$build/dptrain" ]] || fail "no dptrain in $build"
# `step_field FIELD STEP DIR` prints one field of the step's entry in DIR/summary.json.
step_field() {
  "$py" -c 'import json, sys
s = json.load(open(sys.argv[3] + "/summary.json"))
print(next(x[sys.argv[1]] for x in s["steps"] if x["name"] == sys.argv[2]))' "$1" "$2" "$3"
}
status() { step_field status "$1" "$2"; }
note() { step_field note "$1" "$2"; }
common=(--allow-no-gpu --deps auto --build-dir "$build" --quick --min-accuracy 0.5)

# ---------------------------------------------------------------- 1. bad options
for bad in "--time-limit 30" "--time-limit 5m" "--time-limit 0600" "--sanitizer-timeout 0" "--only train-3ranks"; do
  # shellcheck disable=SC2086  # the option and its value are two words
  msg=$("$check" $bad --out "$work/bad" 2>&1)
  rc=$?
  [[ $rc -eq 2 ]] || fail "'$bad' exited $rc, expected 2: $msg"
  [[ $msg == *"${bad%% *}"* || $msg == *"train-3ranks"* ]] || fail "'$bad': the message does not name it: $msg"
done
msg=$(DPTRAIN_GPU_CHECK_T0=yesterday "$check" --time-limit 600 --out "$work/bad" 2>&1)
[[ $? -eq 2 && $msg == *DPTRAIN_GPU_CHECK_T0* ]] || fail "a bad DPTRAIN_GPU_CHECK_T0 was not refused: $msg"
echo "ok: bad options refused"

# ---------------------------------------------------------------- 2. one step
out="$work/one"
"$check" "${common[@]}" --only train-1rank --epochs 1 --out "$out" >"$work/one.log" 2>&1
rc=$?
[[ $rc -eq 0 || $rc -eq 3 ]] || { tail -n 40 "$work/one.log"; fail "train-1rank run exited $rc (0 on a GPU, 3 without)"; }
st=$(status train-1rank "$out") || fail "no summary.json in $out"
[[ $st == PASS || $st == PASS-CPU ]] || { tail -n 40 "$work/one.log"; fail "train-1rank: $st"; }
[[ $(status build "$out") == SKIP && $(status sanitizer "$out") == SKIP ]] || fail "unselected steps did not SKIP"
grep -q "^| train-1rank | $st |" "$out/summary.md" || fail "summary.md lacks the train-1rank row"
[[ -s "$out/gpu-check-logs.tar.gz" ]] || fail "no log archive"
echo "ok: train-1rank $st: $(note train-1rank "$out")"

# ---------------------------------------------------------------- 3. the time is spent
out="$work/spent"
DPTRAIN_GPU_CHECK_T0=$(( $(date +%s) - 35 )) "$check" "${common[@]}" --only build,train-1rank --epochs 1 \
  --time-limit 60 --out "$out" >"$work/spent.log" 2>&1
rc=$?
[[ $rc -eq 0 || $rc -eq 3 ]] || { tail -n 40 "$work/spent.log"; fail "a run with no time left exited $rc"; }
for s in deps build train-1rank; do
  [[ $(status $s "$out") == "NO TIME" ]] || fail "$s: $(status $s "$out"), expected NO TIME"
done
[[ $(note train-1rank "$out") == *"--time-limit 60 s"* ]] || fail "the NO TIME note does not name the limit"
echo "ok: no time left: nothing started, summary written"

# ---------------------------------------------------------------- 4. a run cut at the limit
out="$work/cut"
t0=$(date +%s)
# 30 s left for the commands: deps + gpu-info take a few, then the training is cut (it
# would take hours, on a GPU too).
DPTRAIN_GPU_CHECK_T0=$(( t0 - 10 )) "$check" "${common[@]}" --only train-1rank --epochs 100000 \
  --time-limit 60 --out "$out" >"$work/cut.log" 2>&1
rc=$?
took=$(( $(date +%s) - t0 ))
[[ $rc -eq 1 ]] || { tail -n 40 "$work/cut.log"; fail "a run cut by --time-limit exited $rc, expected 1"; }
[[ $(status train-1rank "$out") == FAIL ]] || fail "train-1rank: $(status train-1rank "$out"), expected FAIL"
[[ $(note train-1rank "$out") == "cut short by --time-limit 60 s"* ]] ||
  fail "the cut step's note does not say so: $(note train-1rank "$out")"
# 50 s of the limit remain from t0: 30 for the commands, then the summary's 20, which also
# covers the kill grace (dptrain ends on SIGTERM at once).
(( took <= 58 )) || fail "the command took $took s, past its limit (50 s left when it started)"
echo "ok: cut at the limit after $took s: $(note train-1rank "$out")"
echo "PASS"
