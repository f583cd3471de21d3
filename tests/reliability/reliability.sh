#!/usr/bin/env bash
# End-to-end failure handling of the dptrain executable under mpiexec, one case per row
# of docs/reliability.md:
#   reliability.sh CASE DPTRAIN COMPARE_PARAMS MPIEXEC [MPIEXEC_FLAGS...]
# COMPARE_PARAMS is tests/mpi/compare_params (golden tolerances). Exit 0 = the case
# behaved as documented.
set -u
case_name=$1
dptrain=$2
compare=$3
mpiexec=$4
shift 4
mpiflags=("$@")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/make_bad_inputs.py" "$work/in" || exit 1

fail() {
  echo "FAIL [$case_name]: $*"
  [[ -f $work/err ]] && sed 's/^/    stderr: /' "$work/err" | grep -v '^    stderr: *$' | head -20
  exit 1
}

# run N ARGS... : mpiexec -n N dptrain ARGS, stdout/stderr to $work/out, $work/err; sets rc.
run() {
  local n=$1
  shift
  "$mpiexec" -n "$n" "${mpiflags[@]}" "$dptrain" --progress none "$@" >"$work/out" 2>"$work/err"
  rc=$?
}

# expect_error CODE PATTERN: exactly one "dptrain: error:" line, matching PATTERN, exit CODE.
expect_error() {
  local code=$1 pattern=$2
  local lines
  lines=$(grep -c '^dptrain: error:' "$work/err")
  [[ $rc -eq $code ]] || fail "exit code $rc, want $code"
  [[ $lines -eq 1 ]] || fail "$lines error lines, want exactly 1"
  grep '^dptrain: error:' "$work/err" | grep -qE -- "$pattern" || fail "error line does not match /$pattern/"
  echo "ok [$case_name]: exit $rc: $(grep '^dptrain: error:' "$work/err" | head -c 300)"
}

# start_long RUN_DIR [ARGS...]: a long 2-rank run in the background (mpirun_pid), returned
# once it has written 20 steps of metrics; fails if it never starts.
start_long() {
  local dir=$1
  shift
  "$mpiexec" -n 2 "${mpiflags[@]}" "$dptrain" --progress none --data fashion-mnist --hidden 32,16 --batch-size 64 \
    --steps 1000000 --run-dir "$dir" "$@" >"$work/out" 2>"$work/err" &
  mpirun_pid=$!
  for _ in $(seq 1 300); do
    [[ -s $dir/metrics.jsonl ]] && [[ $(wc -l <"$dir/metrics.jsonl") -gt 20 ]] && break
    sleep 0.1
  done
  [[ -s $dir/metrics.jsonl ]] || { kill -9 "$mpirun_pid"; fail "training never started"; }
}

# wait_long SECONDS WHAT: waits for the background run to end (sets rc); fails after SECONDS.
wait_long() {
  for _ in $(seq 1 $(($1 * 10))); do kill -0 "$mpirun_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$mpirun_pid" 2>/dev/null; then kill -9 "$mpirun_pid"; fail "job still running $1 s after $2"; fi
  wait "$mpirun_pid"
  rc=$?
}

in=$work/in
small=(--data "npy:$in/x.npy,$in/y.npy" --hidden 8 --batch-size 8 --steps 4 --run-dir none)
fashion=(--data fashion-mnist --hidden 32,16 --batch-size 64 --steps 120 --run-dir none --check-every 10)
# The checkpoint-logic cases on the small NPY set: 8 steps per epoch, so 60 steps cross epochs.
quick=(--data "npy:$in/x.npy,$in/y.npy" --hidden 16,8 --batch-size 8 --steps 60 --run-dir none --check-every 10)

