#!/usr/bin/env python3
"""check_trace_stats.py [TRACE.json SLOW_STEP SLOW_RANK]: bench/trace_stats.py's split of the
wait for gradients.
  Always: a synthetic trace with a known answer.
  With a trace of a run under --inject-fault slow@SLOW_STEP:SLOW_RANK (that rank sleeps
  0.5 s before its forward pass): at that step the slow rank waits for nobody, every other
  rank waits at least 0.3 s for it (0.5 s less its own compute, a few ms here), and for
  every step and rank the two parts add up to the wait and are never negative."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import trace_stats  # noqa: E402

problems = []


def span(rank: int, step: int, begin_ms: float, end_ms: float) -> dict:
    return {"ph": "X", "name": trace_stats.WAIT_SPAN, "pid": rank, "ts": begin_ms * 1e3,
            "dur": (end_ms - begin_ms) * 1e3, "args": {"step": step}}


# Step 1 (warm-up, left out); step 2: rank 1 arrives 150 ms after rank 0, both done at 300;
# step 3: rank 0 is the slow one; step 4 lacks rank 1 (cut short) and is left out.
synthetic = [span(0, 1, 0, 999), span(1, 1, 0, 999),
             span(0, 2, 100, 300), span(1, 2, 250, 300),
             span(0, 3, 1000, 1020), span(1, 3, 900, 1030),
             span(0, 4, 2000, 2100),
             {"ph": "X", "name": "adam", "pid": 0, "ts": 0, "dur": 5, "args": {"step": 2}}]
res = trace_stats.split_waits(synthetic, warmup=1)
want = {(2, 0): (200, 150, 50), (2, 1): (50, 0, 50), (3, 0): (20, 0, 20), (3, 1): (130, 100, 30)}
got = {(r["step"], r["rank"]): (r["exposed_ms"], r["wait_for_slowest_ms"], r["exposed_after_all_arrived_ms"])
       for r in res["rows"]}
if set(got) != set(want) or any(abs(a - b) > 1e-9 for k in want for a, b in zip(got[k], want[k])):
    problems.append(f"synthetic: got {got}, want {want}")
if res["steps"] != 2 or res["ranks"] != 2 or abs(res["wait_for_slowest_ms"] - 62.5) > 1e-9:
    problems.append(f"synthetic means: {res['steps']} steps, {res['ranks']} ranks, wait {res['wait_for_slowest_ms']}")

if len(sys.argv) == 4:
    path, slow_step, slow_rank = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rows = trace_stats.split_waits(trace_stats.load_events(path))["rows"]
    for r in rows:
        parts = r["wait_for_slowest_ms"] + r["exposed_after_all_arrived_ms"]
        if min(r["wait_for_slowest_ms"], r["exposed_after_all_arrived_ms"]) < 0 or abs(parts - r["exposed_ms"]) > 1e-6:
            problems.append(f"step {r['step']} rank {r['rank']}: parts {parts} vs wait {r['exposed_ms']}")
    at_slow = [r for r in rows if r["step"] == slow_step]
    if not at_slow:
        problems.append(f"no step {slow_step} in {path}")
    for r in at_slow:
        if r["rank"] == slow_rank and r["wait_for_slowest_ms"] != 0:
            problems.append(f"step {slow_step}: the slow rank {slow_rank} waited {r['wait_for_slowest_ms']:.1f} ms "
                            "for another")
        if r["rank"] != slow_rank and r["wait_for_slowest_ms"] < 300:
            problems.append(f"step {slow_step}: rank {r['rank']} waited only {r['wait_for_slowest_ms']:.1f} ms "
                            "for the slow rank")

if problems:
    print("trace_stats check FAILED:\n  " + "\n  ".join(problems[:20]))
    sys.exit(1)
print("trace_stats ok" + (f": step {sys.argv[2]} straggler rank {sys.argv[3]} found" if len(sys.argv) == 4 else ""))
