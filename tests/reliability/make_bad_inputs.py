#!/usr/bin/env python3
"""Writes small valid and broken data files for tests/reliability/reliability.sh.

Standard library only (struct, gzip). Usage: make_bad_inputs.py DIR
Valid:  x.npy (float32 [64, 6]), y.npy (int64 labels [64], classes 0..2),
        images.idx / labels.idx and their .gz versions (uint8 [40, 4, 4] and [40]).
Broken: one file per row of docs/reliability.md (names below).
"""
import gzip
import struct
import sys
from pathlib import Path


def npy(shape, descr, payload, fortran=False, magic=b"\x93NUMPY", header=None):
    if header is None:
        dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, dims)
    text = header.encode()
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    text += b" " * pad + b"\n"
    return magic + b"\x01\x00" + struct.pack("<H", len(text)) + text + payload


def idx(type_code, dims, payload, magic=b"\x00\x00"):
    return magic + bytes([type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    n, d = 64, 6
    xs = b"".join(struct.pack("<f", ((i * 7 + j * 3) % 11) / 11.0) for i in range(n) for j in range(d))
    ys = b"".join(struct.pack("<q", i % 3) for i in range(n))
    files = {
        "x.npy": npy((n, d), "<f4", xs),
        "y.npy": npy((n,), "<i8", ys),
        "x5.npy": npy((n, 5), "<f4", xs[: n * 5 * 4]),                     # feature width 5, not 6
        "y_big_label.npy": npy((n,), "<i8", ys[:-8] + struct.pack("<q", 7)),  # label 7
        "y_id_label.npy": npy((n,), "<i8", ys[:-8] + struct.pack("<q", 10**9)),  # an ID, not a class
        "y_float.npy": npy((n,), "<f4", b"".join(struct.pack("<f", i % 3) for i in range(n))),
        # NaN at row 10, column 3:
        "x_nan.npy": npy((n, d), "<f4", xs[: (10 * d + 3) * 4] + struct.pack("<f", float("nan")) + xs[(10 * d + 4) * 4 :]),
        "y_short.npy": npy((n - 1,), "<i8", ys[:-8]),                      # 63 targets for 64 rows
        "x_badmagic.npy": npy((n, d), "<f4", xs, magic=b"\x93NUMPX"),
        "x_badheader.npy": npy((n, d), "<f4", xs, header="{'descr': '<f4', 'fortran_order': False, 'shape': (64; 6), }"),
        "x_complex.npy": npy((n, d // 2), "<c8", xs),                      # unsupported dtype
        "x_fortran.npy": npy((n, d), "<f4", xs, fortran=True),
        "x_bigendian.npy": npy((n, d), ">f4", xs),
        "x_truncated.npy": npy((n, d), "<f4", xs)[:-100],
    }
    pixels = bytes((i * 37) % 256 for i in range(40 * 16))
    labels = bytes(i % 4 for i in range(40))
    files["images.idx"] = idx(0x08, (40, 4, 4), pixels)
    files["labels.idx"] = idx(0x08, (40,), labels)
    files["labels39.idx"] = idx(0x08, (39,), labels[:39])
    files["images_badmagic.idx"] = idx(0x08, (40, 4, 4), pixels, magic=b"\x01\x00")
    files["images_huge.idx"] = idx(0x08, (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), pixels)
    gz = gzip.compress(files["images.idx"], mtime=0)
    files["images.idx.gz"] = gz
    files["images_truncated.idx.gz"] = gz[: len(gz) // 2]
    corrupt = bytearray(gz)
    for k in range(20, 40):
        corrupt[k] ^= 0x5A
    files["images_corrupt.idx.gz"] = bytes(corrupt)
    for name, data in files.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
