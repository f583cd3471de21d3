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

  python3 bench/overlap.py --ranks 2,4 --buckets 0,1,5,25 --steps 12 --warmup 2 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import shlex
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
    p.add_argument("--extra", default="", help="more dptrain flags, one string (e.g. \"--device cuda --comm mpi\")")
    p.add_argument("--dptrain", default="build/dptrain", help="dptrain binary (relative to the repo root)")
    p.add_argument("--bind", default="default", help="mpirun --bind-to policy, or 'default'")
    p.add_argument("--repeats", type=int, default=1,
                   help="run the whole sweep this many times (one after the other) and pool the results")
    p.add_argument("--trace", metavar="DIR", default=None,
                   help="keep each run's --trace timeline in DIR (trace-RANKSxBUCKET[-REPEAT].json)")
    args = p.parse_args(argv)
    args.rank_list = [int(x) for x in args.ranks.split(",") if x]
    args.bucket_list = [float(x) for x in args.buckets.split(",") if x]
    if args.warmup >= args.steps:
        p.error("--warmup must be smaller than --steps")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def summarize(run: dict, warmup: int) -> dict:
    measured = [r for r in run["train"] if r["step"] > warmup]
    med = lambda key: bl.rounded(bl.median([r[key] for r in measured]))  # noqa: E731
    busy = sum(r["comm_ms"] for r in measured)
    exposed = sum(r["exposed_comm_ms"] for r in measured)
    # On a GPU the metrics' phases are host times (enqueue, and the wait for the gradients,
    # which includes backward still running on the device): no hidden fraction from them.
    on_gpu = run["config"].get("backend") == "cuda"
    hidden = None if on_gpu else bl.rounded(1.0 - exposed / busy if busy > 0 else 0.0, 3)
    return {
        "steps_measured": len(measured),
        "step_ms": med("step_ms"),
        "compute_ms": med("compute_ms"),
        "comm_ms": med("comm_ms"),
        "exposed_comm_ms": med("exposed_comm_ms"),
        "optim_ms": med("optim_ms"),
        "hidden_fraction": hidden,
        "backend": run["config"].get("backend"),
        "exposed_fraction_of_step": bl.rounded(exposed / sum(r["step_ms"] for r in measured), 3),
        "final_loss": bl.rounded(run["train"][-1]["loss"], 6),
        "cmd": " ".join(run["cmd"]),
    }


def add_hidden_after_all_arrived(results: list[dict]) -> None:
    """hidden_after_all_arrived = 1 - exposed after all arrived / that of the same repeat's
    and rank count's --bucket-mb 0 run (None without such a run)."""
    baseline = {(r["repeat"], r["ranks"]): r["exposed_after_all_arrived_ms"] for r in results if r["bucket_mb"] == 0}
    for r in results:
        base = baseline.get((r["repeat"], r["ranks"]))
        # The trace's times are host times too: on a GPU they do not measure the overlap.
        r["hidden_after_all_arrived"] = (bl.rounded(1.0 - r["exposed_after_all_arrived_ms"] / base, 3)
                                         if base and r.get("backend") != "cuda" else None)