case "$case_name" in
# ---- bad input: one clear line naming the file or flag, exit 2, the same on every rank ----
missing_file)      run 2 --data "npy:$in/nope.npy,$in/y.npy" --hidden 8 --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "$in/nope.npy: cannot open" ;;
truncated_gz)      run 2 --data "idx:$in/images_truncated.idx.gz,$in/labels.idx" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "images_truncated.idx.gz: truncated gzip" ;;
corrupt_gz)        run 2 --data "idx:$in/images_corrupt.idx.gz,$in/labels.idx" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "images_corrupt.idx.gz: corrupt gzip" ;;
idx_bad_magic)     run 2 --data "idx:$in/images_badmagic.idx,$in/labels.idx" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "images_badmagic.idx: not an IDX file" ;;
idx_huge_header)   run 2 --data "idx:$in/images_huge.idx,$in/labels.idx" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "images_huge.idx: truncated IDX file" ;;
npy_bad_magic)     run 2 --data "npy:$in/x_badmagic.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_badmagic.npy: not an NPY file" ;;
npy_bad_header)    run 2 --data "npy:$in/x_badheader.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_badheader.npy: malformed NPY header" ;;
npy_truncated)     run 2 --data "npy:$in/x_truncated.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_truncated.npy: truncated NPY file" ;;
npy_dtype)         run 2 --data "npy:$in/x_complex.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_complex.npy: unsupported dtype '<c8'" ;;
npy_big_endian)    run 2 --data "npy:$in/x_bigendian.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_bigendian.npy: unsupported dtype '>f4'" ;;
npy_fortran)       run 2 --data "npy:$in/x_fortran.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_fortran.npy: Fortran-order" ;;
count_mismatch)    run 2 --data "idx:$in/images.idx.gz,$in/labels39.idx" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "image/label count mismatch: .*images.idx.gz has 40 .*labels39.idx has 39" ;;
target_count)      run 2 --data "npy:$in/x.npy,$in/y_short.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "sample count mismatch: .*x.npy has 64 rows but .*y_short.npy has 63" ;;
label_range)       run 2 --data "npy:$in/x.npy,$in/y_big_label.npy" --num-classes 5 --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "y_big_label.npy: label 7 at index 63 is out of range for 5 classes \(--num-classes\)" ;;
label_id)          run 2 --data "npy:$in/x.npy,$in/y_id_label.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "y_id_label.npy: label 1000000000 at index 63 is too large: labels are class indices 0..K-1 with at most 1048576 classes" ;;
data_nan)          run 2 --data "npy:$in/x_nan.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "x_nan.npy: feature at row 10, column 3 is nan: the data must be finite" ;;
target_kind)       run 2 --data "npy:$in/x.npy,$in/y_float.npy" --test-data "npy:$in/x.npy,$in/y.npy" --batch-size 8 --steps 2 --run-dir none
                   expect_error 2 "y.npy: test targets must be of the same kind as the training targets \(integer class labels here, float regression targets in .*y_float.npy\)" ;;
feature_dim)       run 2 "${small[@]}" --test-data "npy:$in/x5.npy,$in/y.npy"
                   expect_error 2 "x5.npy\): feature dimension 5 does not match the training data's 6" ;;
bad_flag)          run 2 "${small[@]}" --lr -1
                   expect_error 2 "--lr must be > 0" ;;
bad_config_key)    printf 'lr = 0.01\nlearnig-rate = 0.1\n' >"$work/run.toml"
                   run 2 "${small[@]}" --config "$work/run.toml"
                   expect_error 2 "--config .*run.toml: unknown key 'learnig-rate'" ;;
batch_indivisible) run 2 --data "npy:$in/x.npy,$in/y.npy" --batch-size 7 --steps 2 --run-dir none
                   expect_error 2 "--batch-size 7 is the GLOBAL batch and must be divisible by the number of ranks \(2\)" ;;

