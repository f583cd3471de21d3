#!/usr/bin/env bash
# A tiny scaling sweep end to end:  scaling_tiny_test.sh DPTRAIN SOURCE_DIR
#  1. launch/scaling.sh on ranks 1,2, strong and weak, 12 steps (2 dropped), default MLP;
#     checks the run directories, scaling.md (both tables, every column, one row per rank
#     count), scaling.json (parses; speed-up 1 and efficiency 100 % at 1 rank), and that
#     throughput.png / efficiency.png are valid PNG files (signature, IHDR, CRCs, IEND).
#  2. launch/report.py --model-prediction adds "predicted step ms" and "error %";
#     launch/perf_model.py's fit recovers known alpha/beta, and end to end (a 2-rank dpbench
#     file and this sweep) its predictions go into report.py.
#  3. Clear failures: an indivisible strong batch, a bad --extra flag and a batch beyond the
#     data set are refused before anything runs; a run failing mid-way ends the sweep with
#     its exit code, naming the run.
#  4. SIGTERM mid-run: a checkpoint, no rank left, exit 143, the partial run out of the
#     report; a second sweep into the same --out moves the first to OUT/previous-<time>/.
# Exits 77 (skipped) when no Python interpreter has matplotlib.
set -u
dptrain=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

py=""
for c in "${PYTHON:-}" "$(command -v python3 || true)" /usr/bin/python3; do
  if [[ -n "$c" && -x "$c" ]] && "$c" -c 'import matplotlib' 2>/dev/null; then py=$c; break; fi
done
if [[ -z "$py" ]]; then
  echo "no Python interpreter with matplotlib (Debian: python3-matplotlib; launch/install-deps.sh test): skipping"
  exit 77
fi

# ---------------------------------------------------------------- 1. the sweep
out="$work/sweep"
"$src/launch/scaling.sh" --out "$out" --ranks 1,2 --mode both --steps 12 --warmup 2 \
    --batch-size 64 --per-rank-batch 32 --dptrain "$dptrain" --extra "--test-data none" \
    >"$work/sweep.log" 2>&1
rc=$?
cat "$work/sweep.log"
[[ $rc -eq 0 ]] || fail "scaling.sh exited $rc"
for m in strong weak; do
  for n in 1 2; do
    for f in metrics.jsonl config.json stdout.log; do
      [[ -s "$out/$m/ranks$n/$f" ]] || fail "missing $out/$m/ranks$n/$f"
    done
  done
done

"$py" - "$out" <<'EOF' || exit 1
import json, struct, sys, zlib
from pathlib import Path

out = Path(sys.argv[1])
errors = []

md = (out / "scaling.md").read_text(encoding="utf-8")
columns = ["ranks", "global batch", "per-rank batch", "threads/rank", "step ms (median)", "samples/s",
           "speed-up", "efficiency", "compute ms", "comm ms", "exposed comm ms", "exposed share"]
want_batches = {"strong": {1: (64, 64), 2: (64, 32)}, "weak": {1: (32, 32), 2: (64, 32)}}
sections = {"strong": "## Strong scaling", "weak": "## Weak scaling"}
for mode, heading in sections.items():
    if heading not in md:
        errors.append(f"scaling.md: no '{heading}' section")
        continue
    body = md.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [l for l in body.splitlines() if l.startswith("|")]
    if len(rows) != 4:  # header, separator, 2 rank counts
        errors.append(f"scaling.md {mode}: expected a header, a separator and 2 rows, got {len(rows)} lines")
        continue
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    if head != columns:
        errors.append(f"scaling.md {mode}: columns {head}, want {columns}")
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(columns):
            errors.append(f"scaling.md {mode}: row '{line}' has {len(cells)} cells")
            continue
        n = int(cells[0].split()[0])  # "2 †", "1 ‡": marks after the count
        if (int(cells[1]), int(cells[2])) != want_batches[mode][n]:
            errors.append(f"scaling.md {mode} {n} ranks: batches {cells[1]}/{cells[2]}, want {want_batches[mode][n]}")
        if n == 1 and (cells[6] != "1.00" or cells[7] != "100 %"):
            errors.append(f"scaling.md {mode} 1 rank: speed-up {cells[6]}, efficiency {cells[7]}")
if "Machine:" not in md:
    errors.append("scaling.md: no 'Machine:' line")

