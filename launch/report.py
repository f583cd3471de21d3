#!/usr/bin/env python3
"""Scaling report of a launch/scaling.sh sweep: Markdown table, JSON and PNG plots.

  launch/report.py DIR [--model-prediction FILE.json] [--warmup N] [--no-plots]

Reads DIR/<mode>/ranks<N>/{metrics.jsonl,config.json,stdout.log} (mode = strong, weak)
and DIR/sweep.json (written by scaling.sh: machine, warm-up, command line), drops the
first --warmup steps of every run, and writes

  DIR/scaling.md     one table per mode: ranks, global and per-rank batch, threads per
                     rank, median step ms, samples/s, speed-up, efficiency, compute ms,
                     communication ms, exposed communication ms and its share of the step
  DIR/scaling.json   the same numbers (and a few more: data/optim ms, p10/p90, final loss)
  DIR/throughput.png samples/s vs ranks, both modes, with the ideal (linear) lines
  DIR/efficiency.png parallel efficiency vs ranks, both modes, with the ideal 100 % line

Definitions (baseline = the smallest rank count of the mode, normally 1 rank):
  throughput   = global batch / median step time (samples/s)
  speed-up     = throughput_n / throughput_base
  efficiency   = speed-up / (n / base)
    strong: T_base / ((n/base) * T_n) for training the same samples, since the global
            batch is fixed; weak: throughput_n / ((n/base) * throughput_base).
  exposed comm = communication the step waited for (not hidden behind backward);
  share        = median over the measured steps of exposed comm / step time.

Only the runs of the sweep in DIR/sweep.json (its modes and rank counts) are reported;
runs left in DIR by an earlier sweep, partial runs (stopped by a signal or --timeout, or
fewer steps than asked) are left out with a warning, and runs whose mean or p90 step is
far above the median (a busy machine) are marked ‡ with a warning.

--model-prediction FILE: {"strong": {"<ranks>": predicted_step_ms}, "weak": {...}} adds
the columns "predicted step ms" and "error %" = (predicted - measured) / measured * 100.

The tables and JSON need only the standard library; the plots need matplotlib (Debian:
python3-matplotlib). When this interpreter lacks it, the script re-runs itself under one
that has it ($PYTHON, python3 on PATH, /usr/bin/python3).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import benchlib as bl  # noqa: E402

MODES = ("strong", "weak")
MODE_TITLE = {"strong": "Strong scaling (fixed global batch)", "weak": "Weak scaling (fixed per-rank batch)"}
class ReportError(Exception):
    """A problem with the sweep's files: one line naming the file and what was expected."""


# ------------------------------------------------------------------ reading the runs

# Statistics shared with the benchmarks (bench/benchlib.py).
median, percentile, rnd = bl.median, bl.percentile, bl.rounded


def read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not valid JSON: {e}") from None


def read_metrics(path: Path) -> list[dict]:
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ReportError(f"{path}:{lineno}: not valid JSON: {e}") from None
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {e.strerror}") from None
    return records


TOPO_RE = re.compile(r"^\s*rank (\d+): host (\S+), local rank (\d+)/(\d+),")
START_RE = re.compile(r"model (\S+) (\S+) \((\d+) parameters")


def read_stdout(path: Path) -> dict:
    """Hosts and ranks per host from --print-topology, the model line from the start line."""
    info: dict = {"hosts": None, "max_ranks_per_host": None, "model_shape": None, "parameters": None}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return info
    hosts: dict[str, int] = {}
    for line in text.splitlines():
        m = TOPO_RE.match(line)
        if m:
            hosts[m.group(2)] = max(hosts.get(m.group(2), 0), int(m.group(4)))
        m = START_RE.search(line)
        if m and line.startswith("dptrain:"):
            info["model_shape"] = f"{m.group(1)} {m.group(2)}"
            info["parameters"] = int(m.group(3))
    if hosts:
        info["hosts"] = sorted(hosts)
        info["max_ranks_per_host"] = max(hosts.values())
    return info