# ---- checkpoints ----
resume_exact)
  # 120 steps straight == 60 steps, stop, resume, 60 steps: bit for bit, on 2 ranks.
  run 2 "${fashion[@]}" --export "$work/full.safetensors"; [[ $rc -eq 0 ]] || fail "full run exit $rc"
  run 2 "${fashion[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 40 --stop-at-step 60
  [[ $rc -eq 0 ]] || fail "first half exit $rc"
  grep -q 'stopped after step 60' "$work/out" || fail "no stop message"
  run 2 "${fashion[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 40 --resume auto --export "$work/resumed.safetensors"
  [[ $rc -eq 0 ]] || fail "resumed run exit $rc"
  grep -q 'resuming from .*ckpt-step0000000060.dpckpt: step 60 of 120' "$work/out" || fail "did not resume from step 60"
  cmp -s "$work/full.safetensors" "$work/resumed.safetensors" || fail "resumed parameters differ from the uninterrupted run"
  echo "ok [$case_name]: 60 + resume + 60 steps == 120 steps, bit for bit" ;;
resume_other_world)
  # The state is replicated: a 2-rank checkpoint resumes on 1 and on 4 ranks (same global batch).
  run 2 "${fashion[@]}" --export "$work/full.safetensors"; [[ $rc -eq 0 ]] || fail "full run exit $rc"
  run 2 "${fashion[@]}" --checkpoint-dir "$work/ck" --stop-at-step 60; [[ $rc -eq 0 ]] || fail "first half exit $rc"
  for n in 1 4; do
    run "$n" "${fashion[@]}" --checkpoint-dir "$work/ck" --resume "$work/ck/ckpt-step0000000060.dpckpt" \
      --export "$work/resumed$n.safetensors"
    [[ $rc -eq 0 ]] || fail "resume on $n ranks exit $rc"
    grep -q "written by 2 rank(s), this run has $n" "$work/out" || fail "no world-size note on $n ranks"
  done
  "$compare" "$work/full.safetensors" "$work/resumed1.safetensors" "$work/resumed4.safetensors" || fail "beyond the golden tolerance"
  echo "ok [$case_name]: resumed on 1 and 4 ranks within the golden tolerance" ;;
resume_other_model)
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --stop-at-step 20; [[ $rc -eq 0 ]] || fail "setup exit $rc"
  run 2 "${quick[@]/16,8/32,8}" --checkpoint-dir "$work/ck" --resume auto
  expect_error 2 "ckpt-step0000000020.dpckpt: checkpoint is of another model .*layers.0.weight \[16, 6\].*layers.0.weight \[32, 6\]" ;;
resume_other_settings)
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --stop-at-step 20; [[ $rc -eq 0 ]] || fail "setup exit $rc"
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --resume auto --lr 0.01
  expect_error 2 "ckpt-step0000000020.dpckpt: checkpoint was written with other settings \(--lr 0.001 in the checkpoint vs 0.01 now\)" ;;
resume_corrupt)
  # A named corrupt file is refused; --resume auto skips it for the previous valid one.
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 20 --stop-at-step 40; [[ $rc -eq 0 ]] || fail "setup exit $rc"
  ck40=$work/ck/ckpt-step0000000040.dpckpt
  printf '\xff' | dd of="$ck40" bs=1 seek=5000 conv=notrunc status=none
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --resume "$ck40"
  expect_error 2 "ckpt-step0000000040.dpckpt: corrupt or truncated checkpoint \(CRC-32 mismatch\)"
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --resume auto
  [[ $rc -eq 0 ]] || fail "auto resume exit $rc"
  grep -q 'warning: skipping checkpoint .*ckpt-step0000000040.dpckpt.* (renamed to .*ckpt-step0000000040.dpckpt.corrupt)' \
    "$work/out" || fail "corrupt file not reported as renamed"
  grep -q 'resuming from .*ckpt-step0000000020.dpckpt' "$work/out" || fail "did not fall back to step 20"
  # Renamed out of the rotation (kept for inspection): the checkpoints left are good ones.
  [[ -f $ck40.corrupt && ! -e $ck40 ]] || fail "the corrupt file was not moved to $ck40.corrupt"
  echo "ok [$case_name]: corrupt checkpoint refused by name; auto resume fell back to step 20 and set it aside" ;;
