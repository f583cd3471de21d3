#!/usr/bin/env bash
# Command-line behaviour of the dptrain executable, as a user meets it:
#   cli_test.sh DPTRAIN MPIEXEC [MPIEXEC_FLAGS...]
# Bad values give ONE line on stderr naming the flag or file, and exit code 2; --help
# and --version exit 0; a --config file is read and command-line flags override it.
set -u
dptrain=$1
mpiexec=$2
shift 2
mpiflags=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
cases=0

# expect_exact CODE PATTERN -- ARGS... : runs dptrain ARGS (1 rank, no mpirun), checks the
# exit code, that stderr holds exactly one "dptrain: error:" line, and that it matches PATTERN.
expect_exact() {
  local code=$1 pattern=$2
  shift 3
  cases=$((cases + 1))
  "$dptrain" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local lines
  lines=$(grep -c '^dptrain: error:' "$work/err")
  if [[ $rc -ne $code ]] || { [[ $code -ne 0 ]] && [[ $lines -ne 1 ]]; } || ! grep -qE -- "$pattern" "$work/err" "$work/out"; then
    echo "FAIL: dptrain $* -> exit $rc (want $code), $lines error line(s), want /$pattern/"
    sed 's/^/    /' "$work/err" | head -5
    failures=$((failures + 1))
  else
    echo "ok:   dptrain $* -> exit $rc: $(head -c 160 "$work/err" | head -1)"
  fi
}
# expect CODE PATTERN -- ARGS... : the same with --run-dir none --progress none first.
expect() {
  expect_exact "$1" "$2" -- --run-dir none --progress none "${@:4}"
}

expect 0 'Usage: dptrain' -- --help
expect 0 'batch-size' -- --help
expect 0 '^dptrain [0-9]+\.[0-9]+\.[0-9]+' -- --version
expect 2 '--model' -- --model transformer9000
expect 2 '--lr' -- --lr 0
expect 2 '--lr' -- --lr -0.1
expect 2 '--lr-schedule' -- --lr-schedule linear
expect 2 '--batch-size' -- --batch-size 0
expect 2 '--bogus' -- --bogus 1
expect 2 '--hidden' -- --model linreg --hidden 4 --data synthetic-linreg
expect 2 '--epochs' -- --epochs abc
expect 2 'train-images-idx3-ubyte.* not found' -- --data-dir "$work/nothing-here"
expect 2 "$work/missing.npy" -- --data "npy:$work/missing.npy,$work/y.npy"
expect 2 '--data.*unknown data set' -- --data cifar-100
expect 2 '^dptrain: error: --config: .*missing.toml' -- --config "$work/missing.toml"
expect 2 "^dptrain: error: --config: $work is a directory, not a file" -- --config "$work"
printf 'lr = 0.01\n[train]\nsteps = 3\n' >"$work/sections.toml"
expect 2 "^dptrain: error: --config $work/sections.toml: section \[train\] is not used: write every key at the top level" \
  -- --config "$work/sections.toml"