rep = json.loads((out / "scaling.json").read_text(encoding="utf-8"))
for mode in ("strong", "weak"):
    rows = rep["results"].get(mode, [])
    if [r["ranks"] for r in rows] != [1, 2]:
        errors.append(f"scaling.json {mode}: ranks {[r['ranks'] for r in rows]}, want [1, 2]")
        continue
    for r in rows:
        if r["steps_measured"] != 10:
            errors.append(f"scaling.json {mode} {r['ranks']}: {r['steps_measured']} measured steps, want 10 (12 - 2 warm-up)")
        for key in ("step_ms", "samples_per_s", "speedup", "efficiency", "compute_ms"):
            if not (isinstance(r.get(key), (int, float)) and r[key] > 0):
                errors.append(f"scaling.json {mode} {r['ranks']}: {key} = {r.get(key)!r}, want > 0")
        for key in ("comm_ms", "exposed_comm_ms", "exposed_share"):
            if not (isinstance(r.get(key), (int, float)) and r[key] >= 0):
                errors.append(f"scaling.json {mode} {r['ranks']}: {key} = {r.get(key)!r}, want >= 0")
        if r["threads_per_rank"] != 1:
            errors.append(f"scaling.json {mode} {r['ranks']}: threads_per_rank {r['threads_per_rank']}, want 1")
    if rows[0]["speedup"] != 1 or rows[0]["efficiency"] != 1:
        errors.append(f"scaling.json {mode}: the 1-rank baseline must have speed-up and efficiency 1")
    exp = rows[1]["samples_per_s"] / rows[0]["samples_per_s"] / 2
    if abs(rows[1]["efficiency"] - exp) > 1e-3:
        errors.append(f"scaling.json {mode}: efficiency {rows[1]['efficiency']} != throughput ratio / 2 = {exp:.4f}")

def check_png(path: Path) -> None:
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        errors.append(f"{path.name}: no PNG signature")
        return
    pos, chunks = 8, []
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            errors.append(f"{path.name}: bad CRC in chunk {kind!r}")
            return
        chunks.append(kind)
        if kind == b"IHDR":
            w, h = struct.unpack(">II", body[:8])
            if w < 200 or h < 150:
                errors.append(f"{path.name}: {w}x{h} is too small for a plot")
        pos += 12 + length
    if not chunks or chunks[0] != b"IHDR" or chunks[-1] != b"IEND" or b"IDAT" not in chunks:
        errors.append(f"{path.name}: chunks {chunks[:3]}...{chunks[-1:]} (want IHDR first, IDAT, IEND last)")

for name in ("throughput.png", "efficiency.png"):
    p = out / name
    if not p.is_file():
        errors.append(f"missing {name}")
    else:
        check_png(p)

for e in errors:
    print("FAIL:", e)
if errors:
    sys.exit(1)
print("ok: scaling.md, scaling.json, throughput.png, efficiency.png")
EOF

# ---------------------------------------------------------------- 2. a model prediction
printf '{"strong": {"1": 1.5, "2": 1.0}, "weak": {"1": 1.0}}\n' >"$work/pred.json"
"$py" "$src/launch/report.py" "$out" --model-prediction "$work/pred.json" >"$work/pred.log" 2>&1 ||
  { cat "$work/pred.log"; fail "report.py --model-prediction exited non-zero"; }
grep -q '| predicted step ms | error % |' "$out/scaling.md" || fail "no prediction columns in scaling.md"
grep -qE '^\| 1( [†‡])* \| 64 \| 64 \|.*\| 1\.500 \| [+-][0-9]' "$out/scaling.md" || fail "strong 1-rank row lacks its prediction"
grep -qE '^\| 2( [†‡])* \| 64 \| 32 \|.*\| – \| – \|$' "$out/scaling.md" || fail "weak 2-rank row should show no prediction (–)"
printf '{"strong": {"one": 1.5}}\n' >"$work/bad.json"
"$py" "$src/launch/report.py" "$out" --model-prediction "$work/bad.json" >"$work/bad.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "bad.json" "$work/bad.log" || { cat "$work/bad.log"; fail "a malformed prediction file: exit $rc, want 2 naming the file"; }
echo "ok: --model-prediction"

