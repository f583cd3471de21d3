#!/usr/bin/env python3
"""GPU step time of dptrain vs PyTorch on the same GPU (JSON on stdout and in a file,
a Markdown table on stderr).

For each global batch in --batches (default 128, 1024, 8192) it runs

  dptrain (1 rank; --comm auto moves no gradients at one rank, as PyTorch on one GPU does not):
                     mpirun -n 1 [launch/mpi-env.sh flags] --bind-to none DPTRAIN --device cuda
                     --comm auto --gpu-data resident --model mlp --hidden 256,128 --batch-size B --steps W+S
                     --lr 1e-3 --lr-schedule constant --optimizer adamw ... --progress none
                     --check-every 0 --run-dir RUN
  PyTorch (in this process, torch on the same GPU): the same MLP (784-256-128-10, ReLU),
                     softmax cross-entropy (mean), AdamW(lr=1e-3, betas=(0.9, 0.999),
                     eps=1e-8, weight_decay=0), the same data resident on the GPU, a
                     random permutation per epoch and X[idx] gathers, W+S steps.

and compares the MEDIAN step time over the S steps after the W warm-up steps. Both sides
also report the loop time per step over all W+S steps (loop_ms_per_step), a check on the
per-step timers. The JSON is rewritten after every batch size, so a run cut short keeps
what it measured; a batch size whose dptrain run fails still gets its PyTorch times (and
"dptrain_error"), one whose PyTorch eager run fails goes to "failed_batches".

  dptrain  - "step_ms" of the per-step "train" records of RUN/metrics.jsonl (written for
             every step; --log-every only paces progress lines): gather + forward/backward
             + all-reduce + Adam, as timed on rank 0, full batches only (dptrain keeps an
             epoch's shorter last batch; PyTorch here never takes one; the JSON counts the
             ones left out). dptrain reads each step's loss back
             to the host, so a step's time includes the device work. As a cross-check the
             report also gives the loop time per step from the "eval" records' epoch_s
             (shuffle and bookkeeping included, evaluation excluded).
  PyTorch  - time.perf_counter() around one step: gather, forward, backward, optimizer
             step, loss.item() and torch.cuda.synchronize(); the per-epoch permutation is
             drawn outside the timed region, as dptrain shuffles outside its step timer.
             fp32 with TF32 OFF (torch.backends.cuda.matmul.allow_tf32 = False, cuDNN too,
             float32 matmul precision "highest") unless --tf32 (then both sides use TF32).
             Variants: "eager" (AdamW(foreach=True), PyTorch's default on CUDA), "fused"
             (AdamW(fused=True)) and "graph" (the whole step captured once in a CUDA graph
             with fused, capturable AdamW, replayed per step); --variants picks.

ratio = dptrain median / PyTorch eager median (the project's target: <= 0.8), and
ratio_vs_best against the fastest PyTorch variant. Data: Fashion-MNIST when its IDX
files are in --data-dir (the default there, .deps/data/fashion-mnist, or the Debian
path), else synthetic (uniform pixels, random labels, 60000 x 784; written as NPY
files for dptrain). Exit status: 0 done, 1 a run failed, 2 no CUDA device / torch.cuda
(or bad arguments).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import benchlib as bl  # noqa: E402

TARGET_RATIO = 0.8
VARIANTS = ("eager", "fused", "graph")
REEXEC_MARK = "DPTRAIN_GPU_STEP_REEXEC"
DATA_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def default_data_dir() -> str:
    for d in (bl.repo_root() / ".deps" / "data" / "fashion-mnist", Path("/usr/share/datasets/fashion-mnist")):
        if all((d / f).is_file() for f in DATA_FILES):
            return str(d)
    return "/usr/share/datasets/fashion-mnist"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="GPU step time: dptrain --device cuda (1 rank) vs the same MLP training step in "
                    "PyTorch on the same GPU. One JSON object on stdout (and in --out); progress and a "
                    "Markdown table on stderr. Exit 2 without a CUDA device.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batches", default="128,1024,8192", help="global batch sizes, comma-separated")
    p.add_argument("--steps", type=int, default=300, help="measured steps per batch size (after the warm-up)")
    p.add_argument("--warmup", type=int, default=30, help="warm-up steps per run, left out of the statistics")
    p.add_argument("--quick", action="store_true", help="--steps 60 (unless given)")
    p.add_argument("--hidden", default="256,128", help="hidden widths of the MLP")
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (constant schedule on both sides)")
    p.add_argument("--seed", type=int, default=42, help="seed of both sides")
    p.add_argument("--data", choices=("auto", "fashion-mnist", "synthetic"), default="auto",
                   help="auto: Fashion-MNIST when its files are in --data-dir, else synthetic")
    p.add_argument("--data-dir", default=default_data_dir(), help="directory of the Fashion-MNIST IDX .gz files")
    p.add_argument("--tf32", action="store_true", help="allow TF32 on both sides (dptrain --tf32, torch allow_tf32)")
    p.add_argument("--variants", default="eager,fused,graph",
                   help="PyTorch variants to time: eager (default AdamW), fused (AdamW fused=True), "
                        "graph (whole step in a CUDA graph); eager is always run (it is the ratio's baseline)")
    p.add_argument("--dptrain", default="build/dptrain", help="dptrain binary (relative to the repo root)")
    p.add_argument("--comm", default="auto", help="dptrain --comm for the 1-rank run")
    p.add_argument("--bind", default="none", help="mpirun --bind-to for dptrain ('default': mpirun's own)")
    p.add_argument("--dptrain-args", default="", help="more dptrain arguments, split on spaces")
    p.add_argument("--skip-dptrain", action="store_true", help="time PyTorch only (no ratio)")
    p.add_argument("--out", default=None,
                   help="also write the JSON here (default: runs/gpu_step-<date>-<time>.json in the repo)")
    p.add_argument("--keep-runs", metavar="DIR", default=None,
                   help="keep the dptrain run directories under DIR (default: temporary, deleted)")
    p.add_argument("--timeout", type=float, default=300, help="seconds allowed per dptrain run")
    p.add_argument("--cpu-selftest", action="store_true",
                   help="testing this script on a machine without a GPU: dptrain --device cpu and torch on "
                        "the CPU; the numbers are NOT a GPU measurement (the JSON says selftest: true)")
    args = p.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        if "--steps" not in given and not any(a.startswith("--steps=") for a in given):
            args.steps = 60
    try:
        args.batch_list = [int(b) for b in args.batches.split(",") if b.strip()]
        args.hidden_list = [int(h) for h in args.hidden.split(",") if h.strip()]
    except ValueError:
        p.error("--batches and --hidden take comma-separated integers")
    if not args.batch_list or min(args.batch_list) < 1:
        p.error("--batches: batch sizes must be >= 1")
    if args.steps < 1 or args.warmup < 0:
        p.error("need --steps >= 1 and --warmup >= 0")
    args.variant_list = ["eager"] + [v.strip() for v in args.variants.split(",")
                                     if v.strip() and v.strip() != "eager"]
    for v in args.variant_list:
        if v not in VARIANTS:
            p.error(f"--variants: unknown variant {v!r} (expected {', '.join(VARIANTS)})")
    return args


# ---------------------------------------------------------------- torch and the device

def import_torch():
    """torch from this interpreter, else re-executes under an interpreter that has it."""
    try:
        import numpy  # noqa: F401
        import torch
        return torch
    except ImportError as e:
        if os.environ.get(REEXEC_MARK):
            raise SystemExit2(f"no usable torch: {e}")
        try:
            python = bl.torch_python(None)
        except SystemExit as e2:
            # benchlib's message starts with "error:" and names other scripts' --python.
            msg = str(e2).removeprefix("error: ").replace(" or pass --python", " or set $PYTHON")
            raise SystemExit2(msg)
        if os.path.realpath(python) == os.path.realpath(sys.executable):
            raise SystemExit2(f"no usable torch: {e}")
        bl.log(f"[gpu_step] {sys.executable} has no torch/numpy; re-running under {python}")
        os.environ[REEXEC_MARK] = "1"
        os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


class SystemExit2(Exception):
    """No GPU / no torch.cuda: exit status 2 with one clear line."""


def nvidia_smi_info() -> dict:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,compute_cap",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            name, driver, mem, cap = [x.strip() for x in out.stdout.strip().splitlines()[0].split(",")][:4]
            return {"name": name, "driver": driver, "memory": mem, "compute_cap": cap}
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return {}


def device_info(torch, device) -> dict:
    info = {"torch_version": torch.__version__, "torch_cuda": torch.version.cuda, "device": str(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update({"name": props.name, "capability": f"{props.major}.{props.minor}",
                     "multiprocessors": props.multi_processor_count,
                     "memory_gib": round(props.total_memory / 2**30, 1)})
        info.update({f"smi_{k}": v for k, v in nvidia_smi_info().items()})
    else:
        info["name"] = f"CPU ({bl.cpu_model()})"
    return info


def tf32_state(torch) -> dict:
    """What the process really uses: the legacy switches, the newer fp32_precision settings
    where this PyTorch has them, and the driver-level override."""
    st = {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
          "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
          "float32_matmul_precision": torch.get_float32_matmul_precision(),
          "NVIDIA_TF32_OVERRIDE": os.environ.get("NVIDIA_TF32_OVERRIDE")}
    try:  # PyTorch >= 2.9; older versions raise on unknown attributes
        st["matmul_fp32_precision"] = str(torch.backends.cuda.matmul.fp32_precision)
    except (AttributeError, AssertionError, RuntimeError):
        pass
    return st


# ---------------------------------------------------------------- data

def load_data(args) -> dict:
    """{"kind", "x", "y", "x_test", "y_test"} as numpy arrays (float32 in [0, 1], int64)."""
    import numpy as np
    have_fmnist = all((Path(args.data_dir) / f).is_file() for f in DATA_FILES)
    kind = args.data
    if kind == "auto":
        kind = "fashion-mnist" if have_fmnist else "synthetic"
        if not have_fmnist:
            bl.log(f"[gpu_step] Fashion-MNIST not found in {args.data_dir}: using synthetic data")
    if kind == "fashion-mnist":
        if not have_fmnist:
            raise SystemExit(f"error: --data fashion-mnist: the IDX .gz files are not in {args.data_dir}")
        import pytorch_mlp  # noqa: E402  (its IDX reader; imports torch only inside functions)
        d = Path(args.data_dir)

        def split(stem):
            img = pytorch_mlp.read_idx_gz(d / f"{stem}-images-idx3-ubyte.gz")
            lab = pytorch_mlp.read_idx_gz(d / f"{stem}-labels-idx1-ubyte.gz")
            return (img.reshape(img.shape[0], -1).astype(np.float32) / np.float32(255.0),
                    lab.astype(np.int64))
        x, y = split("train")
        xt, yt = split("t10k")
    else:
        rng = np.random.default_rng(args.seed)
        x = rng.random((60000, 784), dtype=np.float32)
        y = rng.integers(0, 10, size=60000, dtype=np.int64)
        y[:10] = np.arange(10)  # every class present: dptrain infers 10 classes
        xt = rng.random((1000, 784), dtype=np.float32)
        yt = rng.integers(0, 10, size=1000, dtype=np.int64)
    return {"kind": kind, "x": x, "y": y, "x_test": xt, "y_test": yt}


def dptrain_data_args(args, data: dict, scratch: Path) -> list[str]:
    if data["kind"] == "fashion-mnist":
        return ["--data", "fashion-mnist", "--data-dir", str(Path(args.data_dir).resolve())]
    import numpy as np
    files = {}
    for key in ("x", "y", "x_test", "y_test"):
        files[key] = scratch / f"synthetic-{key}.npy"
        np.save(files[key], np.ascontiguousarray(data[key]))
    return ["--data", f"npy:{files['x']},{files['y']}", "--test-data", f"npy:{files['x_test']},{files['y_test']}"]


# ---------------------------------------------------------------- statistics

def step_stats(ms: list[float]) -> dict:
    return {"median": bl.rounded(bl.median(ms)), "mean": bl.rounded(bl.mean(ms)),
            "p10": bl.rounded(bl.percentile(ms, 10)), "p90": bl.rounded(bl.percentile(ms, 90)),
            "min": bl.rounded(min(ms)), "max": bl.rounded(max(ms)), "n": len(ms)}


# ---------------------------------------------------------------- dptrain

def run_dptrain(args, dptrain: Path, batch: int, data_args: list[str], run_dir: Path) -> dict:
    # On the GPU the data set stays resident (batches gathered on the device), as PyTorch's does.
    dp_args = (data_args + ["--device", "cpu" if args.cpu_selftest else "cuda"] +
               ([] if args.cpu_selftest else ["--comm", args.comm, "--gpu-data", "resident"]) +
               ["--model", "mlp", "--hidden", args.hidden, "--batch-size", str(batch),
                "--steps", str(args.warmup + args.steps), "--lr", repr(args.lr), "--lr-schedule", "constant",
                "--warmup-steps", "0", "--optimizer", "adamw", "--weight-decay", "0", "--beta1", "0.9",
                "--beta2", "0.999", "--eps", "1e-8", "--seed", str(args.seed), "--progress", "none",
                "--check-every", "0"] +
               (["--tf32"] if args.tf32 else []) + args.dptrain_args.split())
    run = bl.run_dptrain(dptrain, 1, dp_args, run_dir, bind=args.bind, timeout_s=args.timeout)
    cfg = run["config"]
    want = "cpu" if args.cpu_selftest else "cuda"
    if cfg.get("device") not in (None, want):
        raise SystemExit(f"error: dptrain ran with device {cfg.get('device')!r}, expected {want!r} ({run_dir}/config.json)")
    train = run["train"]
    if len(train) != args.warmup + args.steps:
        raise SystemExit(f"error: {run_dir}/metrics.jsonl has {len(train)} train records, "
                         f"expected {args.warmup + args.steps}")
    # dptrain keeps an epoch's last, shorter batch; PyTorch here never takes one: compare
    # full batches only.
    after_warmup = [r for r in train if r["step"] > args.warmup]
    measured = [r for r in after_warmup if r.get("samples", batch) == batch]
    if not measured:
        raise SystemExit(f"error: {run_dir}/metrics.jsonl: no full batch of {batch} rows after the warm-up")
    step_ms = [r["step_ms"] for r in measured]
    phases = {ph: bl.rounded(bl.median([r.get(k, 0.0) for r in measured]))
              for ph, k in (("data", "data_ms"), ("compute", "compute_ms"),
                            ("comm", "exposed_comm_ms"), ("optim", "optim_ms"))}
    # Cross-check of the step timer: the epoch stopwatch (loop, shuffle and bookkeeping
    # included) over all steps of the run, against the mean of the per-step times.
    loop_s = sum(e.get("epoch_s", 0.0) for e in run["eval"])
    all_ms = [r["step_ms"] for r in train]
    return {
        "step_ms": step_stats(step_ms),
        "partial_batches_left_out": len(after_warmup) - len(measured),
        "gpu_data": cfg.get("gpu-data"),
        "phase_ms_median": phases,
        "loop_ms_per_step": bl.rounded(1e3 * loop_s / len(train)) if run["eval"] else None,
        "mean_step_ms_all_steps": bl.rounded(bl.mean(all_ms)),
        "final_loss": bl.rounded(train[-1]["loss"], 6),
        "device": cfg.get("device"), "comm": cfg.get("comm"), "tf32": cfg.get("tf32"),
        "wall_s": bl.rounded(run["wall_s"], 3),
        "cmd": " ".join(run["cmd"]),
    }


# ---------------------------------------------------------------- PyTorch

def time_pytorch(torch, device, args, data_t: dict, batch: int, variant: str) -> dict:
    from torch import nn
    torch.manual_seed(args.seed)
    x, y = data_t["x"], data_t["y"]
    n = x.shape[0]
    widths = [x.shape[1]] + args.hidden_list + [int(data_t["classes"])]
    layers: list = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).to(device)
    loss_fn = nn.CrossEntropyLoss()
    opt_kw = dict(lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    if variant == "eager":
        opt_kw["foreach"] = True  # PyTorch's default on CUDA today; pinned so the baseline cannot move
    elif variant == "fused":
        opt_kw["fused"] = True
    elif variant == "graph":
        opt_kw.update(fused=True, capturable=True)
    opt = torch.optim.AdamW(model.parameters(), **opt_kw)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    # Batches of exactly `batch` rows from a fresh permutation each epoch (drawn outside
    # the timed region); a tail shorter than a batch starts the next epoch.
    state = {"perm": None, "pos": n}

    def next_idx():
        if state["pos"] + batch > n:
            state["perm"] = torch.randperm(n, generator=gen, device=device)
            state["pos"] = 0
        idx = state["perm"][state["pos"]:state["pos"] + batch]
        state["pos"] += batch
        return idx

    total = args.warmup + args.steps
    times: list[float] = []
    losses: list[float] = []
    loop_t0 = time.perf_counter()
    if variant in ("eager", "fused"):
        for _ in range(total):
            idx = next_idx()
            sync()
            t0 = time.perf_counter()
            xb, yb = x[idx], y[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            sync()
            times.append(1e3 * (time.perf_counter() - t0))
    else:
        if device.type != "cuda":
            raise RuntimeError("CUDA graphs need a CUDA device")
        static_idx = next_idx().clone()

        def step_body():
            out = loss_fn(model(x[static_idx]), y[static_idx])
            out.backward()
            opt.step()
            return out
        # Warm up on a side stream before capture (PyTorch's whole-network capture recipe).
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                step_body()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            static_loss = step_body()
        sync()
        for _ in range(total):
            idx = next_idx()
            sync()
            t0 = time.perf_counter()
            static_idx.copy_(idx)
            graph.replay()
            losses.append(static_loss.item())
            sync()
            times.append(1e3 * (time.perf_counter() - t0))
    loop_ms = 1e3 * (time.perf_counter() - loop_t0) / total
    measured = times[args.warmup:]
    return {"step_ms": step_stats(measured), "loop_ms_per_step": bl.rounded(loop_ms),
            "final_loss": bl.rounded(losses[-1], 6),
            "optimizer": {k: v for k, v in opt_kw.items() if k in ("foreach", "fused", "capturable")}}


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bl.sigterm_as_interrupt()  # a time limit's SIGTERM still writes what was measured
    try:
        torch = import_torch()
        if args.cpu_selftest:
            device = torch.device("cpu")
            bl.log("[gpu_step] --cpu-selftest: everything on the CPU; these numbers are NOT a GPU measurement")
        else:
            if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
                raise SystemExit2(f"torch {torch.__version__} sees no CUDA device "
                                  f"(torch.version.cuda={torch.version.cuda}, CUDA_VISIBLE_DEVICES="
                                  f"{os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}); run this on a GPU machine")
            device = torch.device("cuda", 0)
    except SystemExit2 as e:
        print(f"gpu_step.py: error: {e}", file=sys.stderr)
        return 2

    # fp32 unless --tf32: the same arithmetic as dptrain's default (cuBLAS without TF32).
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.set_float32_matmul_precision("high" if args.tf32 else "highest")

    dptrain = None if args.skip_dptrain else bl.resolve_dptrain(args.dptrain)
    machine = bl.machine_info()
    gpu = device_info(torch, device)
    bl.log(f"[gpu_step] device: {gpu.get('name')}, torch {torch.__version__} (CUDA {torch.version.cuda}), "
           f"TF32 {'on' if args.tf32 else 'off'}, batches {args.batch_list}, {args.warmup} warm-up + "
           f"{args.steps} measured steps each")

    data = load_data(args)
    x = torch.from_numpy(data["x"]).to(device)
    y = torch.from_numpy(data["y"]).to(device)
    data_t = {"x": x, "y": y, "classes": int(data["y"].max()) + 1}
    keep = Path(args.keep_runs).resolve() if args.keep_runs else None
    scratch = Path(tempfile.mkdtemp(prefix="dptrain-gpu-step-"))
    out = Path(args.out) if args.out else bl.repo_root() / "runs" / time.strftime("gpu_step-%Y%m%d-%H%M%S.json")
    results: list[dict] = []
    failed_batches: list[dict] = []  # batches without a PyTorch eager time (no ratio possible)
    broken: dict[str, str] = {}  # optional PyTorch variants that failed once are not retried
    state = {"failed": False, "interrupted": False}
    # The parts of the report that do not change between batches: asked for once.
    dptrain_info = None if dptrain is None else {"binary": str(dptrain), **bl.git_info()}
    tf32_now = tf32_state(torch)

    def report() -> dict:
        with_ratio = [r for r in results if "ratio" in r]
        return {
            "benchmark": "gpu_step",
            "selftest": args.cpu_selftest,
            "complete": not state["failed"] and not state["interrupted"] and len(results) == len(args.batch_list),
            "interrupted": state["interrupted"],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "device_name": gpu.get("name"),
            "gpu": gpu,
            "machine": machine,
            "dptrain": dptrain_info,
            "config": {"batches": args.batch_list, "steps": args.steps, "warmup": args.warmup,
                       "model": f"mlp {'-'.join(map(str, [784] + args.hidden_list + [10]))}",
                       "optimizer": f"adamw lr={args.lr} betas=(0.9,0.999) eps=1e-8 wd=0, constant schedule",
                       "loss": "softmax cross-entropy (mean)", "data": data["kind"],
                       "data_dir": args.data_dir if data["kind"] == "fashion-mnist" else None,
                       "tf32": args.tf32, "tf32_state": tf32_now, "comm": args.comm, "bind": args.bind,
                       "seed": args.seed, "variants": args.variant_list,
                       "statistic": "median step time after the warm-up, full batches only"},
            "target_ratio": TARGET_RATIO,
            "all_meet_target": bool(with_ratio) and all(r["meets_target"] for r in with_ratio),
            "results": results,
            "failed_batches": failed_batches,
        }

    def write_report(final: bool) -> str:
        """After every batch (a run cut short keeps what it measured) and at the end; returns
        the JSON text."""
        text = json.dumps(report(), indent=2) + "\n"
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".part")
            tmp.write_text(text)
            tmp.replace(out)
            if final:
                bl.log(f"[gpu_step] report written to {out}")
        except OSError as e:
            bl.log(f"[gpu_step] warning: cannot write {out}: {e}")
        return text

    def one_line(e: BaseException) -> str:
        return ((str(e).splitlines() or [type(e).__name__])[0] or type(e).__name__)[:300]

    try:
        data_args = [] if dptrain is None else dptrain_data_args(args, data, scratch)
        for batch in args.batch_list:
            if batch > x.shape[0]:
                failed_batches.append({"batch": batch, "error": f"larger than the data set ({x.shape[0]} rows)"})
                state["failed"] = True
                continue
            res: dict = {"batch": batch}
            if dptrain is not None:
                bl.log(f"[gpu_step] batch {batch}: dptrain")
                try:
                    res["dptrain"] = run_dptrain(args, dptrain, batch, data_args,
                                                 (keep or scratch) / f"dptrain-b{batch}")
                    res["dptrain_ms"] = res["dptrain"]["step_ms"]["median"]
                except (Exception, SystemExit) as e:  # noqa: BLE001  the PyTorch side still runs
                    res["dptrain_error"] = one_line(e)
                    bl.log(f"[gpu_step] batch {batch}: dptrain failed: {res['dptrain_error']}")
                    state["failed"] = True
            res["pytorch"] = {}
            for variant in args.variant_list:
                bl.log(f"[gpu_step] batch {batch}: PyTorch {variant}")
                if variant in broken:
                    res["pytorch"][variant] = {"error": f"not run: failed at an earlier batch ({broken[variant]})"}
                    continue
                try:
                    res["pytorch"][variant] = time_pytorch(torch, device, args, data_t, batch, variant)
                except Exception as e:  # noqa: BLE001  an optional variant may be unsupported
                    msg = one_line(e)
                    bl.log(f"[gpu_step] PyTorch {variant} failed: {msg}")
                    res["pytorch"][variant] = {"error": msg}
                    broken[variant] = msg
                    if device.type == "cuda":
                        torch.cuda.synchronize()  # surface a broken context here, not in the next run
            ok = {v: r["step_ms"]["median"] for v, r in res["pytorch"].items() if "step_ms" in r}
            if "eager" not in ok:
                res["error"] = f"PyTorch eager failed: {res['pytorch']['eager'].get('error')}"
                failed_batches.append(res)
                state["failed"] = True
                write_report(final=False)
                continue
            res["pytorch_ms"] = ok["eager"]
            best = min(ok, key=ok.get)
            res["pytorch_best_ms"], res["pytorch_best_variant"] = ok[best], best
            if "dptrain_ms" in res:
                res["ratio"] = bl.rounded(res["dptrain_ms"] / res["pytorch_ms"])
                res["ratio_vs_best"] = bl.rounded(res["dptrain_ms"] / res["pytorch_best_ms"])
                res["meets_target"] = res["ratio"] <= TARGET_RATIO
                res["meets_target_vs_best"] = res["ratio_vs_best"] <= TARGET_RATIO
            results.append(res)
            write_report(final=False)
            bl.log(f"[gpu_step] batch {batch}: dptrain {res.get('dptrain_ms')} ms, PyTorch eager "
                   f"{res['pytorch_ms']} ms, best {best} {res['pytorch_best_ms']} ms, ratio {res.get('ratio')}")
    except KeyboardInterrupt:
        # SIGINT, or SIGTERM from a time limit (turned into this above): keep what was measured.
        bl.log("[gpu_step] interrupted: writing what was measured")
        state["interrupted"] = True
    except (Exception, SystemExit) as e:  # noqa: BLE001  anything else: still write what was measured
        bl.log(f"[gpu_step] error: {one_line(e)}")
        state["failed"] = True
    finally:
        bl.remove_tree(scratch)

    machine["loadavg_at_end"] = bl.loadavg()
    sys.stdout.write(write_report(final=True))
    failed = state["failed"] or state["interrupted"]

    bl.log("")
    bl.log(f"GPU step time, {gpu.get('name')}, median of {args.steps} steps, TF32 {'on' if args.tf32 else 'off'}"
           + (" (CPU SELF-TEST, not a GPU measurement)" if args.cpu_selftest else ""))
    bl.log("")
    bl.log(f"| batch | dptrain ms | PyTorch eager ms | ratio (target <= {TARGET_RATIO}) | "
           + " | ".join(f"PyTorch {v} ms" for v in args.variant_list[1:]) + (" | " if len(args.variant_list) > 1 else "")
           + "ratio vs best |")
    bl.log("|---:|---:|---:|---:|" + "---:|" * (len(args.variant_list) - 1) + "---:|")
    for r in results:
        cells = [str(r["batch"]), fmt(r.get("dptrain_ms")), fmt(r["pytorch_ms"]),
                 "-" if "ratio" not in r else f"{r['ratio']:.3f} {'ok' if r['meets_target'] else 'MISSED'}"]
        for v in args.variant_list[1:]:
            pr = r["pytorch"].get(v, {})
            cells.append(fmt(pr["step_ms"]["median"]) if "step_ms" in pr else "failed")
        cells.append("-" if "ratio_vs_best" not in r else f"{r['ratio_vs_best']:.3f} ({r['pytorch_best_variant']})")
        bl.log("| " + " | ".join(cells) + " |")
    for r in failed_batches:
        bl.log(f"batch {r['batch']}: FAILED: {r.get('error')}")
    for r in results:
        if "dptrain_error" in r:
            bl.log(f"batch {r['batch']}: dptrain FAILED: {r['dptrain_error']}")
    return 1 if failed else 0


def fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"


if __name__ == "__main__":
    sys.exit(main())
