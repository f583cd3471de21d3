#!/usr/bin/env python3
"""overlap_tiny_check.py DPTRAIN SOURCE_DIR: bench/overlap.py end to end on a small MLP
(2 ranks, --bucket-mb 0 and 0.05, 2 repeats, 5 steps). Checks the JSON: one result per
(repeat, bucket), the trace split present and consistent (both parts >= 0, the baseline
hides nothing), the pooled rows, and that bucketing changed nothing: at 2 ranks every
sum is a + b in either order, so the final loss is the same to the last digit."""
import json
import subprocess
import sys

dptrain, src = sys.argv[1], sys.argv[2]
cmd = [sys.executable, f"{src}/bench/overlap.py", "--ranks", "2", "--buckets", "0,0.05", "--steps", "5",
       "--warmup", "1", "--repeats", "2", "--model", "mlp", "--hidden", "256,128", "--dptrain", dptrain]
proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
if proc.returncode != 0:
    print(f"FAIL: overlap.py exited {proc.returncode}\n{proc.stderr[-3000:]}")
    sys.exit(1)
report = json.loads(proc.stdout)
problems = []
results, pooled = report["results"], report["pooled"]
if sorted((r["repeat"], r["bucket_mb"]) for r in results) != [(0, 0.0), (0, 0.05), (1, 0.0), (1, 0.05)]:
    problems.append(f"results: {[(r['repeat'], r['bucket_mb']) for r in results]}")
for r in results:
    if r["steps_measured"] != 4:
        problems.append(f"repeat {r['repeat']} bucket {r['bucket_mb']}: {r['steps_measured']} measured steps")
    if r["wait_for_slowest_ms"] is None or r["wait_for_slowest_ms"] < 0 or r["exposed_after_all_arrived_ms"] < 0:
        problems.append(f"repeat {r['repeat']} bucket {r['bucket_mb']}: trace split {r['wait_for_slowest_ms']}, "
                        f"{r['exposed_after_all_arrived_ms']}")
    if r["bucket_mb"] == 0 and r["hidden_after_all_arrived"] != 0:
        problems.append(f"repeat {r['repeat']}: the baseline hides {r['hidden_after_all_arrived']}")
if len({r["final_loss"] for r in results}) != 1:
    problems.append(f"final losses differ: {[r['final_loss'] for r in results]}")
if [(p["bucket_mb"], p["repeats"]) for p in pooled] != [(0.0, 2), (0.05, 2)] or pooled[0][
        "pooled_hidden_after_all_arrived"] != 0 or pooled[1]["pooled_hidden_after_all_arrived"] is None:
    problems.append(f"pooled rows: {pooled}")
if "| ranks | bucket MB |" not in proc.stderr:
    problems.append("no Markdown table on stderr")
if problems:
    print("FAIL:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"overlap.py ok: {len(results)} runs, final loss {results[0]['final_loss']}")