resume_truncated)
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --stop-at-step 20; [[ $rc -eq 0 ]] || fail "setup exit $rc"
  ck=$work/ck/ckpt-step0000000020.dpckpt
  truncate -s 1000 "$ck"
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --resume "$ck"
  expect_error 2 "ckpt-step0000000020.dpckpt: (truncated checkpoint|corrupt or truncated checkpoint)" ;;
checkpoint_dir_unwritable)
  : >"$work/a-file"
  run 2 "${quick[@]}" --checkpoint-dir "$work/a-file/ck" --checkpoint-every 10
  expect_error 2 "--checkpoint-dir: cannot create .*a-file/ck" ;;
disk_full)
  # The write of step 40's checkpoint fails (its temporary file is /dev/full: ENOSPC);
  # the run stops with a clear error, step 20's checkpoint stays valid and resumable.
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 20 --stop-at-step 20; [[ $rc -eq 0 ]] || fail "setup exit $rc"
  ln -s /dev/full "$work/ck/.ckpt-step0000000040.tmp"
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 20 --resume auto
  expect_error 2 "--checkpoint-dir: writing .*ckpt-step0000000040.dpckpt failed: No space left on device"
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 20 --resume auto
  [[ $rc -eq 0 ]] || fail "resume after the failed write exit $rc"
  grep -q 'resuming from .*ckpt-step0000000020.dpckpt' "$work/out" || fail "step 20's checkpoint was not used"
  echo "ok [$case_name]: failed write left step 20's checkpoint valid; resume completed" ;;
crash_during_checkpoint)
  # Rank 0 is killed halfway through writing step 80's checkpoint; step 40's survives and
  # the resumed run ends bit-identical to an uninterrupted one.
  run 2 "${fashion[@]}" --export "$work/full.safetensors"; [[ $rc -eq 0 ]] || fail "full run exit $rc"
  run 2 "${fashion[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 40 --inject-fault ckpt-crash@80:0
  [[ $rc -ne 0 ]] || fail "the crash did not end the job"
  ls "$work"/ck/.ckpt-step0000000080.tmp >/dev/null 2>&1 || fail "no half-written temporary file (did the crash happen?)"
  run 2 "${fashion[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 40 --resume auto --export "$work/resumed.safetensors"
  [[ $rc -eq 0 ]] || fail "resume exit $rc"
  grep -q 'resuming from .*ckpt-step0000000040.dpckpt' "$work/out" || fail "did not resume from step 40"
  cmp -s "$work/full.safetensors" "$work/resumed.safetensors" || fail "resumed parameters differ"
  echo "ok [$case_name]: crash mid-write; resumed from step 40, bit-identical result" ;;

# ---- dead and hung ranks: the job ends, never hangs ----
hung_rank)
  start=$(date +%s)
  run 2 "${fashion[@]}" --comm-timeout 5 --inject-fault hang@30:1
  elapsed=$(($(date +%s) - start))
  ((elapsed <= 5 + 30)) || fail "took ${elapsed} s (timeout 5 s + 30 s allowed)"
  expect_error 4 "\[rank 0 @ .*\] all_reduce\(gradients\) at step 30 did not complete within 5 s"
  echo "ok [$case_name]: ended in ${elapsed} s" ;;