def pool(results: list[dict]) -> list[dict]:
    """One row per (ranks, bucket) over the repeats: each repeat's values side by side, and
    the hidden fraction after all arrived from the MEANS over repeats (this machine's runs
    differ by up to 5x, so one run alone says little)."""
    keys = sorted({(r["ranks"], r["bucket_mb"]) for r in results})
    mean_after = {k: bl.mean([r["exposed_after_all_arrived_ms"] for r in results
                              if (r["ranks"], r["bucket_mb"]) == k]) for k in keys}
    rows = []
    for ranks, bucket in keys:
        runs = [r for r in results if (r["ranks"], r["bucket_mb"]) == (ranks, bucket)]
        base = mean_after.get((ranks, 0.0))
        row = {"ranks": ranks, "bucket_mb": bucket, "repeats": len(runs)}
        for key in ("step_ms", "hidden_fraction", "wait_for_slowest_ms", "exposed_after_all_arrived_ms"):
            row[key] = [r[key] for r in runs]
        row["mean_exposed_after_all_arrived_ms"] = bl.rounded(mean_after[(ranks, bucket)])
        on_gpu = any(r.get("backend") == "cuda" for r in runs)
        row["pooled_hidden_after_all_arrived"] = (bl.rounded(1.0 - mean_after[(ranks, bucket)] / base, 3)
                                                  if base and not on_gpu else None)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dptrain = bl.resolve_dptrain(args.dptrain)
    results = []
    with tempfile.TemporaryDirectory(prefix="dptrain-overlap-") as tmp:
        # Whole sweeps one after the other, so slow phases of the machine hit every row.
        for repeat in range(args.repeats):
            for ranks in args.rank_list:
                for bucket in args.bucket_list:
                    results.append(run_one(args, dptrain, Path(tmp), repeat, ranks, bucket))
    add_hidden_after_all_arrived(results)
    pooled = pool(results)
    report = {"benchmark": "overlap", "machine": bl.machine_info(), "dptrain": bl.git_info(),
              "config": {k: v for k, v in vars(args).items() if k not in ("rank_list", "bucket_list")},
              "results": results, "pooled": pooled}
    print(json.dumps(report, indent=1))
    fmt = lambda xs, pct=False: " / ".join("n/a" if x is None else f"{x:.0%}" if pct else f"{x:.4g}"  # noqa: E731
                                           for x in xs)
    bl.log("\nPer repeat (A / B / ...); busy: rank 0's metrics; after all arrived: bench/trace_stats.py, "
           "mean over ranks and steps.")
    bl.log("\n| ranks | bucket MB | step ms | busy: hidden | waiting for the slowest ms | "
           "exposed after all arrived ms | after all arrived: hidden, pooled |")
    bl.log("|---:|---:|---|---|---|---|---:|")
    for r in pooled:
        after = r["pooled_hidden_after_all_arrived"]
        bl.log(f"| {r['ranks']} | {r['bucket_mb']:g} | {fmt(r['step_ms'])} | {fmt(r['hidden_fraction'], True)} | "
               f"{fmt(r['wait_for_slowest_ms'])} | {fmt(r['exposed_after_all_arrived_ms'])} | "
               f"{'-' if after is None else f'{after:.0%}'} |")
    return 0


def run_one(args: argparse.Namespace, dptrain: Path, tmp: Path, repeat: int, ranks: int, bucket: float) -> dict:
    tag = f"{ranks}x{bucket:g}" + (f"-{repeat + 1}" if args.repeats > 1 else "")
    dargs = ["--model", args.model, "--data", "fashion-mnist", "--test-data", "none",
             "--steps", str(args.steps), "--batch-size", str(args.batch_size),
             "--bucket-mb", str(bucket), "--progress", "none", "--check-every", "0"]
    if args.hidden:
        dargs += ["--hidden", args.hidden]
    dargs += shlex.split(args.extra)
    trace_dir = Path(args.trace).resolve() if args.trace else tmp
    trace_dir.mkdir(parents=True, exist_ok=True)
    trace_file = trace_dir / f"trace-{tag}.json"
    dargs += ["--trace", str(trace_file), "--trace-steps", str(args.steps)]
    run = bl.run_dptrain(dptrain, ranks, dargs, tmp / f"run-{tag}", bind=args.bind)
    split = trace_stats.split_waits(trace_stats.load_events(str(trace_file)), args.warmup)
    if not split["rows"]:
        raise SystemExit(f"error: {trace_file} has no step after --warmup {args.warmup} that every rank recorded")
    res = {"repeat": repeat, "ranks": ranks, "bucket_mb": bucket,
           "threads_per_rank": run["config"].get("threads_per_rank"), **summarize(run, args.warmup),
           "wait_for_slowest_ms": bl.rounded(split["wait_for_slowest_ms"]),
           "exposed_after_all_arrived_ms": bl.rounded(split["exposed_after_all_arrived_ms"])}
    hidden = "n/a (GPU: host timings)" if res["hidden_fraction"] is None else f"{res['hidden_fraction']:.0%}"
    bl.log(f"[overlap] {tag}: step {res['step_ms']} ms, all-reduce {res['comm_ms']} ms, exposed "
           f"{res['exposed_comm_ms']} ms, hidden {hidden}; all ranks: "
           f"{res['wait_for_slowest_ms']} ms waiting for the slowest, {res['exposed_after_all_arrived_ms']} ms "
           "exposed after all arrived")
    return res


if __name__ == "__main__":
    sys.exit(main())
