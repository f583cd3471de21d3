#!/usr/bin/env python3
"""dptrain's default run, written in PyTorch on the CPU, as the reference to beat.

Same model and hyperparameters as `dptrain --data fashion-mnist` with its defaults:
  MLP 784-256-128-10 (ReLU), PyTorch's default nn.Linear init (U(-1/sqrt(fan_in), +..),
  the distribution dptrain draws from), softmax cross-entropy (mean over the batch),
  AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0), per-step cosine
  schedule to 0 over all steps (lr_t = 0.5*lr*(1+cos(pi*t/T)), t = steps taken),
  global batch 128 reshuffled every epoch, the last partial batch kept (469 steps/epoch),
  pixels scaled to [0, 1].
The data is read once from the IDX .gz files (gzip + numpy) into tensors; each step
gathers its rows by index (X[idx]), as dptrain gathers rows into its batch buffer. No
DataLoader, no worker processes.

Threads: torch.set_num_threads(--threads) sets the OpenMP pool; the GEMMs of Debian's
torch go to OpenBLAS, whose own pool ignores torch.set_num_threads, so this script also
sets OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) before importing torch.

Prints one JSON object on stdout: per-epoch training time (the training loop only,
evaluation excluded), total training time, and test loss/accuracy after every epoch.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

FALLBACK_PYTHON = "/usr/bin/python3"
REEXEC_MARK = "DPTRAIN_BENCH_REEXEC"


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Train dptrain's default MLP on Fashion-MNIST in PyTorch (CPU) and print per-epoch "
                    "timings and test accuracy as JSON on stdout (progress on stderr).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=15, help="passes over the training data")
    p.add_argument("--threads", type=int, default=default_threads(),
                   help="torch.set_num_threads (default: the cores this process may run on)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OPENBLAS_NUM_THREADS set before importing torch (default: --threads)")
    p.add_argument("--batch-size", type=int, default=128, help="global batch size")
    p.add_argument("--hidden", default="256,128", help="hidden layer widths, comma-separated")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine schedule to 0)")
    p.add_argument("--seed", type=int, default=42, help="torch.manual_seed for init and shuffling")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                   help="directory of the Fashion-MNIST IDX .gz files")
    p.add_argument("--eval-batch-size", type=int, default=1000, help="rows per evaluation batch")
    p.add_argument("--hugepages", choices=("default", "on", "off"), default="default",
                   help="numpy's madvise(MADV_HUGEPAGE) for the data set arrays (the tensors share numpy's "
                        "memory): default = numpy's own choice (on for Linux >= 4.6); off = 4 KiB pages, "
                        "like dptrain's std::vector")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.threads < 1 or args.batch_size < 1:
        p.error("--epochs, --threads and --batch-size must be >= 1")
    if args.blas_threads is None:
        args.blas_threads = args.threads
    try:
        args.hidden_list = [int(h) for h in args.hidden.split(",") if h.strip()]
    except ValueError:
        p.error(f"--hidden: expected comma-separated integers, got {args.hidden!r}")
    return args


def import_torch():
    """Imports torch and numpy; re-executes this script under /usr/bin/python3 when the
    current interpreter lacks them (python3 on PATH may be a pyenv without torch)."""
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
        return
    except ImportError as e:
        if (os.environ.get(REEXEC_MARK) or not os.path.exists(FALLBACK_PYTHON)
                or os.path.realpath(sys.executable) == os.path.realpath(FALLBACK_PYTHON)):
            raise SystemExit(f"error: {e}; this script needs torch and numpy (Debian: python3-torch)")
        log(f"[pytorch] {sys.executable} has no torch/numpy; re-running under {FALLBACK_PYTHON}")
        os.environ[REEXEC_MARK] = "1"
        os.execv(FALLBACK_PYTHON, [FALLBACK_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])


def read_idx_gz(path: Path):
    """An IDX file (gzip-compressed) as a numpy array of its declared shape."""
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise SystemExit(f"error: {path}: not an IDX file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise SystemExit(f"error: {path}: unknown IDX type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != math.prod(dims):
        raise SystemExit(f"error: {path}: {data.size} values, header says {dims}")
    return data.reshape(dims)


def load_split(data_dir: Path, stem: str):
    import numpy as np
    import torch
    images = read_idx_gz(data_dir / f"{stem}-images-idx3-ubyte.gz")
    labels = read_idx_gz(data_dir / f"{stem}-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0))
    y = torch.from_numpy(labels.astype(np.int64))
    return x.contiguous(), y.contiguous()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Before torch (and its OpenBLAS / OpenMP runtimes) is loaded.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import_torch()
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    import numpy as np
    try:
        try:  # numpy >= 2 moved it (numpy.core still works there, with a warning)
            from numpy._core import multiarray as np_multiarray
        except ImportError:
            from numpy.core import multiarray as np_multiarray
        if args.hugepages != "default":
            np_multiarray._set_madvise_hugepage(args.hugepages == "on")
        numpy_hugepages = bool(np_multiarray._get_madvise_hugepage())
    except (ImportError, AttributeError):
        numpy_hugepages = None

    t0 = time.perf_counter()
    data_dir = Path(args.data_dir)
    x_train, y_train = load_split(data_dir, "train")
    x_test, y_test = load_split(data_dir, "t10k")
    data_load_s = time.perf_counter() - t0
    n = x_train.shape[0]
    features = x_train.shape[1]
    classes = int(y_train.max().item()) + 1

    widths = [features] + args.hidden_list + [classes]
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps_per_epoch = (n + args.batch_size - 1) // args.batch_size  # last partial batch kept
    total_steps = steps_per_epoch * args.epochs
    # LambdaLR evaluates the factor at t = number of scheduler.step() calls = steps taken.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * t / total_steps)))
    gen = torch.Generator().manual_seed(args.seed)

    def evaluate() -> tuple[float, float]:
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for s in range(0, x_test.shape[0], args.eval_batch_size):
                xb, yb = x_test[s:s + args.eval_batch_size], y_test[s:s + args.eval_batch_size]
                out = model(xb)
                loss_sum += nn.functional.cross_entropy(out, yb, reduction="sum").item()
                correct += int((out.argmax(dim=1) == yb).sum().item())
        model.train()
        return loss_sum / x_test.shape[0], correct / x_test.shape[0]

    log(f"[pytorch] torch {torch.__version__}, {torch.get_num_threads()} thread(s), OPENBLAS_NUM_THREADS="
        f"{os.environ['OPENBLAS_NUM_THREADS']}, MLP {'-'.join(map(str, widths))}, {n} samples, batch "
        f"{args.batch_size}, {total_steps} steps in {args.epochs} epoch(s)")
    epochs = []
    total_train_s = 0.0
    step = 0
    for epoch in range(args.epochs):
        loss_sum = 0.0
        last_loss = float("nan")
        t_epoch = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            xb = x_train[idx]  # gather the batch rows (a copy), like dptrain's gather_batch
            yb = y_train[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            last_loss = loss.item()  # dptrain also reads the loss back every step (metrics.jsonl)
            loss_sum += last_loss
        train_s = time.perf_counter() - t_epoch
        total_train_s += train_s
        test_loss, test_acc = evaluate()
        rec = {"epoch": epoch, "train_s": round(train_s, 4), "steps": steps_per_epoch,
               "train_loss_mean": round(loss_sum / steps_per_epoch, 6), "last_loss": round(last_loss, 6),
               "lr_next": opt.param_groups[0]["lr"], "test_loss": round(test_loss, 6),
               "test_accuracy": round(test_acc, 6)}
        epochs.append(rec)
        log(f"[pytorch] epoch {epoch + 1}/{args.epochs}: {train_s:.2f} s, train loss {rec['train_loss_mean']:.4f}, "
            f"test loss {test_loss:.4f}, test accuracy {test_acc:.4f}")

    train_times = [e["train_s"] for e in epochs]
    report = {
        "benchmark": "pytorch_mlp",
        "machine": {"cores": os.cpu_count(), "cores_allowed": default_threads(),
                    "cpu_model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo", errors="replace")
                                       if l.lower().startswith("model name")), None)},
        "torch": {"version": torch.__version__, "python": sys.executable, "num_threads": torch.get_num_threads(),
                  "num_interop_threads": torch.get_num_interop_threads(),
                  "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                  "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                  "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
                  "numpy_version": np.__version__,
                  "numpy_madvise_hugepage": numpy_hugepages,
                  "blas": next((part.split("=", 1)[1] for part in torch.__config__.show().replace(",", "\n").split()
                                if part.startswith("BLAS_INFO=")), None)},
        "config": {"epochs": args.epochs, "threads": args.threads, "blas_threads": args.blas_threads,
                   "batch_size": args.batch_size, "hidden": args.hidden_list, "widths": widths, "lr": args.lr,
                   "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "schedule": "cosine per step to 0",
                   "seed": args.seed, "data_dir": str(data_dir), "steps_per_epoch": steps_per_epoch,
                   "total_steps": total_steps, "zero_grad": "set_to_none",
                   "hugepages": args.hugepages},
        "data_load_s": round(data_load_s, 3),
        "epochs": epochs,
        "total_train_s": round(total_train_s, 4),
        "mean_epoch_s": round(total_train_s / len(epochs), 4),
        "median_epoch_s": round(statistics.median(train_times), 4),
        "final_test_accuracy": epochs[-1]["test_accuracy"],
        "final_test_loss": epochs[-1]["test_loss"],
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