: >"$work/empty.npy"
expect 2 "$work/empty.npy: empty file \(0 bytes\), not an NPY array" -- --data "npy:$work/empty.npy,$work/empty.npy"
expect 2 '--seed: must be an integer >= 0, got -1' -- --seed -1
expect 2 '--checkpoint-minutes must be >= 0 \(0 = none\), got -1' -- --checkpoint-minutes -1
# What CLI11 refuses, said so that a user sees what to type instead.
expect 2 '^dptrain: error: unknown flag --epoch \(did you mean --epochs\?\)' -- --epoch 3
expect 2 'unknown flag --Lr \(did you mean --lr\?\)' -- --Lr 0.1
expect 2 'unknown flag --bogus \(see --help\)$' -- --bogus 1
expect 2 'unknown flag -x \(the short flags are .*-b.*; long flags start with --\)' -- -x
expect 2 "unexpected argument '3': every value follows its flag" -- 3
expect 2 "--tf32 is a switch and takes no value; 'false' after it is left over \(write --tf32=false" -- --tf32 false
expect 2 "--epochs: expected an integer, got '1.5'" -- --epochs 1.5
expect 2 "--lr: expected a number, got 'abc'" -- --lr abc
expect 2 "--tf32: expected true or false \(or no value\), got 'maybe'" -- --tf32=maybe
expect 2 '--steps: needs a value \(an integer\), got the flag --dry-run' -- --steps --dry-run
expect 2 "--epochs: expected an integer, got 'pochs' \(-epochs reads as -e pochs; long flags start with --\)" -- -epochs 3
expect 2 'unknown flag -dry-run \(long flags start with --: did you mean --dry-run\?\)' -- -dry-run
expect 2 "unexpected argument '3' after '--': there are no positional arguments" -- --dry-run -- 3
expect 2 "--tf32 is a switch and takes no value; '3' after it is left over" -- --steps 3 --tf32 3
expect 2 '--hidden: needs a value \(integers separated by .,.\), got the flag --dry-run' -- --hidden 64 --hidden --dry-run
# Empty entries of a list are refused, not dropped (CLI11 alone trains 64,32 for 64,,32).
expect 2 "--hidden: '64,,32' has an empty entry \(integers separated by ',', e.g. 256,128\)" -- --hidden 64,,32
expect 2 "--hidden: '64,' has an empty entry" -- --hidden=64,
printf 'hidden = [64,,32]\n' >"$work/hidden.toml"
expect 2 "^dptrain: error: --config $work/hidden.toml: hidden has an empty entry" -- --config "$work/hidden.toml"
printf 'epoch = 2\n' >"$work/typo.toml"
expect 2 "--config $work/typo.toml: unknown key 'epoch' \(did you mean epochs\?\)" -- --config "$work/typo.toml"
printf 'epochs = 1.5\n' >"$work/epochs-float.toml"
expect 2 "--config $work/epochs-float.toml: --epochs: expected an integer, got '1.5'" -- --config "$work/epochs-float.toml"
# A list flag given twice takes its last occurrence, like a scalar flag (CLI11 appended them);
# so does a config key given twice; the command line overrides the file.
expect 0 'model mlp 784-64-10 ' -- --hidden 32,16 --hidden 64 --dry-run
expect 0 'model mlp 784-8-4-10 ' -- --hidden 32 16 --hidden=8,4 --dry-run
expect 0 'model mlp 784-64-32-10 ' -- --hidden 8 --hidden=64 32 --dry-run
expect 2 "--hidden: ',32' has an empty entry" -- --hidden=64 ,32 --dry-run
printf 'hidden = [64,32]\n# later:\nhidden = [8]\n' >"$work/twice.toml"
expect 0 'model mlp 784-8-10 ' -- --config "$work/twice.toml" --dry-run
printf 'hidden = "64,,32"\n' >"$work/hidden-string.toml"
expect 2 "--config $work/hidden-string.toml: hidden has an empty entry" -- --config "$work/hidden-string.toml"
expect 0 'model mlp 784-8-10 ' -- --config "$work/hidden.toml" --hidden 8 --dry-run
# TOML arrays over several lines, with comments and spaces around entries (CLI11 2.1 alone
# reads neither); an array never closed, or an empty one, says so; a flag without its value.
printf 'hidden = [\r\n  48,  # first\r\n  24 , # second\r\n]  # done\r\nsteps = 1\n' >"$work/multiline.toml"
expect 0 'model mlp 784-48-24-10 .*1 steps' -- --config "$work/multiline.toml" --dry-run
printf 'data = "npy:%s/a#1.npy,y.npy"  # a comment\nsteps = 1\n' "$work" >"$work/hash.toml"
expect 2 "$work/a#1.npy: cannot open" -- --config "$work/hash.toml"
printf 'hidden = [ 48 , "24" ]\n' >"$work/spaces.toml"
expect 0 'model mlp 784-48-24-10 ' -- --config "$work/spaces.toml" --dry-run
printf 'epochs = 1\nhidden = [\n  48,\n  24\nlr = 0.1\n' >"$work/no-bracket.toml"
expect 2 "--config $work/no-bracket.toml: hidden \\(line 5\\): missing ',' between '24' and 'lr = 0.1'" -- --config "$work/no-bracket.toml"
printf 'epochs = 1\nhidden = [\n  48,\n  24,\n' >"$work/unclosed.toml"
expect 2 "--config $work/unclosed.toml: hidden \\(line 2\\): the array opened on this line is not closed" -- --config "$work/unclosed.toml"
printf 'hidden = [\n  48\n  24,\n]\n' >"$work/no-comma.toml"
expect 2 "--config $work/no-comma.toml: hidden \\(line 3\\): missing ',' between '48' and '24'" -- --config "$work/no-comma.toml"
printf 'hidden = []\n' >"$work/empty-list.toml"
expect 2 "--config $work/empty-list.toml: hidden \\(line 1\\): an empty array has no value: leave the key out for its default" -- --config "$work/empty-list.toml"
printf 'epochs = [\n]\n' >"$work/empty-scalar.toml"  # CLI11 alone crashed on it
expect 2 "--config $work/empty-scalar.toml: epochs \\(line 1\\): an empty array has no value" -- --config "$work/empty-scalar.toml"
printf 'checkpoint-dir = ck_2024_01\nsteps = 1_000\n' >"$work/underscores.toml"
expect 0 "1000 steps .*checkpoints every 30 min in ck_2024_01" -- --config "$work/underscores.toml" --model linreg --data synthetic-linreg --dry-run
expect 2 '^dptrain: error: --epochs: needs a value \(an integer\)' -- --epochs
# Bytes that are not UTF-8 cannot go into config.json and the checkpoints: refused up front.
expect 2 '^dptrain: error: --run-dir: the value is not UTF-8 text' -- --run-dir $'runs/x\xff' --dry-run
printf 'run-dir = "x\\uD800"\n' >"$work/surrogate.toml"
expect 2 "--config $work/surrogate.toml: run-dir \\(line 1\\): \\\\uD800 is not a Unicode character" -- --config "$work/surrogate.toml" --dry-run
# A config file saved by an editor that writes a UTF-8 byte-order mark, with CRLF line ends.
printf '\xef\xbb\xbfmodel = "linreg"\r\ndata = "synthetic-linreg"\r\nsteps = 2\r\n' >"$work/bom.toml"
expect 0 'done: 2 steps' -- --config "$work/bom.toml"
expect 2 '--batch-size 99999999 is larger than the training set \(1000 samples\)' -- --model linreg \
  --data synthetic-linreg --batch-size 99999999