def summarize_run(run_dir: Path, mode: str, warmup: int) -> dict:
    config = read_json(run_dir / "config.json")
    records = read_metrics(run_dir / "metrics.jsonl")
    train = [r for r in records if r.get("type") == "train"]
    if not train:
        raise ReportError(f"{run_dir / 'metrics.jsonl'}: no training steps recorded")
    measured = [r for r in train if r.get("step", 0) > warmup]
    if not measured:
        raise ReportError(f"{run_dir / 'metrics.jsonl'}: all {len(train)} steps are warm-up "
                          f"(--warmup {warmup}); run more steps or lower --warmup")
    for key in ("world_size", "batch-size"):
        if key not in config:
            raise ReportError(f"{run_dir / 'config.json'}: no '{key}' field")
    ranks = int(config["world_size"])
    global_batch = int(config["batch-size"])

    def col(key: str, fallback: str | None = None) -> list[float]:
        return [float(r.get(key, r.get(fallback, 0.0) if fallback else 0.0)) for r in measured]

    step = col("step_ms")
    exposed = col("exposed_comm_ms", "comm_ms")  # before overlap existed, all comm was exposed
    med_step = median(step)
    total_ms = sum(step)
    samples = sum(float(r.get("samples", global_batch)) for r in measured)
    out = read_stdout(run_dir / "stdout.log")
    return {
        "mode": mode,
        "ranks": ranks,
        "global_batch": global_batch,
        "per_rank_batch": global_batch // ranks,
        "threads_per_rank": config.get("threads_per_rank"),
        "bucket_mb": config.get("bucket-mb"),
        "model": config.get("model"),
        "hidden": config.get("hidden"),
        "steps": len(train),
        "steps_measured": len(measured),
        "step_ms": rnd(med_step),
        "step_ms_p10": rnd(percentile(step, 10)),
        "step_ms_p90": rnd(percentile(step, 90)),
        "samples_per_s": rnd(global_batch / (med_step / 1e3), 1) if med_step else None,
        "samples_per_s_mean": rnd(samples / (total_ms / 1e3), 1) if total_ms else None,
        "data_ms": rnd(median(col("data_ms"))),
        "compute_ms": rnd(median(col("compute_ms"))),
        "comm_ms": rnd(median(col("comm_ms"))),
        "exposed_comm_ms": rnd(median(exposed)),
        # Median of the per-step ratio: robust to the odd descheduled step, like the other columns.
        "exposed_share": rnd(median([e / s for e, s in zip(exposed, step) if s > 0]), 4),
        "exposed_share_total": rnd(sum(exposed) / total_ms if total_ms else None, 4),
        "optim_ms": rnd(median(col("optim_ms"))),
        "final_loss": rnd(float(train[-1]["loss"]), 6) if "loss" in train[-1] else None,
        "hosts": out["hosts"],
        "max_ranks_per_host": out["max_ranks_per_host"],
        "model_shape": out["model_shape"],
        "parameters": out["parameters"],
        "run_dir": str(run_dir),
    }


def find_runs(sweep_dir: Path, sweep: dict, notes: list[str]) -> dict[str, list[Path]]:
    """The runs of the sweep that sweep.json describes (its modes and rank counts); run
    directories of an earlier sweep into the same --out are left out, with a note."""
    modes = sweep.get("modes") if isinstance(sweep.get("modes"), list) else MODES
    ranks = set(sweep["ranks"]) if isinstance(sweep.get("ranks"), list) else None
    runs: dict[str, list[Path]] = {}
    for mode in MODES:
        d = sweep_dir / mode
        if not d.is_dir():
            continue
        dirs = [p for p in d.iterdir() if p.is_dir() and re.fullmatch(r"ranks\d+", p.name)
                and (p / "metrics.jsonl").exists()]
        kept = [p for p in dirs if mode in modes and (ranks is None or int(p.name[5:]) in ranks)]
        for p in sorted(set(dirs) - set(kept)):
            notes.append(f"{mode}/{p.name} is not part of the sweep in sweep.json (left from an earlier one "
                         "into the same directory): not reported")
        if kept:
            runs[mode] = sorted(kept, key=lambda p: int(p.name[5:]))
    return runs