# ---------------------------------------------------------------- 2b. the performance model
# launch/perf_model.py: its alpha-beta fit recovers known constants from exact ring/tree
# times; end to end on a small dpbench file and this sweep it writes the fit, predictions
# that report.py takes, and model.md; a file that is not dpbench's is refused by name.
"$py" - "$src/launch" <<'EOF' || exit 1
import sys
sys.path.insert(0, sys.argv[1])
import perf_model as pm
alpha, beta = 20e-6, 2e9  # 20 us per hop, 2 GB/s bus bandwidth
points = [(n, float(m), pm.allreduce_time(n, m, alpha, beta)) for n in (2, 4) for m in (2 ** k for k in range(3, 25))]
a, b, err = pm.fit_alpha_beta(points)
if abs(a / alpha - 1) > 0.02 or abs(b / beta - 1) > 0.02 or err > 0.02:
    print(f"FAIL: fit_alpha_beta on exact times: alpha {a:.3g} (want {alpha}), beta {b:.3g} (want {beta}), error {err:.3g}")
    sys.exit(1)
# Ring at 2 ranks: 2 alpha + m/beta; the tree is the faster one for small messages at 4.
if abs(pm.allreduce_time(2, 1e6, alpha, beta) - (2 * alpha + 1e6 / beta)) > 1e-12 or pm.allreduce_time(1, 1e6, alpha, beta) != 0:
    print("FAIL: allreduce_time at 1 and 2 ranks")
    sys.exit(1)
if abs(pm.allreduce_time(4, 8, alpha, beta) - (4 * alpha + 16 / beta)) > 1e-12:
    print("FAIL: allreduce_time at 4 ranks, 8 bytes: want the tree's 2 log2(4) alpha + 2 m / beta")
    sys.exit(1)
print("ok: perf_model's alpha-beta fit recovers known constants")
EOF
dpbench="$(dirname "$dptrain")/dpbench"
if [[ -x $dpbench ]]; then
  over=()
  (($(nproc) < 2)) && over=(--oversubscribe)
  mpiexec -n 2 "${over[@]}" "$dpbench" allreduce --min-bytes 8 --max-bytes 64K --factor 4 --iters 20 --rounds 3 \
      --json "$work/d2.json" >"$work/d2.log" 2>&1 || { cat "$work/d2.log"; fail "dpbench allreduce on 2 ranks failed"; }
  "$py" "$src/launch/perf_model.py" --dpbench "$work/d2.json" --sweep "$out" --out "$work/model" \
      >"$work/model.log" 2>&1 || { cat "$work/model.log"; fail "perf_model.py exited non-zero"; }
  for f in model.json predictions.json model.md; do [[ -s $work/model/$f ]] || fail "perf_model.py wrote no $f"; done
  "$py" - "$work/model/predictions.json" <<'EOF' || exit 1
import json, math, sys
p = json.load(open(sys.argv[1]))
bad = [f"{m} {n}" for m in ("strong", "weak") for n in ("1", "2")
       if not (isinstance(p.get(m, {}).get(n), (int, float)) and math.isfinite(p[m][n]) and p[m][n] > 0)]
if bad:
    print(f"FAIL: predictions.json lacks a positive step time for {', '.join(bad)}: {p}")
    sys.exit(1)
EOF
  "$py" "$src/launch/report.py" "$out" --model-prediction "$work/model/predictions.json" >"$work/pred2.log" 2>&1 ||
    { cat "$work/pred2.log"; fail "report.py did not take perf_model.py's predictions"; }
  grep -qE '^\| 2( [†‡])* \| 64 \| 32 \|.*\| [0-9.]+ \| [+-][0-9.]+ \|$' "$out/scaling.md" ||
    fail "scaling.md: the 2-rank rows lack perf_model.py's prediction"
  "$py" "$src/launch/perf_model.py" --dpbench "$out/sweep.json" --sweep "$out" --out "$work/model2" \
      >"$work/model2.log" 2>&1
  rc=$?
  [[ $rc -ne 0 ]] && grep -q -- "--dpbench .*sweep.json: not a .dpbench allreduce --json. file" "$work/model2.log" ||
    { cat "$work/model2.log"; fail "perf_model.py with a file not from dpbench: exit $rc, want an error naming it"; }
  echo "ok: perf_model.py end to end (fit, predictions into report.py, model.md)"
fi