# Outputs that cannot be written are refused at start, not after training.
: >"$work/a-file"
expect 2 "--export: cannot write $work/a-file/m.safetensors: $work/a-file is not a directory" -- --model linreg \
  --data synthetic-linreg --steps 3 --export "$work/a-file/m.safetensors"
expect 2 "--trace: cannot write $work: it is a directory" -- --model linreg --data synthetic-linreg --steps 3 \
  --trace "$work"
# --resume: a missing file is named; auto without a directory to look in is refused.
expect 2 "$work/nope.dpckpt: cannot open" -- --model linreg --data synthetic-linreg --resume "$work/nope.dpckpt"
expect_exact 2 '^dptrain: error: --resume auto looks in .*without --run-dir' -- --model linreg \
  --data synthetic-linreg --progress none --resume auto
# --dry-run checks everything, trains nothing and writes nothing; it catches a bad batch.
expect_exact 0 'dry run: the flags, the data, the model and the device are valid' -- --model linreg \
  --data synthetic-linreg --progress none --run-dir "$work/dry" --export "$work/dry.safetensors" --dry-run
cases=$((cases + 1))
if [[ -e $work/dry || -e $work/dry.safetensors ]]; then
  echo "FAIL: --dry-run wrote $(ls -d "$work"/dry*)"
  failures=$((failures + 1))
