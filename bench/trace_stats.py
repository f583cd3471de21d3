#!/usr/bin/env python3
"""Splits each rank's wait for the gradients in a dptrain --trace file into waiting for the
slowest rank and communication, so load imbalance is not mistaken for communication.

  python3 bench/trace_stats.py trace.json [--warmup 2] [--json]

For every step and rank, the trace has the span "wait for gradients": it begins when the
rank has finished backward (its ARRIVAL) and ends when its all-reduce is complete. The
all-reduce cannot finish anywhere before the last rank has arrived, so of rank r's wait
  [a_r, e_r]   with A = max over ranks of a_r (the slowest rank's arrival),
  wait for the slowest rank       = min(e_r, A) - a_r
  exposed after all had arrived   = max(0, e_r - A)
The second part is the communication that backward did not hide: with one all-reduce
after backward (--bucket-mb 0) it is the whole all-reduce, with overlap what is left of
it. The ranks' timestamps are aligned by a barrier when tracing starts: up to the skew of
leaving it (microseconds on an idle host, more when ranks share cores) plus, across
hosts, the drift of their clocks; any misalignment moves time between the two parts.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys

WAIT_SPAN = "wait for gradients"


def load_events(path: str) -> list[dict]:
    with open(path) as f:
        return [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]


def split_waits(events: list[dict], warmup: int = 0) -> dict:
    """Per (step, rank) split of the wait for gradients, steps after `warmup` only, times in
    ms. Returns the per-step rows and means over every (step, rank)."""
    waits: dict[int, dict[int, tuple[float, float]]] = {}
    for e in events:
        step = e.get("args", {}).get("step", 0)
        if e["name"] == WAIT_SPAN and step > warmup:
            waits.setdefault(step, {})[e["pid"]] = (e["ts"] / 1e3, (e["ts"] + e["dur"]) / 1e3)
    ranks = sorted({r for per_rank in waits.values() for r in per_rank})
    rows = []
    for step in sorted(waits):
        per_rank = waits[step]
        if sorted(per_rank) != ranks:
            continue  # a step some rank did not record (the trace's last, cut short)
        slowest = max(a for a, _ in per_rank.values())
        for rank, (a, e) in sorted(per_rank.items()):
            rows.append({"step": step, "rank": rank, "exposed_ms": e - a,
                         "wait_for_slowest_ms": min(e, slowest) - a,
                         "exposed_after_all_arrived_ms": max(0.0, e - slowest)})
    mean = lambda key: statistics.fmean(r[key] for r in rows) if rows else None  # noqa: E731
    return {"steps": len({r["step"] for r in rows}), "ranks": len(ranks), "rows": rows,
            "exposed_ms": mean("exposed_ms"), "wait_for_slowest_ms": mean("wait_for_slowest_ms"),
            "exposed_after_all_arrived_ms": mean("exposed_after_all_arrived_ms")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trace", help="a dptrain --trace file")
    p.add_argument("--warmup", type=int, default=0, help="leave out steps 1..WARMUP")
    p.add_argument("--json", action="store_true", help="print the result as JSON (with every step and rank)")
    args = p.parse_args(argv)
    try:
        res = split_waits(load_events(args.trace), args.warmup)
    except (OSError, ValueError, KeyError) as err:
        print(f"trace_stats.py: cannot read {args.trace}: {err}", file=sys.stderr)
        return 2
    if not res["rows"]:
        print(f"trace_stats.py: {args.trace} has no '{WAIT_SPAN}' spans after step {args.warmup}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print("| step | rank | wait for gradients ms | of which waiting for the slowest rank | exposed after all arrived |")
    print("|---:|---:|---:|---:|---:|")
    for r in res["rows"]:
        print(f"| {r['step']} | {r['rank']} | {r['exposed_ms']:.3f} | {r['wait_for_slowest_ms']:.3f} | "
              f"{r['exposed_after_all_arrived_ms']:.3f} |")
    print(f"mean over {res['steps']} steps x {res['ranks']} ranks: wait {res['exposed_ms']:.3f} ms = "
          f"{res['wait_for_slowest_ms']:.3f} ms for the slowest rank + "
          f"{res['exposed_after_all_arrived_ms']:.3f} ms exposed communication")
    return 0


if __name__ == "__main__":
    sys.exit(main())
