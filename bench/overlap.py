#!/usr/bin/env python3
"""Overlap of the gradient all-reduce with backward (JSON on stdout, Markdown on stderr).

For each rank count and each --bucket-mb value, trains the large MLP preset
(--model mlp-large: 784-4096-4096-4096-10, ~37M parameters, 147 MB of gradients) for a
few steps and reports, from metrics.jsonl, the median step time, compute time, the total
all-reduce time (comm_ms: the communication thread's busy time) and the EXPOSED
communication time (exposed_comm_ms: how long the main thread waited for it after
backward). hidden = 1 - exposed / total is the fraction of the all-reduce hidden behind
compute. --bucket-mb 0 is the baseline: one all-reduce after backward, nothing hidden.

Ranks that share cores also wait for each other: the exposed time then includes waiting
for the slowest rank to finish backward, which is load imbalance, not communication.
From each run's --trace (bench/trace_stats.py), every rank's wait is split into that and
the communication still exposed after all ranks had arrived (means over ranks and
steps); "hidden after all arrived" = 1 - that / the same quantity at --bucket-mb 0 (the
whole all-reduce), for the rows of a rank count that has a --bucket-mb 0 row.

  python3 bench/overlap.py --ranks 2,4 --buckets 0,1,5,25 --steps 12 --warmup 2
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402
import trace_stats  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ranks", default="2,4", help="comma-separated MPI rank counts")
    p.add_argument("--buckets", default="0,1,5,25", help="comma-separated --bucket-mb values (0 = no overlap)")
    p.add_argument("--steps", type=int, default=12, help="training steps per run")
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of the statistics")
    p.add_argument("--batch-size", type=int, default=128, help="global batch")
    p.add_argument("--model", default="mlp-large", help="dptrain --model")
    p.add_argument("--hidden", default=None, help="dptrain --hidden (default: the model's)")
    p.add_argument("--dptrain", default="build/dptrain", help="dptrain binary (relative to the repo root)")
    p.add_argument("--bind", default="default", help="mpirun --bind-to policy, or 'default'")
    p.add_argument("--trace", metavar="DIR", default=None,
                   help="keep each run's --trace timeline in DIR (trace-RANKSxBUCKET.json)")
    args = p.parse_args(argv)
    args.rank_list = [int(x) for x in args.ranks.split(",") if x]
    args.bucket_list = [float(x) for x in args.buckets.split(",") if x]
    if args.warmup >= args.steps:
        p.error("--warmup must be smaller than --steps")
    return args


def summarize(run: dict, warmup: int) -> dict:
    measured = [r for r in run["train"] if r["step"] > warmup]
    med = lambda key: bl.rounded(bl.median([r[key] for r in measured]))  # noqa: E731
    busy = sum(r["comm_ms"] for r in measured)
    exposed = sum(r["exposed_comm_ms"] for r in measured)
    return {
        "steps_measured": len(measured),
        "step_ms": med("step_ms"),
        "compute_ms": med("compute_ms"),
        "comm_ms": med("comm_ms"),
        "exposed_comm_ms": med("exposed_comm_ms"),
        "optim_ms": med("optim_ms"),
        "hidden_fraction": bl.rounded(1.0 - exposed / busy if busy > 0 else 0.0, 3),
        "exposed_fraction_of_step": bl.rounded(exposed / sum(r["step_ms"] for r in measured), 3),
        "final_loss": bl.rounded(run["train"][-1]["loss"], 6),
        "cmd": " ".join(run["cmd"]),
    }


def add_hidden_after_all_arrived(results: list[dict]) -> None:
    """hidden_after_all_arrived = 1 - exposed after all arrived / that of the same rank
    count's --bucket-mb 0 row (None without such a row)."""
    baseline = {r["ranks"]: r["exposed_after_all_arrived_ms"] for r in results if r["bucket_mb"] == 0}
    for r in results:
        base = baseline.get(r["ranks"])
        r["hidden_after_all_arrived"] = (bl.rounded(1.0 - r["exposed_after_all_arrived_ms"] / base, 3)
                                         if base else None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dptrain = bl.resolve_dptrain(args.dptrain)
    results = []
    with tempfile.TemporaryDirectory(prefix="dptrain-overlap-") as tmp:
        for ranks in args.rank_list:
            for bucket in args.bucket_list:
                run_dir = Path(tmp) / f"r{ranks}-b{bucket}"
                dargs = ["--model", args.model, "--data", "fashion-mnist", "--test-data", "none",
                         "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                         "--bucket-mb", str(bucket), "--progress", "none", "--check-every", "0"]
                if args.hidden:
                    dargs += ["--hidden", args.hidden]
                trace_dir = Path(args.trace).resolve() if args.trace else Path(tmp)
                trace_dir.mkdir(parents=True, exist_ok=True)
                trace_file = trace_dir / f"trace-{ranks}x{bucket:g}.json"
                dargs += ["--trace", str(trace_file), "--trace-steps", str(args.steps)]
                run = bl.run_dptrain(dptrain, ranks, dargs, run_dir, bind=args.bind)
                split = trace_stats.split_waits(trace_stats.load_events(str(trace_file)), args.warmup)
                res = {"ranks": ranks, "bucket_mb": bucket, "threads_per_rank": run["config"].get("threads_per_rank"),
                       **summarize(run, args.warmup),
                       "wait_for_slowest_ms": bl.rounded(split["wait_for_slowest_ms"]),
                       "exposed_after_all_arrived_ms": bl.rounded(split["exposed_after_all_arrived_ms"])}
                results.append(res)
                bl.log(f"[overlap] {ranks} ranks, bucket {bucket:g} MB: step {res['step_ms']} ms, all-reduce "
                       f"{res['comm_ms']} ms, exposed {res['exposed_comm_ms']} ms, hidden {res['hidden_fraction']:.0%}; "
                       f"all ranks: {res['wait_for_slowest_ms']} ms waiting for the slowest, "
                       f"{res['exposed_after_all_arrived_ms']} ms exposed after all arrived")
    add_hidden_after_all_arrived(results)
    report = {"benchmark": "overlap", "machine": bl.machine_info(), "dptrain": bl.git_info(),
              "config": {k: v for k, v in vars(args).items() if k not in ("rank_list", "bucket_list")},
              "results": results}
    print(json.dumps(report, indent=1))
    bl.log("\n| ranks | bucket MB | step ms | compute ms | all-reduce ms | exposed ms | hidden | "
           "waiting for slowest ms | exposed after all arrived ms | hidden after all arrived |")
    bl.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        after = r["hidden_after_all_arrived"]
        bl.log(f"| {r['ranks']} | {r['bucket_mb']:g} | {r['step_ms']} | {r['compute_ms']} | {r['comm_ms']} | "
               f"{r['exposed_comm_ms']} | {r['hidden_fraction']:.0%} | {r['wait_for_slowest_ms']} | "
               f"{r['exposed_after_all_arrived_ms']} | {'-' if after is None else f'{after:.0%}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