else
  echo "ok:   --dry-run wrote nothing"
fi
expect 2 '--batch-size 1001 is larger than the training set' -- --model linreg --data synthetic-linreg \
  --batch-size 1001 --dry-run
# A missing directory of --export is created by the run, so the dry run accepts it.
expect_exact 0 'dry run: .* are valid' -- --model linreg --data synthetic-linreg --progress none --run-dir none \
  --export "$work/new/sub/m.safetensors" --dry-run
expect_exact 0 "exported 11 parameters to $work/new/sub/m.safetensors" -- --model linreg --data synthetic-linreg \
  --steps 2 --progress none --run-dir none --export "$work/new/sub/m.safetensors"
# A resumed run ends with a checkpoint: resuming it again (a chained or re-queued job)
# finds the run complete, which is a success, and its export comes from that checkpoint;
# naming that checkpoint by hand is a mistake.
fin=(--model linreg --data synthetic-linreg --steps 20 --progress none --run-dir "$work/fin")
"$dptrain" "${fin[@]}" --stop-at-step 10 >/dev/null 2>&1
"$dptrain" "${fin[@]}" --resume auto >/dev/null 2>&1
lines_before=$(wc -l <"$work/fin/metrics.jsonl")
expect_exact 0 'already complete \(its checkpoint .*ckpt-step0000000020.dpckpt is at step 20; 20 steps in all\)' -- \
  --config "$work/fin/resume.toml" --export "$work/fin.safetensors"
cases=$((cases + 1))
if [[ -s $work/fin.safetensors && $(wc -l <"$work/fin/metrics.jsonl") -eq $lines_before ]]; then
  echo "ok:   a complete run: exported from its checkpoint, metrics.jsonl untouched"
else
  echo "FAIL: a complete run: no export, or metrics.jsonl changed"
  failures=$((failures + 1))
fi
expect_exact 2 'ckpt-step0000000020.dpckpt: checkpoint is at step 20, the run ends at step 20 \(nothing left' -- \
  "${fin[@]}" --resume "$work/fin/checkpoints/ckpt-step0000000020.dpckpt"
# A new run (no --resume) does not write over a finished one, nor beside its checkpoints;
# the dry run says so too, and the old run is untouched.
cp "$work/fin/metrics.jsonl" "$work/fin-metrics.before"
expect_exact 2 "--run-dir $work/fin already holds a run \\($work/fin/metrics.jsonl\\): continue it with --resume auto \\(dptrain --config $work/fin/resume.toml\\)" \
  -- "${fin[@]}"
expect_exact 2 "--run-dir $work/fin already holds a run" -- "${fin[@]}" --dry-run
expect_exact 2 "--checkpoint-dir $work/fin/checkpoints already holds [0-9]+ checkpoint\\(s\\) of a run .*continue it with --resume auto and this --checkpoint-dir" -- \
  --model linreg --data synthetic-linreg --steps 20 --progress none --run-dir none --checkpoint-dir "$work/fin/checkpoints"
cases=$((cases + 1))
if cmp -s "$work/fin/metrics.jsonl" "$work/fin-metrics.before"; then
  echo "ok:   refused new runs left the finished run's metrics.jsonl alone"
else
  echo "FAIL: a refused new run changed $work/fin/metrics.jsonl"
  failures=$((failures + 1))
fi
expect_exact 0 "exported 11 parameters to $work/fin-byname.safetensors" -- "${fin[@]}" \
  --resume "$work/fin/checkpoints/ckpt-step0000000020.dpckpt" --export "$work/fin-byname.safetensors"
# resume.toml names its paths absolutely: it continues the run from any directory.
mkdir -p "$work/sub"
(cd "$work/sub" && "$dptrain" --model linreg --data synthetic-linreg --steps 20 --progress none --run-dir rel \
  --stop-at-step 10 >/dev/null 2>&1)
