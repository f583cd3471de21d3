"""Shared helpers of the dptrain benchmarks (standard library only).

- repo_root(), git_info(), machine_info(): provenance that goes into every JSON report.
- mpirun_prefix(): the mpirun command line for N ranks, with the flags this machine needs
  taken from launch/mpi-env.sh (sourced in bash, so there is one source of truth).
- run_dptrain(): one dptrain run under mpirun into a run directory, with a timeout; returns
  the parsed metrics.jsonl and config.json.
- torch_python(): an interpreter that can import torch (for pytorch_mlp.py).
- stats helpers (median, mean, percentiles) on plain lists.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

FALLBACK_PYTHON = "/usr/bin/python3"  # Debian's python3-torch / python3-numpy live here


# ------------------------------------------------------------------ an interpreter with matplotlib
MATPLOTLIB_HINT = ("install Debian's python3-matplotlib (`launch/install-deps.sh test` does) "
                   "or point $PYTHON at an interpreter that has matplotlib")
_REEXEC_ENV = "DPTRAIN_MATPLOTLIB_REEXEC"


def has_matplotlib() -> bool:
    try:
        import matplotlib
        return bool(matplotlib.__version__)
    except ImportError:
        return False


def python_candidates() -> list[str]:
    """Other interpreters to try, in order: $PYTHON, python3 on PATH, Debian's, /usr/local's."""
    cands = [os.environ.get("PYTHON"), shutil.which("python3"), "/usr/bin/python3", "/usr/local/bin/python3"]
    out, seen = [], {os.path.realpath(sys.executable)}
    for c in cands:
        if c and os.path.exists(c) and os.path.realpath(c) not in seen:
            seen.add(os.path.realpath(c))
            out.append(c)
    return out


def find_matplotlib_python() -> str | None:
    for c in python_candidates():
        try:
            if subprocess.run([c, "-c", "import matplotlib"], capture_output=True, timeout=60).returncode == 0:
                return c
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def reexec_with_matplotlib(script: str, argv: list[str]) -> None:
    """When this interpreter lacks matplotlib, runs `script argv` again under one that has
    it (once: the environment marks the second run) and does not return; otherwise returns."""
    if has_matplotlib() or os.environ.get(_REEXEC_ENV):
        return
    other = find_matplotlib_python()
    if other:
        os.environ[_REEXEC_ENV] = "1"
        os.execv(other, [other, os.path.abspath(script)] + list(argv))


def log(*parts: object) -> None:
    """Human-readable progress goes to stderr; stdout carries only the JSON report."""
    print(*parts, file=sys.stderr, flush=True)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def git_info() -> dict:
    root = repo_root()
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
        return {"commit": commit or None, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def loadavg() -> list[float] | None:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def allowed_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def thp_mode() -> str | None:
    """Transparent huge pages policy, e.g. 'madvise' (the bracketed entry)."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled", encoding="ascii") as f:
            text = f.read()
        return text[text.index("[") + 1:text.index("]")]
    except (OSError, ValueError):
        return None


# Environment variables that change how either trainer runs; recorded in every report.
RELEVANT_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_WAIT_POLICY",
                "GOMP_SPINCOUNT", "GLIBC_TUNABLES", "OMPI_MCA_hwloc_base_binding_policy")


def machine_info() -> dict:
    return {
        "cores": os.cpu_count(),
        "cores_allowed": allowed_cores(),
        "cpu_model": cpu_model(),
        "hostname": os.uname().nodename,
        "kernel": os.uname().release,
        "transparent_hugepages": thp_mode(),
        "env": {k: os.environ[k] for k in RELEVANT_ENV if k in os.environ},
        "loadavg_at_start": loadavg(),
    }


# ---------------------------------------------------------------- statistics

