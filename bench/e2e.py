#!/usr/bin/env python3
"""End-to-end throughput of dptrain on 1, 2, 4, ... MPI ranks (JSON on stdout).

For each rank count N in --ranks this runs

    mpirun -n N [flags from launch/mpi-env.sh] [--bind-to B] DPTRAIN --data fashion-mnist
        --steps S --batch-size B --hidden H --test-data none --progress none
        --check-every 0 --run-dir TMP

reads TMP/metrics.jsonl (one "train" record per step, written by rank 0), drops the first
--warmup steps and reports the step time, its data/compute/comm/optim split, samples/s,
and the speed-up and parallel efficiency relative to the 1-rank run. The global batch is
fixed, so N ranks do the same mathematics as 1 rank; each rank processes batch/N rows.

Standard library only. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

PHASES = ("data", "compute", "comm", "optim")
# The step is the sum of data, compute, EXPOSED communication and optimizer time; the
# total (possibly overlapped) all-reduce time is reported separately as comm_busy.
PHASE_KEYS = {"data": "data_ms", "compute": "compute_ms", "comm": "exposed_comm_ms", "optim": "optim_ms"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="End-to-end dptrain throughput on several rank counts; prints one JSON object "
                    "on stdout (progress on stderr).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ranks", default="1,2,4", help="comma-separated MPI rank counts")
    p.add_argument("--steps", type=int, default=300, help="training steps per run")
    p.add_argument("--warmup", type=int, default=50, help="first steps of each run left out of the statistics")
    p.add_argument("--batch-size", type=int, default=128, help="GLOBAL batch (passed to dptrain)")
    p.add_argument("--hidden", default="256,128", help="hidden widths (passed to dptrain --hidden)")
    p.add_argument("--threads", type=int, default=0,
                   help="BLAS threads per rank (dptrain --threads; 0 = dptrain's default, the rank's "
                        "share of the cores it may run on)")
    p.add_argument("--bind", default="default",
                   help="mpirun --bind-to policy (none, core, socket, ...); 'default' passes nothing "
                        "and keeps mpirun's policy (Open MPI: core for <= 2 ranks)")
    p.add_argument("--mpirun-args", default="", help="extra mpirun arguments (split on spaces)")
    p.add_argument("--repeats", type=int, default=1,
                   help="runs per rank count; the measured steps of all repeats are pooled")
    p.add_argument("--dptrain", default="build/dptrain", help="dptrain binary (relative to the repo root)")
    p.add_argument("--data", default="fashion-mnist", help="dptrain --data")
    p.add_argument("--seed", type=int, default=42, help="dptrain --seed")
    p.add_argument("--keep-runs", metavar="DIR", default=None,
                   help="keep every run directory under DIR (default: temporary, deleted)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per dptrain run")
    args = p.parse_args(argv)
    try:
        args.rank_list = [int(x) for x in args.ranks.split(",") if x.strip()]
    except ValueError:
        p.error(f"--ranks: expected comma-separated integers, got {args.ranks!r}")
    if not args.rank_list or min(args.rank_list) < 1:
        p.error("--ranks: rank counts must be >= 1")
    for n in args.rank_list:
        if args.batch_size % n:
            p.error(f"--batch-size {args.batch_size} is not divisible by {n} ranks")
    if args.steps < 1 or args.warmup < 0 or args.warmup >= args.steps:
        p.error("need --steps >= 1 and 0 <= --warmup < --steps")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def summarize(ranks: int, runs: list[dict], warmup: int, batch_size: int) -> dict:
    measured = [r for run in runs for r in run["train"] if r["step"] > warmup]
    step_ms = [r["step_ms"] for r in measured]
    phase_ms = {ph: [r.get(PHASE_KEYS[ph], r.get(f"{ph}_ms")) for r in measured] for ph in PHASES}
    comm_busy_ms = [r["comm_ms"] for r in measured]
    total_ms = sum(step_ms)
    total_samples = sum(r["samples"] for r in measured)
    med_step = bl.median(step_ms)
    threads = sorted({run["config"].get("threads_per_rank") for run in runs})
    return {
        "ranks": ranks,
        "threads_per_rank": threads[0] if len(threads) == 1 else threads,
        "global_batch": batch_size,
        "local_batch": batch_size // ranks,
        "steps_measured": len(measured),
        "step_ms": {
            "median": bl.rounded(med_step),
            "mean": bl.rounded(bl.mean(step_ms)),
            "p10": bl.rounded(bl.percentile(step_ms, 10)),
            "p90": bl.rounded(bl.percentile(step_ms, 90)),
            "min": bl.rounded(min(step_ms)),
            "max": bl.rounded(max(step_ms)),
        },
        "phase_ms_median": {ph: bl.rounded(bl.median(v)) for ph, v in phase_ms.items()},
        "comm_busy_ms_median": bl.rounded(bl.median(comm_busy_ms)),
        "phase_ms_mean": {ph: bl.rounded(bl.mean(v)) for ph, v in phase_ms.items()},
        # Share of the measured time: sum(phase) / sum(step); the four add up to 1.
        "phase_fraction": {ph: bl.rounded(sum(v) / total_ms) for ph, v in phase_ms.items()},
        "samples_per_s_median_step": bl.rounded(batch_size / (med_step / 1e3), 1),
        "samples_per_s_total": bl.rounded(total_samples / (total_ms / 1e3), 1),
        "repeat_median_step_ms": [bl.rounded(bl.median([r["step_ms"] for r in run["train"] if r["step"] > warmup]))
                                  for run in runs],
        "final_loss": bl.rounded(runs[-1]["train"][-1]["loss"], 6),
        "wall_s": [bl.rounded(run["wall_s"], 3) for run in runs],
        "cmd": " ".join(runs[0]["cmd"]),
    }


def add_scaling(results: list[dict]) -> dict:
    base = min(results, key=lambda r: r["ranks"])
    for r in results:
        speedup = base["step_ms"]["median"] / r["step_ms"]["median"]
        r["speedup"] = bl.rounded(speedup, 3)
        r["efficiency"] = bl.rounded(speedup / (r["ranks"] / base["ranks"]), 3)
        r["speedup_total"] = bl.rounded(r["samples_per_s_total"] / base["samples_per_s_total"], 3)
    return {"baseline_ranks": base["ranks"]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dptrain = bl.resolve_dptrain(args.dptrain)
    machine = bl.machine_info()
    keep = Path(args.keep_runs).resolve() if args.keep_runs else None
    scratch = Path(tempfile.mkdtemp(prefix="dptrain-e2e-"))
    dp_args = ["--data", args.data, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
               "--hidden", args.hidden, "--threads", str(args.threads), "--seed", str(args.seed),
               "--test-data", "none", "--progress", "none", "--check-every", "0"]
    extra = args.mpirun_args.split()
    results = []
    try:
        for n in args.rank_list:
            runs = []
            for rep in range(args.repeats):
                run_dir = (keep or scratch) / f"ranks{n}-rep{rep}"
                bl.log(f"[e2e] {n} rank(s), repeat {rep + 1}/{args.repeats}")
                run = bl.run_dptrain(dptrain, n, dp_args, run_dir, bind=args.bind, extra_mpirun=extra,
                                     timeout_s=args.timeout)
                if len(run["train"]) != args.steps:
                    raise SystemExit(f"error: {run_dir}/metrics.jsonl has {len(run['train'])} train records, "
                                     f"expected {args.steps}")
                runs.append(run)
            res = summarize(n, runs, args.warmup, args.batch_size)
            if keep:
                res["run_dirs"] = [str((keep / f"ranks{n}-rep{i}")) for i in range(args.repeats)]
            results.append(res)
            bl.log(f"[e2e] {n} rank(s) x {res['threads_per_rank']} thread(s): median step "
                   f"{res['step_ms']['median']:.3f} ms, {res['samples_per_s_median_step']:.0f} samples/s, "
                   "split " + ", ".join(f"{ph} {res['phase_fraction'][ph]:.0%}" for ph in PHASES))
    finally:
        bl.remove_tree(scratch)
    scaling = add_scaling(results)
    machine["loadavg_at_end"] = bl.loadavg()
    report = {
        "benchmark": "e2e",
        "machine": machine,
        "dptrain": {"binary": str(dptrain), **bl.git_info()},
        "config": {
            "ranks": args.rank_list, "steps": args.steps, "warmup": args.warmup,
            "batch_size": args.batch_size, "hidden": args.hidden, "threads": args.threads,
            "bind": args.bind, "mpirun_args": extra, "repeats": args.repeats, "data": args.data,
            "seed": args.seed, "dptrain_args": dp_args, **scaling,
        },
        "results": results,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    bl.log("")
    bl.log("| ranks | threads/rank | median step ms | samples/s | speed-up | efficiency | data | compute | comm | optim |")
    bl.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        f = r["phase_fraction"]
        bl.log(f"| {r['ranks']} | {r['threads_per_rank']} | {r['step_ms']['median']:.3f} | "
               f"{r['samples_per_s_median_step']:.0f} | {r['speedup']:.2f} | {r['efficiency']:.2f} | "
               f"{f['data']:.0%} | {f['compute']:.0%} | {f['comm']:.0%} | {f['optim']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
