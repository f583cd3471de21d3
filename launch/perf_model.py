#!/usr/bin/env python3
"""A performance model of dptrain's data-parallel step, fitted here and used to predict.

  launch/perf_model.py --dpbench d2.json d4.json --sweep DIR [--cores N] --out DIR

1. All-reduce (alpha-beta). Ring: T = 2(n-1)·alpha + 2(n-1)/n · m/beta; tree (for small,
   latency-bound messages; a pipelined reduce + broadcast down a binary tree, as NCCL's
   double binary tree): T = 2·log2(n)·alpha + 2·m/beta; the model takes the faster of the
   two, as MPI/NCCL pick algorithms by size. alpha (s) and beta (bytes/s,
   the bus bandwidth) are fitted by least squares on relative error to every size of
   every `dpbench allreduce --json` file given (dptrain's communicator column).
2. Step. T(n) = s(n)·(data(b) + compute(b) + optim) + exposed, with
   exposed = max((1 - h)·T_ar, T_ar - s(n)·compute(b)) and T_ar = T_allreduce(n, 4·(P+1)):
   the part h does not hide, or more when backward is too short to hide the rest,
   b = the per-rank batch, P = parameters (+1: the loss rides in the buffer), h = the
   fraction of the all-reduce hidden behind backward (0 with one bucket; from
   bench/overlap.py otherwise), s(n) = max(1, n·threads/cores): ranks that share cores
   run their compute that much slower (oversubscription on small machines).
   data, compute and optim come from the ONE-rank runs of a launch/scaling.sh sweep only
   (compute linear in b, fitted through the 1-rank strong and weak points), so every
   multi-rank number is a genuine prediction, compared with the sweep's measurements.
   With --syncstep (`dpbench syncstep --json` files, at the step's message size), ranks
   that share cores (s(n) > 1) get the synchronisation cost that benchmark measured for
   n ranks after the same amount of work instead of the alpha-beta all-reduce:
   T(n) = s(n)·w + sync(n, w), sync = syncstep's step - s·work, interpolated in the work
   w = data(b) + compute(b) + optim. The benchmark's work is synthetic (SGEMMs), not the
   training runs the model predicts.
3. Cluster predictions: the same model with published interconnect figures and an
   assumed GPU compute rate (see --help of the cluster options and docs/scaling.md).

Writes OUT/model.json (the fit), OUT/predictions.json ({"strong": {n: ms}, "weak": ...},
for launch/report.py --model-prediction) and OUT/model.md (fit quality, measured vs
predicted, cluster predictions).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import report  # launch/report.py, beside this script: the same choice of runs


def allreduce_time(n: int, nbytes: float, alpha: float, beta: float) -> float:
    if n <= 1:
        return 0.0
    ring = 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / beta
    tree = 2 * math.log2(n) * alpha + 2 * nbytes / beta
    return min(ring, tree)


def fit_alpha_beta(points: list[tuple[int, float, float]]) -> tuple[float, float, float]:
    """points: (n, bytes, seconds). Least squares on relative error (weights 1/t) for
    t = x1·alpha + x2·(1/beta), where each point takes the form allreduce_time picks for it:
    ring x1 = 2(n-1), x2 = 2(n-1)/n·m, or tree x1 = 2·log2(n), x2 = 2m. Starts from the
    ring form everywhere and refits until no point changes form (exact times give back
    their alpha and beta). Returns (alpha, beta, geometric-mean relative error)."""
    def solve(rows):
        # Normal equations of the weighted 2-parameter problem.
        s11 = s12 = s22 = b1 = b2 = 0.0
        for x1, x2, t in rows:
            w = 1.0 / (t * t)
            s11 += w * x1 * x1
            s12 += w * x1 * x2
            s22 += w * x2 * x2
            b1 += w * x1 * t
            b2 += w * x2 * t
        det = s11 * s22 - s12 * s12
        a = (b1 * s22 - b2 * s12) / det
        inv_beta = (s11 * b2 - s12 * b1) / det
        return max(a, 1e-9), 1.0 / max(inv_beta, 1e-15)

    def forms(alpha, beta):
        """Per point: (x1, x2, t) of the faster form under alpha, beta (ring when None)."""
        rows = []
        for n, m, t in points:
            ring = (2 * (n - 1), 2 * (n - 1) / n * m)
            tree = (2 * math.log2(n), 2 * m)
            faster = alpha is not None and tree[0] * alpha + tree[1] / beta < ring[0] * alpha + ring[1] / beta
            rows.append((*(tree if faster else ring), t))
        return rows

    points = [pt for pt in points if pt[0] > 1]
    rows = forms(None, None)
    alpha, beta = solve(rows)
    for _ in range(20):
        new_rows = forms(alpha, beta)
        if new_rows == rows:
            break
        rows = new_rows
        alpha, beta = solve(rows)
    errs = [abs(allreduce_time(n, m, alpha, beta) - t) / t for n, m, t in points]
    gmean = math.exp(statistics.mean(math.log(max(e, 1e-6)) for e in errs))
    return alpha, beta, gmean


class ModelError(Exception):
    """A bad input, reported as one line naming it."""


def read_json_file(path: str | Path, what: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as e:
        raise ModelError(f"{what} {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{what} {path}: not JSON ({e})") from None


def load_dpbench(paths: list[str]) -> list[tuple[int, float, float]]:
    points = []
    for p in paths:
        d = read_json_file(p, "--dpbench")
        if not isinstance(d.get("results"), list) or "ranks" not in d:
            raise ModelError(f"--dpbench {p}: not a `dpbench allreduce --json` file (no ranks/results)")
        n = d["ranks"]
        if n < 2:
            raise ModelError(f"--dpbench {p}: measured on {n} rank; the fit needs runs on 2 ranks or more")
        for r in d["results"]:
            points.append((n, float(r["bytes"]), r["dptrain"]["time_us"] * 1e-6))
    return points


def read_run(run_dir: Path, warmup: int) -> dict:
    recs = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    train = [r for r in recs if r.get("type") == "train" and r["step"] > warmup]
    if not train:
        raise ModelError(f"{run_dir}/metrics.jsonl: no steps after the first {warmup} (--warmup)")
    config = json.loads((run_dir / "config.json").read_text())
    med = lambda k: statistics.median(r[k] for r in train)  # noqa: E731
    return {"ranks": config["world_size"], "threads": config.get("threads_per_rank", 1),
            "global_batch": config["batch-size"], "step_ms": med("step_ms"), "data_ms": med("data_ms"),
            "compute_ms": med("compute_ms"), "optim_ms": med("optim_ms"), "comm_ms": med("comm_ms"),
            "exposed_ms": med("exposed_comm_ms"), "samples": train[0]["samples"] if train else 0}


def sweep_dirs(sweep: Path, sweep_meta: dict) -> dict[str, list[Path]]:
    """The complete runs of the sweep in sweep.json, chosen as launch/report.py chooses them
    (an earlier sweep's runs and partial runs left out, with a warning)."""
    if not sweep.is_dir():
        raise ModelError(f"--sweep {sweep}: no such directory (the --out of launch/scaling.sh)")
    notes: list[str] = []
    dirs = report.complete_runs(sweep, sweep_meta, notes)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    return dirs


def sweep_runs(dirs: dict[str, list[Path]], warmup: int) -> dict:
    """{mode: {ranks: run}}; a run that report.py would mark noisy (‡) carries "noise", its
    warning, since the medians it is calibrated or judged by hide the slow steps."""
    runs: dict = {}
    for mode, ds in dirs.items():
        for d in ds:
            run = read_run(d, warmup)
            run["noise"] = report.noise_note(report.summarize_run(d, mode, warmup))
            runs.setdefault(mode, {})[int(d.name[len("ranks"):])] = run
    return runs


def params_of(dirs: dict[str, list[Path]]) -> int:
    """Parameter count from a 1-rank run's stdout banner ('... (235146 parameters, ...')."""
    for log in (d / "stdout.log" for ds in dirs.values() for d in ds if d.name == "ranks1"):
        for line in log.read_text().splitlines() if log.is_file() else []:
            if "parameters" in line and line.startswith("dptrain:"):
                return int(line.split(" parameters")[0].split("(")[-1])
    raise ModelError("cannot find the parameter count in the sweep's ranks1/stdout.log (the sweep needs 1-rank runs)")


def load_syncstep(paths: list[str]) -> dict[int, dict]:
    """{ranks: {"bytes": B, "points": [(work_ms, sync_ms)], "share": s}} from dpbench syncstep
    JSON files; sync = step - share·work (the all-reduce plus the cost of sharing cores)."""
    out = {}
    for p in paths:
        d = read_json_file(p, "--syncstep")
        pts = sorted((r["work_ms"], r["step_ms"] - d["share"] * r["work_ms"]) for r in d["results"])
        out[int(d["ranks"])] = {"bytes": d["bytes"], "points": pts, "share": d["share"]}
    return out


def interp(points: list[tuple[float, float]], x: float) -> float:
    """Piecewise linear in x, constant beyond the ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dpbench", nargs="+", required=True, help="dpbench allreduce --json files (n >= 2)")
    p.add_argument("--sweep", required=True, help="a launch/scaling.sh output directory")
    p.add_argument("--fit-max-bytes", type=float, default=16 * 2**20,
                   help="fit alpha/beta to messages up to this size only (the sizes a step sends; larger "
                        "messages can hit other regimes, e.g. fresh-page allocation in MPI's temporaries)")
    p.add_argument("--warmup", type=int, default=None,
                   help="steps of each run left out (default: the sweep's, from DIR/sweep.json)")
    p.add_argument("--cores", type=int, default=None,
                   help="cores of the machine the sweep ran on (default: DIR/sweep.json's, else this machine's)")
    p.add_argument("--syncstep", nargs="*", default=[],
                   help="dpbench syncstep --json files: the measured cost of a synchronising all-reduce for "
                        "ranks that share cores (used where s(n) > 1)")
    p.add_argument("--hidden-fraction", type=float, default=0.0,
                   help="h: fraction of the all-reduce hidden behind backward (0 for one bucket)")
    p.add_argument("--out", required=True)
    # Cluster assumptions (docs/scaling.md states the sources).
    p.add_argument("--gpu-tflops", type=float, default=40.0,
                   help="sustained FP32 GEMM rate of one H100 (TF32 off), TFLOP/s")
    p.add_argument("--nvlink-busbw", type=float, default=400.0, help="NCCL all-reduce bus bandwidth in a node, GB/s")
    p.add_argument("--nvlink-alpha-us", type=float, default=6.0, help="per-hop latency in a node, us")
    p.add_argument("--ib-busbw", type=float, default=45.0,
                   help="bus bandwidth across nodes, GB/s per GPU (one 400 Gb/s NIC per GPU)")
    p.add_argument("--ib-alpha-us", type=float, default=8.0, help="per-hop latency across nodes, us")
    args = p.parse_args()

    import os
    sweep_meta = {}
    if (Path(args.sweep) / "sweep.json").is_file():
        sweep_meta = json.loads((Path(args.sweep) / "sweep.json").read_text())
    cores = args.cores or sweep_meta.get("cores") or len(os.sched_getaffinity(0))
    warmup = args.warmup if args.warmup is not None else sweep_meta.get("warmup", 20)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    all_points = load_dpbench(args.dpbench)
    points = [pt for pt in all_points if pt[1] <= args.fit_max_bytes]
    alpha, beta, fit_err = fit_alpha_beta(points)
    per_n = {n: fit_alpha_beta([pt for pt in points if pt[0] == n]) for n in sorted({pt[0] for pt in points})}
    dirs = sweep_dirs(Path(args.sweep), sweep_meta)
    runs = sweep_runs(dirs, warmup)
    nparams = params_of(dirs)
    grad_bytes = 4.0 * (nparams + 1)

    # One-rank calibration: compute linear in the per-rank batch through the strong and
    # weak 1-rank points; data per row; optim constant.
    ones = [runs[m][1] for m in ("strong", "weak") if m in runs and 1 in runs[m]]
    if not ones:
        raise SystemExit("the sweep has no 1-rank run to calibrate from")
    bs = [o["global_batch"] for o in ones]
    if len(set(bs)) >= 2:
        (b0, c0), (b1, c1) = [(o["global_batch"], o["compute_ms"]) for o in ones[:2]]
        slope = (c1 - c0) / (b1 - b0)
        intercept = c0 - slope * b0
    else:
        slope, intercept = ones[0]["compute_ms"] / bs[0], 0.0
    for mode, o in ((m, runs[m][1]) for m in ("strong", "weak") if m in runs and 1 in runs[m]):
        if o["noise"]:
            print(f"warning: the calibration run is noisy, and every prediction inherits it: {o['noise']}",
                  file=sys.stderr)
    data_per_row = statistics.mean(o["data_ms"] / o["global_batch"] for o in ones)
    optim_ms = statistics.mean(o["optim_ms"] for o in ones)
    threads = ones[0]["threads"]
    other = sorted({f"{m} {n}: {r['threads']}" for m, by_n in runs.items() for n, r in by_n.items()
                    if r["threads"] != threads})
    if other:
        print(f"warning: the runs use other BLAS thread counts than the 1-rank calibration ({threads}): "
              f"{', '.join(other)}; the model assumes {threads} per rank everywhere (sweep with a fixed "
              "scaling.sh --threads T)", file=sys.stderr)

    sync = load_syncstep(args.syncstep)
    for n, d in sync.items():
        if abs(d["bytes"] - grad_bytes) > 0.05 * grad_bytes:
            print(f"warning: the {n}-rank syncstep file measured {d['bytes']:.0f}-byte all-reduces, the step "
                  f"sends {grad_bytes:.0f}", file=sys.stderr)
        # sync(w) = the all-reduce plus the cost of sharing cores, which should not shrink
        # as the work grows; when it does, the scheduler's noise dominates the measurement.
        costs = [c for _, c in d["points"]]
        if any(later < 0.7 * earlier for earlier, later in zip(costs, costs[1:])):
            print(f"warning: the {n}-rank syncstep file is noisy: its sync cost is not monotone in the work "
                  f"({', '.join(f'{c:.2f}' for c in costs)} ms); its predictions are unreliable: rerun it "
                  "on a quiet machine or leave --syncstep out", file=sys.stderr)

    def predict_step_ms(n: int, b: int) -> dict:
        s = max(1.0, n * threads / cores)
        work = intercept + slope * b + data_per_row * b + optim_ms  # one rank, alone
        comp = s * (intercept + slope * b)
        other = s * (data_per_row * b + optim_ms)
        if s > 1 and n in sync:
            # All-reduce + sharing, measured by syncstep; never below the all-reduce alone.
            comm = max(interp(sync[n]["points"], work), 1e3 * allreduce_time(n, grad_bytes, alpha, beta))
            return {"step_ms": comp + other + comm, "compute_ms": comp, "comm_ms": comm, "source": "syncstep"}
        comm = 1e3 * allreduce_time(n, grad_bytes, alpha, beta)
        exposed = max((1 - args.hidden_fraction) * comm, comm - comp)
        return {"step_ms": comp + other + exposed, "compute_ms": comp, "comm_ms": comm, "source": "alpha-beta"}

    predictions, rows = {}, []
    for mode, by_n in runs.items():
        for n, r in sorted(by_n.items()):
            b = r["global_batch"] // n
            pr = predict_step_ms(n, b)
            predictions.setdefault(mode, {})[str(n)] = round(pr["step_ms"], 4)
            err = (pr["step_ms"] - r["step_ms"]) / r["step_ms"]
            # The marks of report.py: † ranks sharing cores, ‡ a noisy measurement.
            shares = not sweep_meta.get("multi_host") and n * max(r["threads"] or 1, 1) > cores
            mark = (" †" if shares else "") + (" ‡" if r["noise"] else "")
            rows.append((mode, f"{n}{mark}", b, r["step_ms"], pr["step_ms"], err, r["comm_ms"], pr["comm_ms"],
                         pr["source"]))

    model = {"alpha_s": alpha, "beta_bytes_per_s": beta, "fit_geomean_rel_error": fit_err,
             "fit_max_bytes": args.fit_max_bytes,
             "per_n": {str(n): {"alpha_s": a, "beta_bytes_per_s": b, "geomean_rel_error": e} for n, (a, b, e) in per_n.items()},
             "cores": cores,
             "threads_per_rank": threads, "params": nparams, "compute_ms_per_row": slope,
             "compute_ms_intercept": intercept, "data_ms_per_row": data_per_row, "optim_ms": optim_ms,
             "hidden_fraction": args.hidden_fraction,
             "syncstep": {str(n): d["points"] for n, d in sync.items()}}
    (out / "model.json").write_text(json.dumps(model, indent=1) + "\n")
    (out / "predictions.json").write_text(json.dumps(predictions, indent=1) + "\n")

    md = ["# Performance model: fit and validation", "",
          f"All-reduce fit over {len(points)} dpbench points (messages up to {args.fit_max_bytes / 2**20:g} MiB): "
          f"alpha = {alpha * 1e6:.2f} us, beta = {beta / 1e9:.2f} GB/s (bus bandwidth); geometric-mean relative "
          f"error {fit_err:.1%}. Per rank count: "
          + "; ".join(f"n={n}: alpha {a * 1e6:.2f} us, beta {b / 1e9:.2f} GB/s, error {e:.1%}" for n, (a, b, e) in per_n.items())
          + ".", "",
          f"Calibration (1-rank runs only): compute = {intercept:.4f} + {slope:.5f} * b ms, data {data_per_row * 1e3:.3f} us/row, "
          f"optimizer {optim_ms:.3f} ms; {threads} thread(s) per rank on {cores} core(s); gradients {grad_bytes / 1e6:.2f} MB; "
          f"hidden fraction h = {args.hidden_fraction}.", "",
          "| mode | ranks | per-rank batch | measured step ms | predicted step ms | error | measured all-reduce ms | modelled all-reduce ms | all-reduce from |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for mode, n, b, meas, pred, err, mcomm, pcomm, source in rows:
        md.append(f"| {mode} | {n} | {b} | {meas:.3f} | {pred:.3f} | {err:+.1%} | {mcomm:.3f} | {pcomm:.3f} | {source} |")
    if any("†" in n or "‡" in n for _, n, *_ in rows):
        md += ["", f"† more ranks × threads than the {cores} core(s): ranks share cores (not a scaling measurement). "
                   "‡ a noisy measurement (mean or p90 step far above the median; see the warnings)."]

    # Cluster predictions: large MLP and the default MLP, per-GPU batch 128 (weak scaling).
    md += ["", "## Predicted efficiency on GPU clusters (weak scaling, per-GPU batch 128)", "",
           f"Assumptions: {args.gpu_tflops:g} TFLOP/s sustained per GPU; in a node (8 GPUs) NVLink bus bandwidth "
           f"{args.nvlink_busbw:g} GB/s, alpha {args.nvlink_alpha_us:g} us; across nodes {args.ib_busbw:g} GB/s per GPU, "
           f"alpha {args.ib_alpha_us:g} us; optimizer and data time negligible on the GPU; step FLOPs = 6·P·b.", "",
           "| model | params | GPUs | compute ms | all-reduce ms | efficiency, no overlap | efficiency, 70% hidden | efficiency, all hidden |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, p_count in (("mlp-large 784-4096x3-10", 784 * 4096 + 4096 + 2 * (4096 * 4096 + 4096) + 4096 * 10 + 10),
                          ("mlp 784-256-128-10", 235146)):
        compute = 6 * p_count * 128 / (args.gpu_tflops * 1e12) * 1e3
        for gpus in (8, 64, 512):
            if gpus <= 8:
                comm = 1e3 * allreduce_time(gpus, 4.0 * p_count, args.nvlink_alpha_us * 1e-6, args.nvlink_busbw * 1e9)
            else:
                comm = 1e3 * allreduce_time(gpus, 4.0 * p_count, args.ib_alpha_us * 1e-6, args.ib_busbw * 1e9)
            # Overlap hides at most a fraction h of the all-reduce and never more than
            # the compute lasts: exposed = max((1 - h)·comm, comm - compute).
            effs = [compute / (compute + max((1 - h) * comm, comm - compute)) for h in (0.0, 0.7, 1.0)]
            md.append(f"| {name} | {p_count / 1e6:.2f}M | {gpus} | {compute:.3f} | {comm:.3f} | "
                      + " | ".join(f"{e:.2f}" for e in effs) + " |")
    (out / "model.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ModelError as e:
        print(f"perf_model.py: error: {e}", file=sys.stderr)
        sys.exit(2)