# report.partial_run on hand-made runs: the done record, --steps and --epochs runs, stops.
"$py" - "$src/launch" "$work/pr" <<'EOF' || exit 1
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import report
base = Path(sys.argv[2])
def run(name, config, records):
    d = base / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(config))
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return report.partial_run(d)
train = lambda s: {"type": "train", "step": s}
ev = lambda e, s: {"type": "eval", "epoch": e, "step": s}
cases = {
    "steps, done": (run("a", {"steps": 4}, [train(1), train(4), {"type": "done", "step": 4}]), None),
    "steps, killed": (run("b", {"steps": 4}, [train(1), train(2)]), "ended after step 2 of 4"),
    "epochs, done": (run("c", {"steps": 0, "epochs": 3}, [train(1), ev(0, 2), train(3), {"type": "done", "step": 6}]), None),
    "epochs, killed": (run("d", {"steps": 0, "epochs": 3}, [train(1), ev(0, 2), train(3), ev(1, 4), train(5)]),
                       "ended in epoch 3 of 3, after step 5"),
    "epochs, old and complete": (run("e", {"steps": 0, "epochs": 2}, [train(1), ev(0, 2), train(3), ev(1, 4)]), None),
    "signal": (run("f", {"steps": 9}, [train(1), {"type": "stop", "step": 1, "signal": "SIGUSR1"}]),
               "stopped by SIGUSR1 after step 1"),
    "stopped, resumed, done": (run("g", {"steps": 3}, [train(1), {"type": "stop", "step": 1, "signal": "SIGTERM"},
                                                      train(2), train(3), {"type": "done", "step": 3}]), None),
}
bad = [f"{k}: got {got!r}, want {want!r}" for k, (got, want) in cases.items()
       if (want is None and got is not None) or (want is not None and (got is None or want not in got))]
for b in bad:
    print("FAIL: report.partial_run", b)
sys.exit(1 if bad else 0)
EOF
echo "ok: report.partial_run tells complete runs from killed and stopped ones"

# ---------------------------------------------------------------- 3. clear failures
"$src/launch/scaling.sh" --out "$work/bad1" --ranks 1,3 --mode strong --batch-size 64 --steps 4 --warmup 1 \
    --dptrain "$dptrain" >"$work/bad1.log" 2>&1
rc=$?
[[ $rc -ne 0 ]] && grep -q "does not divide evenly over 3 ranks" "$work/bad1.log" && [[ ! -d "$work/bad1/strong" ]] ||
  { cat "$work/bad1.log"; fail "an indivisible --batch-size: exit $rc, want an error before any run"; }
# A bad flag or a batch the data set cannot hold: refused by dptrain --dry-run before any run.
"$src/launch/scaling.sh" --out "$work/bad2" --ranks 1 --mode weak --steps 4 --warmup 1 \
    --dptrain "$dptrain" --extra "--lr 0" >"$work/bad2.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "weak scaling: the run with global batch 128 would fail" "$work/bad2.log" &&
  grep -q -- "dptrain: error: --lr must be > 0" "$work/bad2.log" && [[ ! -d "$work/bad2/weak" ]] ||
  { cat "$work/bad2.log"; fail "a bad --extra flag: exit $rc, want 2 before any run, naming dptrain's error"; }
"$src/launch/scaling.sh" --out "$work/bad3" --ranks 1,2 --mode weak --per-rank-batch 40000 --steps 4 --warmup 1 \
    --dptrain "$dptrain" >"$work/bad3.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--batch-size 80000 is larger than the training set" "$work/bad3.log" ||
  { cat "$work/bad3.log"; fail "a weak batch beyond the data set: exit $rc, want 2 before any run"; }
# A run that fails while training: the sweep stops with that run's exit code (3: non-finite).
"$src/launch/scaling.sh" --out "$work/bad4" --ranks 1 --mode weak --steps 4 --warmup 1 \
    --dptrain "$dptrain" --extra "--test-data none --inject-fault nan@2:0" >"$work/bad4.log" 2>&1
rc=$?
[[ $rc -eq 3 ]] && grep -q "weak scaling on 1 rank(s) failed (exit 3)" "$work/bad4.log" &&
  grep -q -- "non-finite" "$work/bad4.log" ||
  { cat "$work/bad4.log"; fail "a failing run: exit $rc, want 3 naming the run and dptrain's error"; }
"$src/launch/scaling.sh" --out "$work/bad5" --ranks 1 --dptrain "$dptrain" --extra "--run-dir elsewhere" \
    >"$work/bad5.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--extra must not set --run-dir" "$work/bad5.log" && [[ ! -d "$work/bad5" ]] ||
  { cat "$work/bad5.log"; fail "--extra with --run-dir: exit $rc, want 2 before anything is created"; }
echo "ok: failures are reported"

# ---------------------------------------------------------------- 4. stopping and reusing --out
# Stopped in the middle of a run: the run is asked once to stop, writes a checkpoint, no
# rank outlives the script, exit 143; the report leaves the partial run out.
long="$work/long"
"$src/launch/scaling.sh" --out "$long" --ranks 1 --mode strong --steps 1000000 --warmup 1 --batch-size 64 \
    --dptrain "$dptrain" --extra "--test-data none" >"$work/long.log" 2>&1 &
