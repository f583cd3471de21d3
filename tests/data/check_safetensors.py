#!/usr/bin/env python3
"""Independent check of dptrain's safetensors export, with the Python standard library only.

Runs `data_interop write-safetensors FILE` and parses FILE by the safetensors spec
(8-byte little-endian header length N, N bytes of JSON padded with spaces, then the raw
little-endian tensor data; offsets relative to the data start): names, dtypes, shapes,
values, metadata, 8-byte alignment, layers.0 .. layers.11 in numeric order, contiguous
offsets covering the whole data section. With numpy (optional) the values are also read
with numpy.frombuffer, and with the `safetensors` package (optional) with safe_open.

Usage: check_safetensors.py PATH/TO/data_interop
Exit 0 = pass, 1 = fail.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

LAYERS = 12


def expected_tensors():
    """Must match write_safetensors_file() in interop_helper.cpp: (name, shape, values)."""
    out = []
    for l in range(LAYERS):
        for kind, suffix, shape in ((0, "weight", [l + 2, l + 3]), (1, "bias", [l + 2])):
            count = 1
            for d in shape:
                count *= d
            values = [(l * 1000 + kind * 500 + e % 401 - 200) / 8.0 for e in range(count)]
            out.append(("layers.%d.%s" % (l, suffix), shape, values))
    return out


def check(path):
    errors = []
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        return ["file has %d bytes" % len(blob)]
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8 != 0:
        errors.append("header length %d is not a multiple of 8" % n)
    if 8 + n > len(blob):
        return errors + ["header length %d exceeds the file" % n]
    text = blob[8:8 + n].decode("utf-8")
    if not text.rstrip(" ").endswith("}"):
        errors.append("the header is not a JSON object padded with trailing spaces")
    duplicates = []

    def no_duplicates(pairs):
        d = dict(pairs)  # insertion-ordered: keeps the file's key order
        if len(d) != len(pairs):
            duplicates.append([k for k, _ in pairs])
        return d

    header = json.loads(text, object_pairs_hook=no_duplicates)
    if duplicates:
        errors.append("duplicate keys in the header: %s" % duplicates)
    pairs = list(header.items())
    data = blob[8 + n:]

    meta = header.pop("__metadata__", None)
    want_meta = {"format": "pt", "producer": "dptrain data_interop", "config": '{"layers": 12}'}
    if meta != want_meta:
        errors.append("metadata %r != %r" % (meta, want_meta))

    order = [k for k, _ in pairs if k != "__metadata__"]
    expected = expected_tensors()
    want = {name: (shape, values) for name, shape, values in expected}
    if set(order) != set(want):
        errors.append("tensor names differ: %s" % sorted(set(order) ^ set(want)))
    # layers.0, layers.1, ..., layers.11 (numeric, not lexicographic: layers.10 after
    # layers.9); a layer's weight and bias together, in either order.
    layer_of = [int(name.split(".")[1]) for name in order if name.startswith("layers.")]
    if layer_of != sorted(layer_of) or len(layer_of) != len(order):
        errors.append("tensor order %s, expected layers.0 .. layers.%d" % (order, LAYERS - 1))

    position = 0
    for name in order:  # file order: the data must be contiguous in that same order
        t = header[name]
        if name not in want:
            continue
        shape, values = want[name]
        if t.get("dtype") != "F32":
            errors.append("%s: dtype %r" % (name, t.get("dtype")))
        if t.get("shape") != shape:
            errors.append("%s: shape %r != %r" % (name, t.get("shape"), shape))
        begin, end = t["data_offsets"]
        if begin != position:
            errors.append("%s: data starts at %d, expected %d (contiguous in header order)" % (name, begin, position))
        if end - begin != 4 * len(values):
            errors.append("%s: %d bytes for %d values" % (name, end - begin, len(values)))
            continue
        position = end
        got = list(struct.unpack("<%df" % len(values), data[begin:end]))
        if got != values:
            bad = [i for i, (a, b) in enumerate(zip(got, values)) if a != b]
            errors.append("%s: %d wrong values, first at %d: %r != %r" % (name, len(bad), bad[0], got[bad[0]], values[bad[0]]))
    if position != len(data):
        errors.append("the tensors cover %d of the %d data bytes" % (position, len(data)))

    try:
        import numpy as np
    except ImportError:
        print("numpy not installed: skipping the numpy.frombuffer cross-check")
    else:
        for name, shape, values in expected:
            if name not in header:
                continue
            begin, end = header[name]["data_offsets"]
            arr = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=begin).reshape(shape)
            if not np.array_equal(arr, np.array(values, dtype="<f4").reshape(shape)):
                errors.append("%s: numpy.frombuffer disagrees" % name)
        print("numpy.frombuffer cross-check done (numpy %s)" % np.__version__)

    try:
        from safetensors import safe_open
    except ImportError:
        print("safetensors package not installed: skipping the safe_open cross-check")
    else:
        with safe_open(path, framework="numpy") as st:
            if sorted(st.keys()) != sorted(name for name, _, _ in expected):
                errors.append("safe_open lists %s" % sorted(st.keys()))
            for name, shape, values in expected:
                if st.get_tensor(name).ravel().tolist() != values:
                    errors.append("%s: safe_open values differ" % name)
            if st.metadata() != want_meta:
                errors.append("safe_open metadata %r" % st.metadata())
        print("safetensors.safe_open cross-check done")
    return errors


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory(prefix="dptrain-st-") as tmp:
        path = os.path.join(tmp, "model.safetensors")
        r = subprocess.run([sys.argv[1], "write-safetensors", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            print(r.stdout, end="")
            print("FAIL: data_interop write-safetensors exited %d" % r.returncode)
            return 1
        leftovers = sorted(set(os.listdir(tmp)) - {"model.safetensors"})
        errors = check(path)
        if leftovers:
            errors.append("files left beside the export: %s" % leftovers)
    for e in errors:
        print("MISMATCH " + e)
    print("safetensors interop: %s (%d tensors)" % ("FAIL" if errors else "PASS", 2 * LAYERS))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