# A dry run says whether it found a checkpoint to resume.
expect_exact 0 'dry run: .*, and so is the checkpoint to resume \(step 10\)' -- --config "$work/sub/rel/resume.toml" \
  --dry-run
expect_exact 0 'dry run: .*; there is no checkpoint to resume: it would start from step 0' -- --model linreg \
  --data synthetic-linreg --steps 20 --progress none --run-dir "$work/nothing-yet" --resume auto --dry-run
expect_exact 0 "resuming from $work/sub/rel/checkpoints/ckpt-step0000000010.dpckpt: step 10 of 20" -- \
  --config "$work/sub/rel/resume.toml"
# A script's appended override wins; a warm-up longer than the run is pointed out.
expect 0 'done: 5 steps' -- --model linreg --data synthetic-linreg --steps 3 --steps 5
expect 0 'note: --warmup-steps 10 is longer than the run \(3 steps\)' -- --model linreg --data synthetic-linreg \
  --steps 3 --warmup-steps 10
expect 2 '--batch-size 500 x --grad-accum 3 = 1500 samples per step is more than the training set \(1000 samples\)' \
  -- --model linreg --data synthetic-linreg --batch-size 500 --grad-accum 3 --steps 2
# Checkpoint flags with nowhere to put checkpoints are refused.
expect 2 '--checkpoint-every/--stop-at-step/--resume auto need a place for checkpoints: pass --checkpoint-dir' -- \
  --model linreg --data synthetic-linreg --steps 20 --checkpoint-every 5
# A --stop-at-step that can never come is refused: beyond the run, or not after the resume.
expect_exact 2 '--stop-at-step 50 is beyond the run.s last step 40' -- --model linreg --data synthetic-linreg \
  --steps 40 --stop-at-step 50 --progress none --run-dir "$work/beyond"
expect_exact 2 '--stop-at-step 5: the run resumes at step 10 .*, so a stop must come after it' -- \
  --config "$work/sub/rel/resume.toml" --steps 20 --stop-at-step 5 --resume "$work/sub/rel/checkpoints/ckpt-step0000000010.dpckpt"
# A complete run found through --checkpoint-dir leaves no new run dir behind.
"$dptrain" --model linreg --data synthetic-linreg --steps 20 --checkpoint-every 10 --checkpoint-dir "$work/ck1" \
  --run-dir none --progress none >/dev/null 2>&1
expect_exact 0 'already complete \(its checkpoint .*ck1/ckpt-step0000000020.dpckpt' -- --model linreg \
  --data synthetic-linreg --steps 20 --checkpoint-every 10 --checkpoint-dir "$work/ck1" --resume auto \
  --run-dir "$work/newrun" --progress none
cases=$((cases + 1))
if [[ -e $work/newrun ]]; then
  echo "FAIL: a complete run left the new run dir $work/newrun behind"
  failures=$((failures + 1))
else
  echo "ok:   a complete run created no run dir"
fi
# A refused --resume leaves no new run dir either; an existing one keeps what it holds.
expect_exact 2 'nope.dpckpt' -- --model linreg --data synthetic-linreg --steps 20 --resume "$work/nope.dpckpt" \
  --run-dir "$work/refused" --progress none
expect_exact 2 'ckpt-step0000000020.dpckpt: checkpoint is at step 20' -- "${fin[@]}" \
  --resume "$work/fin/checkpoints/ckpt-step0000000020.dpckpt"
# Outputs that cannot be written are refused before the new run dir gets any file.
touch "$work/afile"
expect_exact 2 "--checkpoint-dir: cannot create $work/afile/ck" -- --model linreg --data synthetic-linreg \
  --steps 20 --checkpoint-every 5 --checkpoint-dir "$work/afile/ck" --run-dir "$work/refused" --progress none