def mean(xs: list[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def percentile(xs: list[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def rounded(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


# ---------------------------------------------------------------- MPI / dptrain

def mpi_flags(ranks: int) -> tuple[list[str], dict[str, str]]:
    """(mpirun flags, environment additions) from launch/mpi-env.sh's dptrain_mpi_flags N."""
    script = repo_root() / "launch" / "mpi-env.sh"
    if script.is_file():
        probe = ('source "$1" && dptrain_mpi_flags "$2" && '
                 'for f in "${MPIRUN_FLAGS[@]}"; do printf "FLAG\\t%s\\n" "$f"; done; '
                 'for v in OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM; do '
                 '[[ -n "${!v-}" ]] && printf "ENV\\t%s=%s\\n" "$v" "${!v}"; done; true')
        out = subprocess.run(["bash", "-c", probe, "mpi-env", str(script), str(ranks)],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0:
            flags, env = [], {}
            for line in out.stdout.splitlines():
                kind, _, value = line.partition("\t")
                if kind == "FLAG":
                    flags.append(value)
                elif kind == "ENV":
                    k, _, v = value.partition("=")
                    env[k] = v
            return flags, env
        log(f"warning: sourcing {script} failed ({out.stderr.strip()}); using built-in defaults")
    # Same rules as launch/mpi-env.sh.
    flags, env = [], {}
    if os.geteuid() == 0:
        env = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    if ranks > (os.cpu_count() or 1):
        flags.append("--oversubscribe")
    return flags, env


def resolve_dptrain(path: str) -> Path:
    p = Path(path)
    if not p.is_absolute():
        p = repo_root() / p
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise SystemExit(f"error: dptrain binary not found or not executable: {p} "
                         "(build it: cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "
                         "-DDPTRAIN_BUILD_TESTS=OFF && ninja -C build dptrain; or pass --dptrain)")
    return p


def binding_flags(bind: str) -> list[str]:
    """'default' leaves mpirun's own policy (Open MPI: bind to core for <= 2 ranks, to
    socket/NUMA above, none when oversubscribed); anything else is passed as --bind-to."""
    return [] if bind == "default" else ["--bind-to", bind]


def read_jsonl(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    except ProcessLookupError:
        pass


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_interrupt() -> None:
    """From now on a SIGTERM (timeout(1), a batch system) raises KeyboardInterrupt in the
    main thread, as Ctrl-C does, so that the caller can end its mpirun session and keep
    what it measured (unless someone installed another handler)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)


def run_dptrain(dptrain: Path, ranks: int, args: list[str], run_dir: Path, *, bind: str = "default",
                extra_mpirun: list[str] | None = None, timeout_s: float = 3600) -> dict:
    """Runs `mpirun -n RANKS [flags] DPTRAIN ARGS --run-dir RUN_DIR` and returns
    {"cmd", "wall_s", "config", "train", "eval"} (train/eval: the metrics.jsonl records).
    RUN_DIR is the benchmark's own: an earlier run in it is removed first (dptrain refuses
    to start a new run over an old one)."""
    remove_tree(run_dir)
    flags, env_add = mpi_flags(ranks)
    cmd = (["mpirun", "-n", str(ranks)] + flags + binding_flags(bind) + (extra_mpirun or []) +
           [str(dptrain)] + args + ["--run-dir", str(run_dir)])
    env = dict(os.environ, **env_add)
    log("+ " + " ".join(cmd))
    # mpirun runs in a session of its own (so a timeout can end all of it): a SIGTERM to this
    # script (timeout(1), a batch system) must end that session too, as Ctrl-C does.
    sigterm_as_interrupt()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise SystemExit(f"error: dptrain did not finish within {timeout_s:.0f} s: {' '.join(cmd)}")
    except KeyboardInterrupt:
        _kill_group(proc)
        raise
    wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        log(output[-4000:])
        raise SystemExit(f"error: dptrain exited with status {proc.returncode}: {' '.join(cmd)}")
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    with open(run_dir / "config.json", encoding="utf-8") as f:
        config = json.load(f)
    return {
        "cmd": cmd,
        "env": env_add,
        "wall_s": wall_s,
        "config": config,
        "train": [r for r in metrics if r.get("type") == "train"],
        "eval": [r for r in metrics if r.get("type") == "eval"],
        "output": output,
    }


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- Python with torch

def _has_modules(python: str, modules: tuple[str, ...]) -> bool:
    probe = "import " + ", ".join(modules)
    try:
        return subprocess.run([python, "-c", probe], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def torch_python(preferred: str | None = None) -> str:
    """--python, else $PYTHON, else python3 on PATH; the first that imports torch and numpy,
    falling back to /usr/bin/python3 (Debian's python3-torch)."""
    candidates = [c for c in (preferred, os.environ.get("PYTHON"), shutil.which("python3"),
                              FALLBACK_PYTHON) if c]
    seen = set()
    for c in candidates:
        if c in seen:
            continue
        seen.add(c)
        if _has_modules(c, ("torch", "numpy")):
            return c
    raise SystemExit("error: no Python interpreter with torch and numpy found (tried "
                     + ", ".join(seen) + "); install python3-torch or pass --python")