slow_checkpoint)
  # Rank 0 writes the checkpoint 4 s slower than it could while rank 1 waits under
  # --comm-timeout 2: a 33 MB checkpoint (2.8M parameters) gets 6.7 s more at 5 MB/s and
  # the run goes on; a 0.3 MB one gets 0.06 s, and the waiting rank ends the job.
  big=(--data fashion-mnist --hidden 1536,1024 --batch-size 64 --steps 12 --run-dir none --checkpoint-every 10
    --comm-timeout 2 --inject-fault ckpt-slow@10:0)
  run 2 "${big[@]}" --checkpoint-dir "$work/ck-big"
  [[ $rc -eq 0 ]] || fail "exit $rc with a slow checkpoint write"
  grep -q 'injected fault: checkpoint write 4.0 s slower at step 10' "$work/err" || fail "the fault did not fire"
  [[ -f $work/ck-big/ckpt-step0000000012.dpckpt ]] || fail "no final checkpoint"
  run 2 "${big[@]}" --hidden 32,16 --checkpoint-dir "$work/ck-small"
  expect_error 4 "\[rank 1 @ .*\] all_reduce\(checkpoint\) at step 10 did not complete within 2 s \(--comm-timeout\): a file system may be stuck"
  echo "ok [$case_name]: a slow write of a big checkpoint survives --comm-timeout 2; a small one's ends the job" ;;
crashed_rank)
  start=$(date +%s)
  run 2 "${fashion[@]}" --comm-timeout 60 --inject-fault crash@30:1
  elapsed=$(($(date +%s) - start))
  [[ $rc -ne 0 ]] || fail "exit 0 after a rank crashed"
  ((elapsed <= 30)) || fail "took ${elapsed} s"
  grep -q 'injected fault: crash at step 30' "$work/err" || fail "the fault did not fire"
  echo "ok [$case_name]: exit $rc after ${elapsed} s" ;;