def complete_runs(sweep_dir: Path, sweep: dict, notes: list[str]) -> dict[str, list[Path]]:
    """find_runs without the partial runs (each named in a note); modes left empty dropped."""
    runs = {}
    for mode, dirs in find_runs(sweep_dir, sweep, notes).items():
        complete = []
        for d in dirs:
            why = partial_run(d)
            if why:
                notes.append(f"{mode}/{d.name} is partial ({why}): not reported")
            else:
                complete.append(d)
        if complete:
            runs[mode] = complete
    return runs


def partial_run(run_dir: Path) -> str | None:
    """Why a run did not train all its steps (stopped by a signal or --timeout), or None."""
    config = read_json(run_dir / "config.json")
    records = read_metrics(run_dir / "metrics.jsonl")
    steps = [r["step"] for r in records if r.get("type") in ("train", "skip") and isinstance(r.get("step"), int)]
    last = max(steps, default=0)
    # A stop record before the last step belongs to an interruption the run resumed from.
    stop = next((r for r in records if r.get("type") == "stop" and r.get("step", 0) >= last), None)
    if stop is not None:
        by = "--stop-at-step" if stop.get("reason") == "--stop-at-step" else stop.get("signal", "a signal")
        return f"stopped by {by} after step {stop.get('step', last)}"
    # dptrain closes a complete run with a "done" record (older versions did not).
    if any(r.get("type") == "done" for r in records):
        return None
    asked = config.get("steps")
    if isinstance(asked, int) and asked > 0 and last < asked:
        return f"ended after step {last} of {asked} (killed or timed out)"
    # An --epochs run: every epoch ends with an "eval" record. Without any (older versions
    # wrote them only with a test split) there is nothing to tell by.
    epochs = config.get("epochs")
    evals = [r["epoch"] for r in records if r.get("type") == "eval" and isinstance(r.get("epoch"), int)]
    if (not isinstance(asked, int) or asked <= 0) and isinstance(epochs, int) and evals and max(evals) + 1 < epochs:
        return f"ended in epoch {max(evals) + 2} of {epochs}, after step {last} (killed or timed out)"
    return None


# A run whose mean step is this much slower than its median, or whose 90th percentile is
# this far above it, was slowed by something else on the machine: its medians hide that.
NOISY_MEAN_OVER_MEDIAN = 1.3
NOISY_P90_OVER_MEDIAN = 2.0
NOISY_MIN_STEPS = 30  # fewer measured steps: one hiccup would decide; no verdict


def noise_note(row: dict) -> str | None:
    if row.get("steps_measured", 0) < NOISY_MIN_STEPS:
        return None
    med, p90 = row.get("step_ms"), row.get("step_ms_p90")
    mean_tput, med_tput = row.get("samples_per_s_mean"), row.get("samples_per_s")
    if not med or not p90 or not mean_tput or not med_tput:
        return None
    mean_over_median = med_tput / mean_tput
    if mean_over_median < NOISY_MEAN_OVER_MEDIAN and p90 / med < NOISY_P90_OVER_MEDIAN:
        return None
    return (f"{row['mode']} {row['ranks']} rank(s) is noisy: mean step {mean_over_median:.1f}x the median, "
            f"p90 {p90:.3f} ms vs median {med:.3f} ms (mean throughput {mean_tput:,.0f} samples/s vs "
            f"{med_tput:,.0f} from the median): something else ran on the machine; rerun it on a quiet one")


