#!/usr/bin/env python3
"""dptrain vs the same training in PyTorch, on the same cores (JSON on stdout, Markdown
table on stderr).

Each configuration "RxT" runs dptrain on R MPI ranks with T BLAS threads per rank and
bench/pytorch_mlp.py with R*T threads, with the same model (784-256-128-10), data
(Fashion-MNIST, pixels in [0, 1]), global batch (128, last partial batch kept), optimizer
(AdamW, lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay), per-step cosine schedule to
0, seed and number of epochs. Default configurations: "1xT" (T = the cores this process may
use) and "2x1" (2 ranks x 1 thread vs PyTorch with 2 threads).

Epoch time:
  dptrain  - the "epoch_s" of the "eval" records in metrics.jsonl: the wall time of the
             epoch's training loop on rank 0 (set_epoch's shuffle, every step's gather,
             forward/backward, all-reduce, Adam, metrics.jsonl line, and, on the last step,
             the replica check). The evaluation on the test split runs after the stopwatch
             is read, so it is NOT included.
  PyTorch  - time.perf_counter() around the epoch's training loop (randperm, gather,
             forward, backward, AdamW, scheduler, loss.item()); evaluation not included.
The ratio is mean dptrain epoch time / mean PyTorch epoch time; the project's target is
<= 0.8 (dptrain at least 20% faster).

Binding: T == 1 keeps mpirun's default binding (one core per rank when ranks <= cores);
T > 1 passes --bind-to none, because Open MPI's default binds a lone rank to ONE core and
its T BLAS threads would share it. PyTorch runs unbound. Override with --bind.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

TARGET_RATIO = 0.8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = bl.allowed_cores()
    p = argparse.ArgumentParser(
        description="Compare dptrain with the same MLP training in PyTorch on the same thread budget; "
                    "prints one JSON object on stdout and a Markdown table on stderr.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=15, help="epochs of both trainers (2 for a quick run)")
    p.add_argument("--threads", type=int, default=cores,
                   help="T of the default configurations 1xT (dptrain 1 rank x T threads vs PyTorch T threads)")
    p.add_argument("--configs", default=None,
                   help="comma-separated RANKSxTHREADS configurations (default: '1xT,2x1')")
    p.add_argument("--batch-size", type=int, default=128, help="global batch of both")
    p.add_argument("--seed", type=int, default=42, help="seed of both")
    p.add_argument("--bind", default="auto",
                   help="mpirun --bind-to for dptrain: auto (none when T > 1, else mpirun's default), "
                        "default (pass nothing), or a policy such as none/core/socket")
    p.add_argument("--check-every", type=int, default=0,
                   help="dptrain --check-every (0: replica check only at the end; PyTorch has none)")
    p.add_argument("--pytorch-also-threads", default="1",
                   help="extra PyTorch thread counts to run (comma-separated, '' for none); the fastest "
                        "PyTorch run with at most the configuration's total threads is reported as "
                        "pytorch_best, because PyTorch 1.13 with more threads can be SLOWER (two spinning "
                        "thread pools: OpenMP and OpenBLAS)")
    p.add_argument("--pytorch-hugepages", choices=("default", "on", "off"), default="default",
                   help="pytorch_mlp.py --hugepages: numpy's huge-page advice for the data set arrays")
    p.add_argument("--dptrain", default="build/dptrain", help="dptrain binary (relative to the repo root)")
    p.add_argument("--python", default=None,
                   help="interpreter for pytorch_mlp.py (default: $PYTHON, python3, then /usr/bin/python3; "
                        "the first that imports torch)")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST IDX directory")
    p.add_argument("--keep-runs", metavar="DIR", default=None,
                   help="keep dptrain run directories and PyTorch JSON under DIR (default: temporary)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per run")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.threads < 1:
        p.error("--epochs and --threads must be >= 1")
    spec = args.configs or f"1x{args.threads},2x1"
    args.config_list = []
    for item in spec.split(","):
        item = item.strip().lower()
        if not item:
            continue
        try:
            r, t = (int(v) for v in item.split("x"))
        except ValueError:
            p.error(f"--configs: expected RANKSxTHREADS items like 1x2, got {item!r}")
        if r < 1 or t < 1:
            p.error(f"--configs: {item}: ranks and threads must be >= 1")
        if args.batch_size % r:
            p.error(f"--configs: {item}: --batch-size {args.batch_size} is not divisible by {r} ranks")
        args.config_list.append((r, t))
    if not args.config_list:
        p.error("--configs: no configuration given")
    try:
        args.also_threads = sorted({int(t) for t in args.pytorch_also_threads.split(",") if t.strip()})
    except ValueError:
        p.error(f"--pytorch-also-threads: expected comma-separated integers, got {args.pytorch_also_threads!r}")
    if any(t < 1 for t in args.also_threads):
        p.error("--pytorch-also-threads: thread counts must be >= 1")
    return args


def dptrain_args(args: argparse.Namespace, threads: int) -> list[str]:
    # Every hyperparameter spelled out, so a change of dptrain's defaults cannot skew the comparison.
    return ["--data", "fashion-mnist", "--data-dir", args.data_dir, "--model", "mlp", "--hidden", "256,128",
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr", "0.001",
            "--lr-schedule", "cosine", "--min-lr", "0", "--warmup-steps", "0", "--optimizer", "adamw",
            "--weight-decay", "0", "--beta1", "0.9", "--beta2", "0.999", "--eps", "1e-8",
            "--seed", str(args.seed), "--threads", str(threads), "--progress", "none",
            "--check-every", str(args.check_every)]


def run_pytorch(args: argparse.Namespace, python: str, threads: int, out_dir: Path) -> dict:
    script = Path(__file__).resolve().parent / "pytorch_mlp.py"
    cmd = [python, str(script), "--epochs", str(args.epochs), "--threads", str(threads),
           "--batch-size", str(args.batch_size), "--hidden", "256,128", "--lr", "0.001",
           "--seed", str(args.seed), "--data-dir", args.data_dir, "--hugepages", args.pytorch_hugepages]
    bl.log("+ " + " ".join(cmd))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: pytorch_mlp.py did not finish within {args.timeout:.0f} s")
    if proc.returncode != 0:
        raise SystemExit(f"error: pytorch_mlp.py exited with status {proc.returncode}")
    report = json.loads(proc.stdout)
    report["wall_s"] = round(time.perf_counter() - t0, 3)
    report["cmd"] = " ".join(cmd)
    (out_dir / f"pytorch-{threads}t.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def summarize_dptrain(run: dict) -> dict:
    ev = run["eval"]
    epoch_s = [e["epoch_s"] for e in ev]
    step_sum_s = {}
    for r in run["train"]:
        step_sum_s[r["epoch"]] = step_sum_s.get(r["epoch"], 0.0) + r["step_ms"] / 1e3
    return {
        "ranks": run["config"].get("world_size"),
        "threads_per_rank": run["config"].get("threads_per_rank"),
        "epoch_s": [bl.rounded(x) for x in epoch_s],
        "mean_epoch_s": bl.rounded(bl.mean(epoch_s)),
        "median_epoch_s": bl.rounded(bl.median(epoch_s)),
        # Sum of the per-step times (data+compute+comm+optim) per epoch: epoch_s minus the
        # loop's bookkeeping (shuffle, metrics lines).
        "mean_epoch_step_sum_s": bl.rounded(bl.mean(list(step_sum_s.values()))),
        "median_step_ms": bl.rounded(bl.median([r["step_ms"] for r in run["train"]])),
        "total_train_s": bl.rounded(sum(epoch_s)),
        "test_accuracy": [e["test_accuracy"] for e in ev],
        "final_test_accuracy": ev[-1]["test_accuracy"] if ev else None,
        "final_test_loss": bl.rounded(ev[-1]["test_loss"], 6) if ev else None,
        "wall_s": bl.rounded(run["wall_s"], 3),
        "cmd": " ".join(run["cmd"]),
    }


def summarize_pytorch(rep: dict) -> dict:
    return {
        "threads": rep["torch"]["num_threads"],
        "openblas_threads": rep["torch"]["OPENBLAS_NUM_THREADS"],
        "numpy_madvise_hugepage": rep["torch"].get("numpy_madvise_hugepage"),
        "torch_version": rep["torch"]["version"],
        "epoch_s": [e["train_s"] for e in rep["epochs"]],
        "mean_epoch_s": rep["mean_epoch_s"],
        "median_epoch_s": rep["median_epoch_s"],
        "total_train_s": rep["total_train_s"],
        "test_accuracy": [e["test_accuracy"] for e in rep["epochs"]],
        "final_test_accuracy": rep["final_test_accuracy"],
        "final_test_loss": rep["final_test_loss"],
        "wall_s": rep["wall_s"],
        "cmd": rep["cmd"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dptrain = bl.resolve_dptrain(args.dptrain)
    python = bl.torch_python(args.python)
    machine = bl.machine_info()
    keep = Path(args.keep_runs).resolve() if args.keep_runs else None
    scratch = Path(tempfile.mkdtemp(prefix="dptrain-cmp-"))
    out_dir = keep or scratch
    out_dir.mkdir(parents=True, exist_ok=True)
    pytorch_cache: dict[int, dict] = {}
    results = []
    try:
        for ranks, threads in args.config_list:
            total = ranks * threads
            name = f"{ranks}x{threads}"
            if total > machine["cores_allowed"]:
                bl.log(f"warning: {name} uses {total} threads on {machine['cores_allowed']} cores (oversubscribed)")
            bind = ("none" if threads > 1 else "default") if args.bind == "auto" else args.bind
            bl.log(f"[compare] {name}: dptrain {ranks} rank(s) x {threads} thread(s) (bind: {bind}) "
                   f"vs PyTorch {total} thread(s), {args.epochs} epoch(s)")
            run = bl.run_dptrain(dptrain, ranks, dptrain_args(args, threads), out_dir / f"dptrain-{name}",
                                 bind=bind, timeout_s=args.timeout)
            if len(run["eval"]) != args.epochs:
                raise SystemExit(f"error: dptrain wrote {len(run['eval'])} eval records, expected {args.epochs}")
            dp = summarize_dptrain(run)
            for t in [total] + [t for t in args.also_threads if t < total]:
                if t not in pytorch_cache:
                    pytorch_cache[t] = run_pytorch(args, python, t, out_dir)
                else:
                    bl.log(f"[compare] reusing the PyTorch run with {t} thread(s)")
            pt = summarize_pytorch(pytorch_cache[total])
            best = min((summarize_pytorch(pytorch_cache[t]) for t in pytorch_cache if t <= total),
                       key=lambda r: r["mean_epoch_s"])
            ratio = dp["mean_epoch_s"] / pt["mean_epoch_s"]
            res = {
                "config": name, "ranks": ranks, "threads_per_rank": threads, "total_threads": total,
                "bind": bind,
                "dptrain": dp, "pytorch": pt,
                "ratio_mean_epoch": bl.rounded(ratio),
                "ratio_median_epoch": bl.rounded(dp["median_epoch_s"] / pt["median_epoch_s"]),
                "target_ratio": TARGET_RATIO,
                "meets_target": ratio <= TARGET_RATIO,
                "accuracy_diff": bl.rounded(dp["final_test_accuracy"] - pt["final_test_accuracy"], 6),
                # The fastest PyTorch run that uses no more threads than this configuration.
                "pytorch_best": {"threads": best["threads"], "mean_epoch_s": best["mean_epoch_s"],
                                 "final_test_accuracy": best["final_test_accuracy"]},
                "ratio_vs_best": bl.rounded(dp["mean_epoch_s"] / best["mean_epoch_s"]),
                "meets_target_vs_best": dp["mean_epoch_s"] / best["mean_epoch_s"] <= TARGET_RATIO,
            }
            if best["threads"] != total:
                bl.log(f"[compare] note: PyTorch with {best['threads']} thread(s) ({best['mean_epoch_s']:.3f} s/epoch) "
                       f"beat PyTorch with {total} ({pt['mean_epoch_s']:.3f} s/epoch)")
            results.append(res)
            bl.log(f"[compare] {name}: dptrain {dp['mean_epoch_s']:.3f} s/epoch, PyTorch "
                   f"{pt['mean_epoch_s']:.3f} s/epoch, ratio {ratio:.3f}; accuracy {dp['final_test_accuracy']:.4f} "
                   f"vs {pt['final_test_accuracy']:.4f}")
    finally:
        if not keep:
            bl.remove_tree(scratch)
    machine["loadavg_at_end"] = bl.loadavg()
    report = {
        "benchmark": "compare_pytorch",
        "machine": machine,
        "dptrain": {"binary": str(dptrain), **bl.git_info()},
        "pytorch": {"python": python, "version": results[0]["pytorch"]["torch_version"]},
        "config": {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                   "configs": [f"{r}x{t}" for r, t in args.config_list], "bind": args.bind,
                   "check_every": args.check_every, "data_dir": args.data_dir,
                   "pytorch_hugepages": args.pytorch_hugepages,
                   "pytorch_also_threads": args.also_threads,
                   "model": "mlp 784-256-128-10", "optimizer": "adamw lr=1e-3 betas=(0.9,0.999) eps=1e-8 wd=0",
                   "lr_schedule": "cosine per step to 0", "epoch_time": "training loop only, evaluation excluded"},
        "results": results,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    bl.log("")
    bl.log(f"| config | dptrain s/epoch | PyTorch s/epoch | ratio (target <= {TARGET_RATIO}) | "
           "best PyTorch (threads) s/epoch | ratio vs best | dptrain test acc | PyTorch test acc |")
    bl.log("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        b = r["pytorch_best"]
        bl.log(f"| {r['ranks']} rank x {r['threads_per_rank']} thr vs torch {r['total_threads']} thr | "
               f"{r['dptrain']['mean_epoch_s']:.3f} | {r['pytorch']['mean_epoch_s']:.3f} | "
               f"{r['ratio_mean_epoch']:.3f} {'ok' if r['meets_target'] else 'MISSED'} | "
               f"{b['mean_epoch_s']:.3f} ({b['threads']}) | "
               f"{r['ratio_vs_best']:.3f} {'ok' if r['meets_target_vs_best'] else 'MISSED'} | "
               f"{r['dptrain']['final_test_accuracy']:.4f} | {r['pytorch']['final_test_accuracy']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