timed_checkpoints)
  # --checkpoint-minutes (30 by default): a crash loses at most that much training. Here every
  # 0.1 s (0.0017 min; about 600 steps of this model), then a rank crashes at step 4000: the
  # resumed run continues from the newest timed checkpoint, not from step 0.
  run_dir=$work/run
  timed=(--data fashion-mnist --hidden 32,16 --batch-size 64 --steps 5000 --run-dir "$run_dir" --check-every 0
    --checkpoint-minutes 0.0017)
  run 2 "${timed[@]}" --comm-timeout 60 --inject-fault crash@4000:1
  [[ $rc -ne 0 ]] || fail "exit 0 after a rank crashed"
  grep -q 'checkpoints every 0.0017 min in' "$work/out" || fail "the start line does not name the timed checkpoints"
  newest=$(ls "$run_dir/checkpoints" | sort | tail -1)
  [[ -n $newest ]] || fail "no timed checkpoint before the crash"
  step=$((10#$(echo "$newest" | sed 's/ckpt-step0*\([0-9]*\)\.dpckpt/\1/')))
  ((step > 0 && step < 4000)) || fail "newest checkpoint at step $step, want one in 1..3999"
  run 2 "${timed[@]}" --resume auto
  [[ $rc -eq 0 ]] || fail "resume exit $rc"
  grep -q "resuming from .*$newest" "$work/out" || fail "did not resume from $newest"
  # A run that wrote timed checkpoints ends with one (not only a resumed run), so resuming it
  # again finds it complete instead of training its tail again from an earlier checkpoint.
  clean=("${timed[@]}")
  clean[9]=$work/clean
  run 2 "${clean[@]}"
  [[ $rc -eq 0 ]] || fail "clean run exit $rc"
  [[ -f $work/clean/checkpoints/ckpt-step0000005000.dpckpt ]] || fail "no checkpoint at the last step"
  run 2 "${clean[@]}" --resume auto
  { [[ $rc -eq 0 ]] && grep -q 'already complete' "$work/out"; } || fail "the finished run is not found complete"
  # A timed checkpoint that cannot be written is a warning, not the end of the run (the
  # user did not ask for it by name): here its directory would lie under a file.
  : >"$work/a-file"
  unwritable=("${timed[@]}")
  unwritable[9]=$work/unwritable
  run 2 "${unwritable[@]}" --checkpoint-dir "$work/a-file/ck"
  [[ $rc -eq 0 ]] || fail "an unwritable timed checkpoint ended the run: exit $rc"
  grep -q '^warning: the --checkpoint-minutes checkpoint after step [0-9]* was not written: .*a-file.*; training goes on' \
    "$work/out" || fail "no warning for the unwritable timed checkpoint"
  grep -q '^done: 5000 steps' "$work/out" || fail "the run did not finish"
  echo "ok [$case_name]: crashed after step 4000, resumed from step $step; a clean run ends with a checkpoint; an unwritable one warns" ;;
killed_rank)
  # kill -9 of one rank from outside, mid-run.
  marker=$work/killed-run
  start_long "$marker" --comm-timeout 60
  victim=$(pgrep -f -- "--run-dir $marker" | grep -v "^$mpirun_pid\$" | tail -1)
  [[ -n $victim ]] || { kill -9 "$mpirun_pid"; fail "no rank process found"; }
  start=$(date +%s)
  kill -9 "$victim"
  wait_long 60 "kill -9"
  elapsed=$(($(date +%s) - start))
  [[ $rc -ne 0 ]] || fail "exit 0 after a rank was killed"
  echo "ok [$case_name]: killed pid $victim; job ended with exit $rc after ${elapsed} s" ;;

# ---- stop signals: a checkpoint, then exit 128 + N; the resumed run's metrics stay whole ----
signal_usr1|signal_term)
  # signal_usr1: SIGUSR1 to mpirun, which passes it on (Slurm: --signal=USR1@T);
  # signal_term: SIGTERM straight to the ranks, as srun and scancel deliver it.
  run_dir=$work/run
  start_long "$run_dir"
  if [[ $case_name == signal_usr1 ]]; then
    signal=USR1 want=138
    kill -USR1 "$mpirun_pid"
  else
    signal=TERM want=143
    ranks=$(pgrep -f -- "--run-dir $run_dir" | grep -v "^$mpirun_pid\$")
    [[ -n $ranks ]] || { kill -9 "$mpirun_pid"; fail "no rank process found"; }
    kill -TERM $ranks
  fi
  wait_long 30 "SIG$signal"
  [[ $rc -eq $want ]] || fail "exit code $rc, want $want"
  stop_step=$(sed -n "s/^stopped by SIG$signal after step \([0-9]*\) of 1000000; the checkpoint is in .*/\1/p" "$work/out")
  [[ -n $stop_step ]] || fail "no 'stopped by SIG$signal after step ...' line"
  grep -q "continue: dptrain --config $run_dir/resume.toml" "$work/out" || fail "no resume.toml hint"
  [[ -f $run_dir/checkpoints/$(printf 'ckpt-step%010d.dpckpt' "$stop_step") ]] || fail "no checkpoint at step $stop_step"
  grep -q "\"type\":\"stop\"" "$run_dir/metrics.jsonl" || fail "no stop record in metrics.jsonl"
  # Resuming with another length is refused by flag name, and leaves config.json alone.
  cp "$run_dir/config.json" "$work/config.before"
  run 2 --data fashion-mnist --hidden 32,16 --batch-size 64 --steps 999999 --run-dir "$run_dir" --resume auto
  expect_error 2 "other settings \(total steps \(--steps/--epochs\) 1000000 in the checkpoint vs 999999 now\)"
  cmp -s "$run_dir/config.json" "$work/config.before" || fail "a refused --resume rewrote config.json"
  # What a kill -9 leaves: records past the checkpoint and a torn last line.
  printf '{"type":"train","step":%d}\n{"type":"train","st' "$((stop_step + 1))" >>"$run_dir/metrics.jsonl"
  # As the stop line said: the run's own resume.toml, no flag repeated by hand.
  run 2 --config "$run_dir/resume.toml" --stop-at-step "$((stop_step + 24))"
  [[ $rc -eq 0 ]] || fail "resume exit $rc"
  grep -q "resuming from .*ckpt-step0*$stop_step.dpckpt" "$work/out" || fail "did not resume from step $stop_step"
  grep -q "metrics.jsonl: moved 2 record(s) after step $stop_step" "$work/out" || fail "torn records not dropped"
  [[ $(wc -l <"$run_dir/metrics.jsonl.dropped") -eq 2 ]] || fail "the dropped records are not kept aside"
  python3 - "$run_dir/metrics.jsonl" "$((stop_step + 24))" <<'PY' || fail "metrics.jsonl is not whole after the resume"
