#!/usr/bin/env python3
"""bench/gpu_step.py end to end on the CPU (--cpu-selftest), as far as a machine without a
GPU can take it:  gpu_step_selftest.py DPTRAIN SOURCE_DIR

1. Batches 99999 (larger than the data set), 128 and 8192, 3 warm-up + 5 measured steps:
   - exit status 1 (one batch failed) and the JSON still written, with both good batches
     (the failed one came first: it does not stop the others);
   - every good batch has dptrain and PyTorch eager times and a ratio;
   - at 8192, step 8 is the epoch's shorter last batch (60000 = 7 x 8192 + 2656): it is
     left out of dptrain's statistics (4 measured, 1 counted as left out);
   - 99999 is in failed_batches with a reason.
2. dptrain failing (an unknown flag): exit 1, the batch keeps its PyTorch time and says
   why dptrain failed, no ratio.
3. SIGTERM while it runs (as timeout(1) sends it): the JSON is still written, marked
   interrupted.
Exits 77 (skipped) when no Python interpreter has both torch and numpy (Debian:
python3-torch, in `launch/install-deps.sh test`).
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    dptrain, src = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.path.join(src, "bench"))
    import benchlib  # the benchmarks' own search for an interpreter with torch and numpy
    try:
        py = benchlib.torch_python(None)
    except SystemExit as e:
        print(f"{e}: skipping")
        return 77
    data_dir = "/usr/share/datasets/fashion-mnist"
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "gpu_step.json")
        if not os.path.exists(os.path.join(data_dir, "train-images-idx3-ubyte.gz")):
            print(f"no Fashion-MNIST in {data_dir} (Debian: dataset-fashion-mnist): skipping")
            return 77

        def cmd(out, batches, *extra):
            return [py, os.path.join(src, "bench", "gpu_step.py"), "--cpu-selftest", "--batches", batches,
                    "--warmup", "3", "--steps", "5", "--variants", "eager", "--dptrain", dptrain,
                    "--data", "fashion-mnist", "--data-dir", data_dir, "--out", out, "--timeout", "120", *extra]

        p = subprocess.run(cmd(out, "99999,128,8192"), capture_output=True, text=True, timeout=280)
        print(p.stderr[-3000:])
        if p.returncode != 1:
            fail(f"exit status {p.returncode}, expected 1 (batch 99999 cannot run)")
        if not os.path.exists(out):
            fail("no JSON written")
        r = json.load(open(out))
        check_main(r)

        # 2. dptrain fails: PyTorch's time is kept, the reason is recorded.
        out2 = os.path.join(tmp, "bad-dptrain.json")
        p = subprocess.run(cmd(out2, "128", "--dptrain-args=--no-such-flag"), capture_output=True, text=True,
                           timeout=280)
        if p.returncode != 1 or not os.path.exists(out2):
            fail(f"dptrain failing: exit {p.returncode}, JSON written: {os.path.exists(out2)}")
        x = json.load(open(out2))["results"]
        if len(x) != 1 or "dptrain_error" not in x[0] or not x[0].get("pytorch_ms") or "ratio" in x[0]:
            fail(f"dptrain failing: results = {x}")
        print(f"ok: a failing dptrain run is recorded: {x[0]['dptrain_error'][:100]}")

        # 3. SIGTERM in the middle: what was measured is written, marked interrupted.
        out3 = os.path.join(tmp, "term.json")
        proc = subprocess.Popen(cmd(out3, "128,128,128,128,128,128", "--steps", "500"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and not os.path.exists(out3):  # the first batch is done
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("gpu_step.py did not end within 60 s of SIGTERM")
        if not os.path.exists(out3):
            fail(f"SIGTERM: no JSON (exit {proc.returncode}): {err[-1000:]}")
        t = json.load(open(out3))
        if not t.get("interrupted") or t.get("complete") or len(t["results"]) < 1:
            fail(f"SIGTERM: interrupted={t.get('interrupted')} complete={t.get('complete')} "
                 f"results={len(t['results'])}")
        print(f"ok: SIGTERM after {len(t['results'])} batch(es): JSON kept, marked interrupted")
    print("PASS")
    return 0


def check_main(r):
    if r.get("complete") is not False or not r.get("selftest"):
        fail(f"complete={r.get('complete')} selftest={r.get('selftest')}")
    by_batch = {x["batch"]: x for x in r["results"]}
    if sorted(by_batch) != [128, 8192]:
        fail(f"results for batches {sorted(by_batch)}, expected [128, 8192]")
    for b, x in by_batch.items():
        for key in ("dptrain_ms", "pytorch_ms", "ratio"):
            if not isinstance(x.get(key), (int, float)) or x[key] <= 0:
                fail(f"batch {b}: {key} = {x.get(key)}")
        if x["pytorch"]["eager"].get("optimizer") != {"foreach": True}:
            fail(f"batch {b}: eager optimizer {x['pytorch']['eager'].get('optimizer')}")
    d = by_batch[8192]["dptrain"]
    if d["partial_batches_left_out"] != 1 or d["step_ms"]["n"] != 4:
        fail(f"batch 8192: {d['partial_batches_left_out']} left out, {d['step_ms']['n']} measured; expected 1 and 4")
    if by_batch[128]["dptrain"]["partial_batches_left_out"] != 0:
        fail("batch 128: a full batch was left out")
    failed = r.get("failed_batches", [])
    if [x["batch"] for x in failed] != [99999] or "larger than the data set" not in failed[0].get("error", ""):
        fail(f"failed_batches = {failed}")
    print("ok: batches 128 and 8192 measured after 99999 failed; 1 partial batch left out at 8192")


if __name__ == "__main__":
    sys.exit(main())
