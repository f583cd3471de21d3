#!/usr/bin/env python3
"""Renders a dptrain --trace file as a PNG timeline (matplotlib): one row per (rank, track),
one bar per event, so the overlap of the bucket all-reduces with backward is visible
without a browser.

  python3 bench/plot_trace.py trace.json timeline.png [--steps 3-4]
"""
import argparse
import json
import sys

import benchlib  # bench/, beside this script

TRACKS = {1: "data", 2: "compute", 3: "communication", 4: "optimizer"}
COLORS = {"gather batch": "#8c8c8c", "forward + backward": "#4c72b0", "wait for gradients": "#dd8452",
          "adam": "#55a868"}


def fail(msg: str) -> int:
    print(f"plot_trace.py: error: {msg}", file=sys.stderr)
    return 2


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trace")
    p.add_argument("png")
    p.add_argument("--steps", default=None, help="A-B: only these steps (default: all recorded)")
    p.add_argument("--title", default=None)
    args = p.parse_args()
    steps = None
    if args.steps:
        try:
            lo, hi = (int(x) for x in args.steps.split("-"))
            steps = (lo, hi)
        except ValueError:
            p.error(f"--steps wants A-B (e.g. 3-4), got '{args.steps}'")
    benchlib.reexec_with_matplotlib(__file__, sys.argv[1:])
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return fail(f"needs matplotlib: {benchlib.MATPLOTLIB_HINT}")
    try:
        with open(args.trace, encoding="utf-8") as f:
            trace = json.load(f)
    except OSError as e:
        return fail(f"{args.trace}: {e.strerror}")
    except json.JSONDecodeError as e:
        return fail(f"{args.trace}: not JSON ({e})")
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        return fail(f"{args.trace}: not a dptrain --trace file (no traceEvents)")
    events = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    recorded = sorted({e.get("args", {}).get("step", 0) for e in events})
    if steps:
        events = [e for e in events if steps[0] <= e.get("args", {}).get("step", 0) <= steps[1]]
    if not events:
        where = f"steps {recorded[0]}-{recorded[-1]}" if recorded else "no timed events"
        return fail(f"no events to plot{f' in steps {args.steps}' if steps else ''} (the trace has {where})")
    t0 = min(e["ts"] for e in events)
    ranks = sorted({e["pid"] for e in events})
    rows = [(r, t) for r in ranks for t in sorted(TRACKS)]
    fig, ax = plt.subplots(figsize=(12, 0.45 * len(rows) + 1.2))
    for y, (rank, track) in enumerate(rows):
        for e in (e for e in events if e["pid"] == rank and e["tid"] == track):
            name = e["name"]
            color = "#c44e52" if name.startswith("all_reduce") else COLORS.get(name, "#937860")
            ax.barh(y, e["dur"] / 1e3, left=(e["ts"] - t0) / 1e3, height=0.7, color=color, edgecolor="white",
                    linewidth=0.3)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"rank {r} {TRACKS[t]}" for r, t in rows])
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    ax.set_title(args.title or args.trace)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in list(COLORS.values()) + ["#c44e52"]]
    ax.legend(handles, list(COLORS) + ["all-reduce (one bar per bucket)"], loc="upper center",
              bbox_to_anchor=(0.5, -0.18), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    try:
        fig.savefig(args.png, dpi=110)
    except OSError as e:
        return fail(f"cannot write {args.png}: {e.strerror}")
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