sweep_pid=$!
for _ in $(seq 1 300); do
  [[ -s $long/strong/ranks1/metrics.jsonl ]] && [[ $(wc -l <"$long/strong/ranks1/metrics.jsonl") -gt 20 ]] && break
  sleep 0.1
done
# (SIGTERM: a background job of a non-interactive shell ignores SIGINT; the trap is the same.)
kill -TERM "$sweep_pid"
for _ in $(seq 1 600); do kill -0 "$sweep_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$sweep_pid" 2>/dev/null; then
  pkill -KILL -f -- "--run-dir $long/strong/ranks1"; kill -KILL "$sweep_pid"
  fail "scaling.sh still running 60 s after SIGTERM"
fi
wait "$sweep_pid"
rc=$?
[[ $rc -eq 143 ]] && grep -q "partial, not reported: strong/ranks1" "$work/long.log" &&
  ls "$long/strong/ranks1/checkpoints/"ckpt-step*.dpckpt >/dev/null 2>&1 ||
  { cat "$work/long.log"; fail "SIGTERM: exit $rc, want 143, the partial run named and its checkpoint written"; }
! pgrep -f -- "--run-dir $long/strong/ranks1" >/dev/null || fail "a rank outlived scaling.sh after SIGTERM"
"$py" "$src/launch/report.py" "$long" --no-plots >"$work/long-report.log" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "strong/ranks1 is partial (stopped by SIGUSR1" "$work/long-report.log" ||
  { cat "$work/long-report.log"; fail "report.py on a partial run: exit $rc, want 2 naming it partial"; }
# --timeout: the run is stopped the same way (SIGUSR1: a checkpoint) and the sweep ends with 124.
"$src/launch/scaling.sh" --out "$work/to" --ranks 1 --mode strong --steps 1000000 --warmup 1 --batch-size 64 \
    --timeout 3 --dptrain "$dptrain" --extra "--test-data none" >"$work/to.log" 2>&1
rc=$?
[[ $rc -eq 124 ]] && grep -q "stopped by SIGUSR1 after --timeout 3 s" "$work/to.log" &&
  ls "$work/to/strong/ranks1/checkpoints/"ckpt-step*.dpckpt >/dev/null 2>&1 ||
  { cat "$work/to.log"; fail "--timeout: exit $rc, want 124 with the run's checkpoint written"; }
# A second sweep into the first one's directory: only its own runs are reported.
"$src/launch/scaling.sh" --out "$out" --ranks 1 --mode strong --steps 12 --warmup 2 --batch-size 32 \
    --dptrain "$dptrain" --extra "--test-data none" --dry-run >/dev/null 2>&1 || fail "--dry-run failed"
"$src/launch/scaling.sh" --out "$out" --ranks 1 --mode strong --steps 12 --warmup 2 --batch-size 32 \
    --dptrain "$dptrain" --extra "--test-data none" >"$work/reuse.log" 2>&1 || { cat "$work/reuse.log"; fail "reuse exit"; }
# The first sweep was moved whole to OUT/previous-<time>/, where report.py still reports it.
prev=$(ls -d "$out"/previous-* 2>/dev/null | head -n 1)
[[ -n $prev ]] && grep -q "moved the previous sweep in $out to $prev" "$work/reuse.log" ||
  { cat "$work/reuse.log"; fail "a reused --out: the previous sweep was not moved aside"; }
for d in strong/ranks1 strong/ranks2 weak/ranks1 weak/ranks2; do
  [[ -s $prev/$d/metrics.jsonl ]] || fail "a reused --out: $prev/$d/metrics.jsonl is missing"
done
[[ -s $prev/sweep.json && -s $prev/scaling.md && ! -e $out/weak && ! -e $out/strong/ranks2 ]] ||
  fail "a reused --out: want the old sweep.json and report in $prev and only the new runs in $out"
! grep -q "^## Weak" "$out/scaling.md" && grep -q "^## Strong" "$out/scaling.md" ||
  { cat "$out/scaling.md"; fail "a reused --out: the new report must hold only the new sweep"; }
"$py" "$src/launch/report.py" "$prev" --no-plots >"$work/prev.log" 2>&1 && grep -q "^## Weak" "$prev/scaling.md" ||
  { cat "$work/prev.log"; fail "report.py on the moved previous sweep failed"; }
echo "ok: SIGTERM stops the run with a checkpoint; a partial run is left out of the report; a reused --out keeps the previous sweep"
echo "PASS"