expect_exact 2 "--export: cannot write $work/afile/m.safetensors" -- --model linreg --data synthetic-linreg \
  --steps 20 --export "$work/afile/m.safetensors" --run-dir "$work/refused" --progress none
expect_exact 2 'nope.dpckpt' -- --model linreg --data synthetic-linreg --steps 20 --resume "$work/nope.dpckpt" \
  --checkpoint-every 5 --checkpoint-dir "$work/refused/a/b" --run-dir "$work/refused" --progress none
cases=$((cases + 1))
if [[ -e $work/refused ]]; then
  echo "FAIL: a refused --resume left the new run dir $work/refused behind"
  failures=$((failures + 1))
elif [[ ! -s $work/fin/metrics.jsonl || ! -s $work/fin/config.json ]]; then
  echo "FAIL: a refused --resume emptied the existing run dir $work/fin"
  failures=$((failures + 1))
else
  echo "ok:   a refused --resume created no run dir and kept the existing one"
fi
# One-step epochs (full batch) get an epoch line every --log-every steps, not every step.
cases=$((cases + 1))
lines=$("$dptrain" --model linreg --data synthetic-linreg --batch-size 1000 --steps 30 --log-every 10 \
  --progress lines --run-dir none 2>/dev/null | grep -cE '^epoch [0-9]+/30:')
if [[ $lines -eq 3 ]]; then
  echo "ok:   30 one-step epochs, --log-every 10 -> 3 epoch lines"
else
  echo "FAIL: 30 one-step epochs, --log-every 10 -> $lines epoch lines, want 3"
  failures=$((failures + 1))
fi
# A run that finished without checkpoints is complete too (its metrics.jsonl ends with a
# "done" record of its last step and settings), not restarted from step 0, even when its
# last step was skipped; an export is impossible there and refused; other settings in the
# same run dir are refused, not taken for the finished run.
nock=(--model linreg --data synthetic-linreg --steps 12 --progress none --run-dir "$work/nock")
"$dptrain" "${nock[@]}" --inject-fault nan@12:0 --on-nonfinite skip >/dev/null 2>&1
expect_exact 0 'already complete \(.*nock/metrics.jsonl records its last step, and no valid checkpoint is left' \
  -- --config "$work/nock/resume.toml"
# Without a checkpoint, --export copies the model the run left in its run dir; without
# that file either, the parameters are gone and the export is refused.
expect_exact 0 "exported 11 parameters to $work/nock.safetensors" -- \
  --config "$work/nock/resume.toml" --export "$work/nock.safetensors"
cases=$((cases + 1))
if cmp -s <(tail -c 44 "$work/nock/model.safetensors") <(tail -c 44 "$work/nock.safetensors"); then
  echo "ok:   the export of a finished run without checkpoints holds its model.safetensors' parameters"
else
  echo "FAIL: the export of $work/nock differs from its model.safetensors"
  failures=$((failures + 1))
fi
mv "$work/nock/model.safetensors" "$work/nock-model.safetensors"
expect_exact 2 'the run left no checkpoint and no .*nock/model.safetensors, so its trained parameters are gone' -- \
  --config "$work/nock/resume.toml" --export "$work/nock2.safetensors"
mv "$work/nock-model.safetensors" "$work/nock/model.safetensors"
expect_exact 2 'nock/metrics.jsonl: this run dir holds a finished run with other settings \(--lr 0.001 in the finished run vs 0.5 now' \
  -- "${nock[@]}" --resume auto --lr 0.5
expect_exact 2 'nock/metrics.jsonl: this run dir holds a finished run with other settings \(total steps \(--steps/--epochs\) 12 in the finished run vs 30 now' \
  -- --config "$work/nock/resume.toml" --steps 30
expect_exact 0 'dry run: .*the run is already complete \(.*nock/metrics.jsonl records its last step' -- \
  --config "$work/nock/resume.toml" --dry-run
