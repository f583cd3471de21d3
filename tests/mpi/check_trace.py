#!/usr/bin/env python3
"""check_trace.py TRACE.json RANKS STEPS [GRADS_READY]: the --trace output is a Chrome trace
with one process per rank, the four named tracks, and for every recorded step a
forward+backward, an Adam and the gradient-bucket all-reduces (with bucket ids and sizes) on
every rank. With GRADS_READY: every forward+backward reports exactly that many finished
prefixes to the reducer (args.grads_ready: one per layer plus one per weight row block)."""
import json
import sys

path, ranks, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want_ready = int(sys.argv[4]) if len(sys.argv) > 4 else None
events = json.load(open(path))["traceEvents"]
problems = []
pids = {e["pid"] for e in events}
if pids != set(range(ranks)):
    problems.append(f"processes {sorted(pids)}, want ranks 0..{ranks - 1}")
for r in range(ranks):
    names = {e["args"]["name"] for e in events if e["pid"] == r and e.get("name") == "thread_name"}
    if names != {"data", "compute", "communication", "optimizer"}:
        problems.append(f"rank {r}: tracks {sorted(names)}")
    spans = [e for e in events if e["pid"] == r and e.get("ph") == "X"]
    for step in range(1, steps + 1):
        of_step = [e for e in spans if e.get("args", {}).get("step") == step]
        kinds = {e["name"] for e in of_step}
        for want in ("gather batch", "forward + backward", "adam", "wait for gradients"):
            if want not in kinds:
                problems.append(f"rank {r} step {step}: no '{want}'")
        if want_ready is not None:
            got = [e["args"].get("grads_ready") for e in of_step if e["name"] == "forward + backward"]
            if got != [want_ready]:
                problems.append(f"rank {r} step {step}: grads_ready {got}, want [{want_ready}]")
        buckets = [e for e in of_step if e["name"].startswith("all_reduce bucket")]
        if len(buckets) < 2 or any(e["args"]["nbytes"] <= 0 or e["tid"] != 3 for e in buckets):
            problems.append(f"rank {r} step {step}: bucket events {len(buckets)}")
        if any(e["dur"] < 0 for e in of_step):
            problems.append(f"rank {r} step {step}: negative duration")
    if any(e.get("args", {}).get("step", 0) > steps for e in spans):
        problems.append(f"rank {r}: events beyond step {steps}")
if problems:
    print("trace check FAILED:\n  " + "\n  ".join(problems[:20]))
    sys.exit(1)
print(f"trace ok: {len(events)} events, {ranks} ranks, {steps} steps")