import json, sys
steps = [r["step"] for r in map(json.loads, open(sys.argv[1])) if r["type"] == "train"]
assert steps == list(range(steps[0], int(sys.argv[2]) + 1)), "train steps not each once, in order"
PY
  # A checkpoint this small fits in the second mpirun grants after its SIGTERM: no note.
  if grep -q 'mpirun kills the ranks' "$work/out"; then fail "the SIGKILL note for a small checkpoint"; fi
  echo "ok [$case_name]: SIG$signal: checkpoint at step $stop_step, exit $rc; resumed, metrics.jsonl whole" ;;

signal_term_big)
  # Open MPI's mpirun SIGKILLs its ranks 1 s after passing on a Ctrl-C or SIGTERM: rank 0
  # says so when its checkpoint (here 784-4096-2048-10: 11.6M parameters, 140 MB) may not fit.
  # SIGTERM goes straight to the ranks, so nothing kills them and the checkpoint is written.
  run_dir=$work/run
  start_long "$run_dir" --hidden 4096,2048
  ranks=$(pgrep -f -- "--run-dir $run_dir" | grep -v "^$mpirun_pid\$")
  [[ -n $ranks ]] || { kill -9 "$mpirun_pid"; fail "no rank process found"; }
  kill -TERM $ranks
  wait_long 60 SIGTERM
  [[ $rc -eq 143 ]] || fail "exit code $rc, want 143"
  ls "$run_dir"/checkpoints/ckpt-step*.dpckpt >/dev/null 2>&1 || fail "no checkpoint"
  if "$mpiexec" --version 2>&1 | grep -q 'OpenRTE'; then  # Open MPI 4's mpirun
    grep -q "^note: if this SIGTERM came from mpirun (a Ctrl-C or a SIGTERM to it), mpirun kills the ranks 1 s later .*(140 MB).*send SIGUSR1 to mpirun instead" \
      "$work/out" || { sed 's/^/    stdout: /' "$work/out" | grep -v ' = ' | tail -5; fail "no note that mpirun's SIGKILL may come before the checkpoint"; }
    echo "ok [$case_name]: the SIGKILL note, then the checkpoint (nothing killed the ranks)"
  else
    if grep -q 'mpirun kills the ranks' "$work/out"; then fail "the Open MPI note under another launcher"; fi
    echo "ok [$case_name]: not Open MPI's mpirun: no note"
  fi ;;

# ---- non-finite values ----
nan_stop)
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --checkpoint-every 20 --inject-fault nan@25:1
  expect_error 3 "non-finite loss or gradient at step 25 .*local loss of rank\(s\) 1.*stopping without an update"
  newest=$(ls "$work/ck" | sort | tail -1)
  [[ $newest == ckpt-step0000000020.dpckpt ]] || fail "newest checkpoint is $newest, want step 20's"
  run 2 "${quick[@]}" --checkpoint-dir "$work/ck" --resume auto
  [[ $rc -eq 0 ]] || fail "resume from the last good checkpoint exit $rc"
  echo "ok [$case_name]: stopped at step 25; step 20's checkpoint untouched and resumable" ;;
nan_skip)
  run 2 "${quick[@]/#none/$work/run}" --inject-fault nan@25:1,nan@26:0 --on-nonfinite skip
  [[ $rc -eq 0 ]] || fail "exit $rc"
  [[ $(grep -c '"type":"skip"' "$work/run/metrics.jsonl") -eq 2 ]] || fail "want 2 skip records in metrics.jsonl"
  grep -q '2 step(s) skipped (non-finite)' "$work/out" || fail "no summary of skipped steps"
  echo "ok [$case_name]: 2 steps skipped, run completed" ;;
*)
  echo "unknown case $case_name" >&2
  exit 2 ;;
esac
exit 0