def read_prediction(path: Path) -> dict[str, dict[int, float]]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected an object {{\"strong\": {{\"<ranks>\": step_ms}}, \"weak\": {{...}}}}")
    pred: dict[str, dict[int, float]] = {}
    for mode, table in data.items():
        if mode not in MODES:
            continue  # room for the model's own metadata
        if not isinstance(table, dict):
            raise ReportError(f"{path}: \"{mode}\" must map rank counts to predicted step ms")
        pred[mode] = {}
        for k, v in table.items():
            try:
                n, ms = int(k), float(v)
            except (TypeError, ValueError):
                raise ReportError(f"{path}: \"{mode}\": \"{k}\": {v!r} is not <ranks>: <step ms>") from None
            if n < 1 or not math.isfinite(ms) or ms <= 0:
                raise ReportError(f"{path}: \"{mode}\": \"{k}\": {v!r}: need ranks >= 1 and step ms > 0")
            pred[mode][n] = ms
    return pred


def add_scaling(rows: list[dict], mode: str, pred: dict[str, dict[int, float]] | None) -> None:
    base = min(rows, key=lambda r: r["ranks"])
    for r in rows:
        factor = r["ranks"] / base["ranks"]
        speedup = r["samples_per_s"] / base["samples_per_s"] if base["samples_per_s"] else None
        r["baseline_ranks"] = base["ranks"]
        r["speedup"] = rnd(speedup, 4)
        r["efficiency"] = rnd(speedup / factor if speedup is not None else None, 4)
        r["ideal_samples_per_s"] = rnd(base["samples_per_s"] * factor, 1) if base["samples_per_s"] else None
        if pred is not None:
            p = pred.get(mode, {}).get(r["ranks"])
            r["predicted_step_ms"] = rnd(p)
            r["prediction_error_pct"] = (rnd((p - r["step_ms"]) / r["step_ms"] * 100.0, 2)
                                         if p is not None and r["step_ms"] else None)


# ------------------------------------------------------------------ Markdown

def fmt(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def fmt_pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f} %"


def machine_line(sweep: dict, results: dict[str, list[dict]]) -> str:
    cores = sweep.get("cores") or os.cpu_count()
    host = sweep.get("host") or os.uname().nodename
    cpu = sweep.get("cpu_model") or "unknown CPU"
    load = sweep.get("loadavg_at_start")
    all_rows = [r for rows in results.values() for r in rows]
    host_sets = {tuple(r["hosts"]) for r in all_rows if r.get("hosts")}
    n_hosts = max((len(h) for h in host_sets), default=1)
    line = f"Machine: {host}, {cores} cores ({cpu})"
    if n_hosts > 1:
        line += f"; runs spread over up to {n_hosts} hosts (core count of the launching host assumed for all)"
    if load:
        line += f"; load average at start {load[0]:.2f}"
    load_end = sweep.get("loadavg_at_end")
    if load_end:
        line += f", at the end {load_end[0]:.2f}"
    line += "."
    over = sorted({r["ranks"] for r in all_rows if r.get("oversubscribed")})
    if over:
        line += (f" Oversubscribed (marked †): the runs on {', '.join(map(str, over))} ranks put more ranks × "
                 f"BLAS threads on a host than its {cores} cores; they measure ranks sharing cores, not scaling.")
    else:
        line += f" No run puts more ranks × BLAS threads on a host than its {cores} cores."
    return line


def table(rows: list[dict], with_pred: bool) -> list[str]:
    head = ["ranks", "global batch", "per-rank batch", "threads/rank", "step ms (median)", "samples/s",
            "speed-up", "efficiency", "compute ms", "comm ms", "exposed comm ms", "exposed share"]
    if with_pred:
        head += ["predicted step ms", "error %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in rows:
        mark = (" †" if r.get("oversubscribed") else "") + (" ‡" if r.get("noisy") else "")
        cells = [f"{r['ranks']}{mark}", str(r["global_batch"]),
                 str(r["per_rank_batch"]), str(r["threads_per_rank"]), fmt(r["step_ms"], 3),
                 fmt(r["samples_per_s"], 0), fmt(r["speedup"], 2), fmt_pct(r["efficiency"]),
                 fmt(r["compute_ms"], 3), fmt(r["comm_ms"], 3), fmt(r["exposed_comm_ms"], 3),
                 fmt_pct(r["exposed_share"])]
        if with_pred:
            err = r.get("prediction_error_pct")
            cells += [fmt(r.get("predicted_step_ms"), 3), "–" if err is None else f"{err:+.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_markdown(path: Path, sweep: dict, results: dict[str, list[dict]], warmup: int,
                   with_pred: bool, pred_file: str | None, notes: list[str]) -> None:
    any_row = next(r for rows in results.values() for r in rows)
    model = any_row.get("model_shape") or any_row.get("model") or "?"
    params = any_row.get("parameters")
    lines = [f"# dptrain scaling: {model}" + (f" ({params:,} parameters)" if params else ""), ""]
    lines.append(machine_line(sweep, results))
    lines.append("")
    steps = sorted({r["steps"] for rows in results.values() for r in rows})
    bucket = any_row.get("bucket_mb")
    meta = (f"Runs: {', '.join(map(str, steps))} steps each, the first {warmup} dropped; step times are "
            f"medians over the remaining steps (rank 0's clock)")
    if bucket is not None:
        meta += f"; --bucket-mb {bucket:g}" + (" (one all-reduce after backward)" if bucket == 0 else "")
    if sweep.get("created"):
        meta += f"; recorded {sweep['created']}"
    if sweep.get("git_commit"):
        meta += f" at {sweep['git_commit'][:10]}" + (" (dirty)" if sweep.get("git_dirty") else "")
    lines += [meta + ".", ""]
    if notes:
        lines += ["**Warnings:**", ""] + [f"- {n}" for n in notes] + [""]
    for mode in MODES:
        rows = results.get(mode)
        if not rows:
            continue
        lines.append(f"## {MODE_TITLE[mode]}")
        lines.append("")
        lines += table(rows, with_pred)
        lines.append("")
        losses = [r["final_loss"] for r in rows if r.get("final_loss") is not None]
        if mode == "strong" and len(losses) > 1:
            lines.append(f"Final training loss per rank count: {', '.join(f'{x:.4f}' for x in losses)} "
                         "(the same global batch computes the same mathematics; only the summation order differs).")
            lines.append("")
    base = {m: rows[0]["ranks"] for m, rows in results.items()}
    base_txt = ", ".join(f"{m} {n} rank(s)" for m, n in base.items())
    lines += [
        "Definitions: samples/s = global batch / median step time; speed-up = samples/s over the baseline's "
        f"({base_txt}); efficiency = speed-up / (ranks / baseline ranks): strong = T1 / (n·Tn) for the same "
        "samples, weak = throughput_n / (n · throughput_1). comm ms = total all-reduce time (may overlap "
        "backward); exposed comm ms = the part the step waited for; exposed share = median over the steps of exposed / step time. "
        "‡ = a noisy run (mean or p90 step far above the median; see the warnings).",
    ]
    if with_pred:
        lines += ["", f"Prediction: {pred_file}; error % = (predicted − measured) / measured · 100."]
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


# ------------------------------------------------------------------ plots

def write_plots(out_dir: Path, results: dict[str, list[dict]], cores: int, title: str, with_pred: bool) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    colors = {"strong": "tab:blue", "weak": "tab:orange"}
    all_ranks = sorted({r["ranks"] for rows in results.values() for r in rows})
    lo, hi = all_ranks[0], all_ranks[-1]
    log_x = hi / lo >= 8

    if log_x:
        xlim = (lo / 1.2, hi * 1.2)
    else:
        xlim = (lo - 0.3, hi + 0.3)
    # Shade the rank counts that put more ranks on a host than it has cores.
    over = sorted({r["ranks"] for rows in results.values() for r in rows if r.get("oversubscribed")})
    under = [n for n in all_ranks if n not in over]
    shade_from = None
    if over:
        below = [n for n in under if n < over[0]]
        if not below:
            shade_from = xlim[0]
        elif log_x:
            shade_from = math.sqrt(below[-1] * over[0])
        else:
            shade_from = (below[-1] + over[0]) / 2

    def setup(ax, ylabel: str) -> None:
        if log_x:
            ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(all_ranks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlim(*xlim)
        ax.set_xlabel("ranks")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if shade_from is not None:
            ax.axvspan(shade_from, xlim[1], color="0.85", alpha=0.6, zorder=0,
                       label=f"oversubscribed (ranks × threads > {cores} cores on a host)")

    written = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    setup(ax, "samples/s")
    for mode, rows in results.items():
        xs = [r["ranks"] for r in rows]
        ax.plot(xs, [r["samples_per_s"] for r in rows], "o-", color=colors[mode], label=f"{mode} (measured)")
        ax.plot(xs, [r["ideal_samples_per_s"] for r in rows], "--", color=colors[mode], alpha=0.6,
                label=f"{mode} ideal (linear)")
        if with_pred:
            pts = [(r["ranks"], r["global_batch"] / (r["predicted_step_ms"] / 1e3)) for r in rows
                   if r.get("predicted_step_ms")]
            if pts:
                ax.plot(*zip(*pts), "s:", color=colors[mode], alpha=0.8, mfc="none", label=f"{mode} (model)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Throughput vs ranks — {title}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = out_dir / "throughput.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    written.append(p)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    setup(ax, "parallel efficiency (%)")
    ax.axhline(100, linestyle="--", color="0.3", label="ideal (100 %)")
    top = 110.0
    for mode, rows in results.items():
        ys = [100 * r["efficiency"] for r in rows]
        top = max(top, max(ys) + 10)
        ax.plot([r["ranks"] for r in rows], ys, "o-", color=colors[mode], label=mode)
        if with_pred:
            base = rows[0]
            pts = [(r["ranks"], 100 * (r["global_batch"] / r["predicted_step_ms"]) /
                    (base["samples_per_s"] / 1e3) / (r["ranks"] / base["ranks"]))
                   for r in rows if r.get("predicted_step_ms")]
            if pts:
                ax.plot(*zip(*pts), "s:", color=colors[mode], alpha=0.8, mfc="none", label=f"{mode} (model)")
    ax.set_ylim(0, top)
    ax.set_title(f"Parallel efficiency vs ranks — {title}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = out_dir / "efficiency.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    written.append(p)
    return written


# ------------------------------------------------------------------ main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="See the module docstring "
                                "(head -40 launch/report.py) for the definitions.")
    p.add_argument("dir", help="the --out directory of launch/scaling.sh")
    p.add_argument("--model-prediction", metavar="FILE",
                   help='JSON {"strong": {"<ranks>": predicted_step_ms}, "weak": {...}}: adds predicted '
                        "step ms and error %% columns")
    p.add_argument("--warmup", type=int, default=None,
                   help="steps dropped at the start of every run (default: DIR/sweep.json's, else 10%% of the steps)")
    p.add_argument("--no-plots", action="store_true", help="write only scaling.md and scaling.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Plots need matplotlib: re-run under an interpreter that has it (once) before doing anything.
    if not args.no_plots:
        bl.reexec_with_matplotlib(__file__, sys.argv[1:] if argv is None else argv)
    sweep_dir = Path(args.dir)
    if not sweep_dir.is_dir():
        raise ReportError(f"{sweep_dir}: no such directory (the --out of launch/scaling.sh)")
    sweep = read_json(sweep_dir / "sweep.json") if (sweep_dir / "sweep.json").exists() else {}
    notes: list[str] = []
    runs = complete_runs(sweep_dir, sweep, notes)
    if not runs and notes:
        raise ReportError(f"{sweep_dir}: no complete run of this sweep to report ({'; '.join(notes)})")
    if not runs:
        raise ReportError(f"{sweep_dir}: no runs found (expected {sweep_dir}/strong/ranks<N>/metrics.jsonl "
                          f"or {sweep_dir}/weak/ranks<N>/metrics.jsonl)")
    pred = read_prediction(Path(args.model_prediction)) if args.model_prediction else None
    if args.warmup is not None:
        warmup = args.warmup
    elif isinstance(sweep.get("warmup"), int):
        warmup = sweep["warmup"]
    else:
        warmup = -1  # decided per run below: 10 % of its steps
    if args.warmup is not None and args.warmup < 0:
        raise ReportError("--warmup must be >= 0")

    cores = int(sweep.get("cores") or os.cpu_count() or 1)
    results: dict[str, list[dict]] = {}
    for mode, dirs in runs.items():
        rows = []
        for d in dirs:
            w = warmup
            if w < 0:
                n_train = sum(1 for r in read_metrics(d / "metrics.jsonl") if r.get("type") == "train")
                w = n_train // 10
            row = summarize_run(d, mode, w)
            per_host = row["max_ranks_per_host"] or row["ranks"]
            threads = row["threads_per_rank"] if isinstance(row["threads_per_rank"], int) else 1
            # Ranks on other hosts (a hostfile, srun): this host's cores say nothing about them.
            row["oversubscribed"] = not sweep.get("multi_host") and per_host * max(threads, 1) > cores
            row["cores_per_host"] = cores
            rows.append(row)
            note = noise_note(row)
            if note:
                row["noisy"] = True
                notes.append(note)
        add_scaling(rows, mode, pred)
        results[mode] = rows
    if warmup < 0:
        warmup = min(r["steps"] - r["steps_measured"] for rows in results.values() for r in rows)

    with_pred = pred is not None
    md = sweep_dir / "scaling.md"
    if pred is not None:
        reported = {(m, r["ranks"]) for m, rows in results.items() for r in rows}
        if not any((m, n) in reported for m, by_ranks in pred.items() for n in by_ranks):
            notes.append(f"{args.model_prediction}: none of its rank counts matches a run: no predictions shown")
    for note in notes:
        print(f"report.py: warning: {note}", file=sys.stderr)
    write_markdown(md, sweep, results, warmup, with_pred, args.model_prediction, notes)
    report = {
        "sweep": sweep,
        "warmup": warmup,
        "cores_per_host": cores,
        "definitions": {
            "samples_per_s": "global batch / median step time",
            "speedup": "samples_per_s / samples_per_s of the smallest rank count of the mode",
            "efficiency": "speedup / (ranks / baseline ranks)",
            "exposed_share": "median over the measured steps of exposed_comm_ms / step_ms",
            "exposed_share_total": "sum(exposed_comm_ms) / sum(step_ms) over the measured steps",
            "prediction_error_pct": "(predicted - measured) / measured * 100",
        },
        "model_prediction": args.model_prediction,
        "warnings": notes,
        "results": results,
    }
    js = sweep_dir / "scaling.json"
    js.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"report.py: wrote {md} and {js}", file=sys.stderr)
    if args.no_plots:
        return 0
    if not bl.has_matplotlib():
        tried = ", ".join([sys.executable] + bl.python_candidates())
        print(f"report.py: error: the plots need matplotlib, and no Python interpreter with it was found "
              f"(tried {tried}); {bl.MATPLOTLIB_HINT}, then rerun: launch/report.py {sweep_dir}", file=sys.stderr)
        return 1
    any_row = next(r for rows in results.values() for r in rows)
    title = f"{any_row.get('model_shape') or any_row.get('model')}, {sweep.get('host') or os.uname().nodename}"
    for p in write_plots(sweep_dir, results, cores, title, with_pred):
        print(f"report.py: wrote {p}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ReportError as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        sys.exit(2)