# --stop-at-step at the last step is the end of the run: a done record, no stop record.
expect_exact 0 'done: 12 steps' -- --model linreg --data synthetic-linreg --steps 12 --stop-at-step 12 \
  --progress none --run-dir "$work/stoplast"
cases=$((cases + 1))
if grep -q '"type":"done"' "$work/stoplast/metrics.jsonl" && ! grep -q '"type":"stop"' "$work/stoplast/metrics.jsonl"; then
  echo "ok:   --stop-at-step at the last step finishes the run"
else
  echo "FAIL: --stop-at-step at the last step: want a done record and no stop record"
  failures=$((failures + 1))
fi
# DPTRAIN_DATA_DIR moves the default --data-dir (and the error names it).
cases=$((cases + 1))
DPTRAIN_DATA_DIR="$work/env-data" "$dptrain" --run-dir none --progress none >"$work/out" 2>"$work/err"
rc=$?
if [[ $rc -eq 2 ]] && grep -q "$work/env-data" "$work/err"; then
  echo "ok:   DPTRAIN_DATA_DIR=... dptrain -> exit 2 naming it"
else
  echo "FAIL: DPTRAIN_DATA_DIR=$work/env-data dptrain -> exit $rc, want 2 and the directory named"
  sed 's/^/    /' "$work/err" | head -3
  failures=$((failures + 1))
fi
expect 2 '--device: unknown' -- --device tpu
expect 2 '--comm: unknown' -- --comm gloo
expect 2 '--comm nccl needs --device cuda' -- --comm nccl
expect 2 '--gpu-data: unknown' -- --gpu-data fast
# Without a GPU: asking for one is refused by name; auto falls back to the CPU and trains.
if ! nvidia-smi -L >/dev/null 2>&1; then
  expect 2 '--device cuda: (no CUDA device visible|no usable CUDA driver|CUDA is unusable|this build has no CUDA backend)' -- --device cuda
  expect 0 'BLAS thread' -- --device auto --model linreg --data synthetic-linreg --steps 3
fi

# A config file with an unknown key is refused, naming the key.
printf 'lr = 0.01\nlearning_rate = 0.5\n' >"$work/bad.toml"
expect 2 'learning_rate' -- --config "$work/bad.toml"
# A bad value in the file names the file; the same value on the command line does not.
printf 'lr = "abc"\n' >"$work/badvalue.toml"
expect 2 "--config $work/badvalue.toml: --lr: expected a number, got 'abc'" -- --config "$work/badvalue.toml"
printf 'steps = 3\n' >"$work/steps.toml"
expect 2 "^dptrain: error: --lr: expected a number, got 'abc'" -- --config "$work/steps.toml" --lr abc
expect 2 "^dptrain: error: --batch-size: expected an integer, got 'abc'" -- --config "$work/steps.toml" -b abc

# A good config file is applied, and the command line overrides it.
printf 'model = "linreg"\ndata = "synthetic-linreg"\nlr = 0.02\nsteps = 3\nbatch-size = 100\n' >"$work/good.toml"
cases=$((cases + 1))
if "$dptrain" --config "$work/good.toml" --lr 0.03 --run-dir "$work/run" --progress none >"$work/out" 2>"$work/err" &&
   grep -q '"lr": 0.03' "$work/run/config.json" && grep -q '"model": "linreg"' "$work/run/config.json" &&
   grep -q '"steps": 3' "$work/run/config.json" && [[ $(grep -c '"type":"train"' "$work/run/metrics.jsonl") -eq 3 ]] &&
   grep -q '"backend": "cpu"' "$work/run/config.json" && grep -q '"gradient_comm": "mpi"' "$work/run/config.json"; then
  echo "ok:   --config applied, --lr overrides it, 3 steps in metrics.jsonl, the resolved backend in config.json"
else
  echo "FAIL: --config / override / metrics"
  sed 's/^/    /' "$work/err" | head -5
  failures=$((failures + 1))
fi

# The configuration printed at start is itself a valid --config file that reproduces the run.
cases=$((cases + 1))
"$dptrain" --model linreg --data synthetic-linreg --batch-size 50 --steps 2 --lr 0.01 --run-dir "$work/p1" \
  --progress none >"$work/p1.out" 2>&1
sed -n '/^# dptrain .* resolved configuration/,/^$/p' "$work/p1.out" | grep -v '^run-dir' >"$work/printed.toml"
if "$dptrain" --config "$work/printed.toml" --run-dir "$work/p2" --progress none >/dev/null 2>"$work/err" &&
   diff <(grep -v run-dir "$work/p1/config.json") <(grep -v run-dir "$work/p2/config.json") >/dev/null; then
  echo "ok:   the printed configuration reproduces the run through --config"
else
  echo "FAIL: printed configuration does not round-trip"
  sed 's/^/    /' "$work/err" | head -5
  failures=$((failures + 1))
fi

expect 2 '--num-classes applies to class labels' -- --model linreg --data synthetic-linreg --num-classes 3

# Under mpiexec with 2 ranks: a batch that does not divide is one line (from rank 0), exit 2.
cases=$((cases + 1))
"$mpiexec" -n 2 "${mpiflags[@]}" "$dptrain" --data synthetic-linreg --model linreg --batch-size 5 \
  --run-dir none --progress none >"$work/out" 2>"$work/err"
rc=$?
if [[ $rc -eq 2 ]] && [[ $(grep -c '^dptrain: error:.*--batch-size 5.*divisible' "$work/err") -eq 1 ]]; then
  echo "ok:   2 ranks, --batch-size 5 -> exit 2, one error line"
else
  echo "FAIL: 2 ranks, --batch-size 5 -> exit $rc"
  sed 's/^/    /' "$work/err" | head -8
  failures=$((failures + 1))
fi

# Threads and cores: mpirun -n 1 binds the rank to one core, which costs it the rest of
# its share: a note says so (and how to undo it). Ranks pinned together to one core (taskset
# on the launcher, a cpuset) are reported as taking turns on it, whatever the host has.
cases=$((cases + 1))
"$mpiexec" -n 1 "${mpiflags[@]}" --bind-to core "$dptrain" --data synthetic-linreg --model linreg --steps 2 \
  --run-dir none --progress none >"$work/out" 2>"$work/err"
if [[ $(nproc) -lt 2 ]] || grep -q 'this rank may only run on 1 of the [0-9]* cores .* mpirun --bind-to none' "$work/out"; then
  echo "ok:   mpiexec -n 1 --bind-to core -> the binding note"
else
  echo "FAIL: mpiexec -n 1 --bind-to core -> want the note that binding leaves the rank one core"
  sed 's/^/    /' "$work/out" "$work/err" | grep -v ' = ' | head -8
  failures=$((failures + 1))
fi
if command -v taskset >/dev/null; then
  cpu=$(awk '/^Cpus_allowed_list/ {split($2, a, /[-,]/); print a[1]}' /proc/self/status)
  cases=$((cases + 1))
  taskset -c "$cpu" "$mpiexec" -n 2 "${mpiflags[@]}" --bind-to none "$dptrain" --data synthetic-linreg \
    --model linreg --steps 2 --run-dir none --progress none --print-topology >"$work/out" 2>"$work/err"
  if grep -q 'runs 2 rank(s) x 1 BLAS thread(s) on 1 core(s): they take turns' "$work/out"; then
    echo "ok:   taskset -c $cpu mpiexec -n 2 --bind-to none -> the oversubscription note"
  else
    echo "FAIL: taskset -c $cpu mpiexec -n 2 --bind-to none -> want the note of 2 ranks on 1 core"
    sed 's/^/    /' "$work/out" "$work/err" | grep -v ' = ' | head -8
    failures=$((failures + 1))
  fi
fi

echo "$((cases - failures))/$cases command-line cases passed"
[[ $failures -eq 0 ]]
