#!/usr/bin/env python3
"""NPY interoperability with numpy, both ways.

  numpy -> dptrain: numpy.save (and numpy.lib.format.write_array for v2/v3 headers) writes
  every dtype our reader supports, plus files it must refuse (Fortran order, big-endian,
  complex, bool, unicode, float16); `data_interop check-npy DIR` reads them with read_npy.
  dptrain -> numpy: `data_interop write-npy DIR` writes with write_npy; numpy.load reads.

Usage: npy_interop.py PATH/TO/data_interop
Exit 0 = pass, 1 = fail, 77 = skipped (numpy is not installed).
"""
import os
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import numpy as np
except ImportError:
    print("numpy is not installed for %s: skipping the NPY interoperability test" % sys.executable)
    sys.exit(SKIP)


def spec_ok(arr):
    lines = ["descr " + arr.dtype.str,
             "shape " + " ".join(str(d) for d in arr.shape),
             "values " + " ".join(repr(float(v)) if arr.dtype.kind == "f" else str(int(v))
                                  for v in arr.ravel(order="C"))]
    return "\n".join(lines) + "\n"


def numpy_to_dptrain(helper, tmp):
    arrays = {
        "f4_2x3": np.array([[1.5, -0.1, 3.4e38], [1e-45, -0.0, 7]], dtype="<f4"),
        "f8_5": np.array([1 / 3, -1e300, 5e-324, 0.0, 2.0 ** 60], dtype="<f8"),
        "u1_4": np.array([0, 1, 128, 255], dtype="|u1"),
        "i1_4": np.array([-128, -1, 0, 127], dtype="|i1"),
        "i2_2x2": np.array([[-32768, -2], [300, 32767]], dtype="<i2"),
        "u2_3": np.array([0, 32768, 65535], dtype="<u2"),
        "i4_3": np.array([-2 ** 31, 0, 2 ** 31 - 1], dtype="<i4"),
        "u4_3": np.array([0, 2 ** 31, 2 ** 32 - 1], dtype="<u4"),
        "i8_4": np.array([-2 ** 63, -1, 2 ** 53, 2 ** 63 - 1], dtype="<i8"),
        "u8_3": np.array([0, 2 ** 53, 2 ** 64 - 1], dtype="<u8"),
        "f4_scalar": np.array(2.5, dtype="<f4"),
        "i8_scalar": np.array(-7, dtype="<i8"),
        "f4_0": np.zeros((0,), dtype="<f4"),
        "f4_5x0": np.zeros((5, 0), dtype="<f4"),
        "f4_2x3x4": np.arange(24, dtype="<f4").reshape(2, 3, 4) / 4,
        "labels_60": (np.arange(60) * 7 % 10).astype("<i8"),
        "features_60x784": (np.arange(60 * 784) % 256 / 255).astype("<f4").reshape(60, 784),
    }
    for name, arr in arrays.items():
        np.save(os.path.join(tmp, name + ".npy"), arr)
        with open(os.path.join(tmp, name + ".txt"), "w") as f:
            f.write(spec_ok(arr))

    # Explicit v2.0 and v3.0 headers (4-byte header length).
    for version in [(2, 0), (3, 0)]:
        arr = np.arange(6, dtype="<f4").reshape(3, 2) - 2.5
        name = "f4_v%d" % version[0]
        with open(os.path.join(tmp, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        with open(os.path.join(tmp, name + ".txt"), "w") as f:
            f.write(spec_ok(arr))

    refused = {
        "fortran": (np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)), "Fortran-order"),
        "transposed": (np.arange(6, dtype="<f4").reshape(2, 3).T, "Fortran-order"),
        "bigendian_f4": (np.arange(3, dtype=">f4"), "unsupported dtype '>f4'"),
        "bigendian_i8": (np.arange(3, dtype=">i8"), "unsupported dtype '>i8'"),
        "complex": (np.zeros(3, dtype="<c8"), "unsupported dtype '<c8'"),
        "bool": (np.zeros(3, dtype="|b1"), "unsupported dtype '|b1'"),
        "unicode": (np.array(["abc", "de"], dtype="<U5"), "unsupported dtype '<U5'"),
        "half": (np.zeros(3, dtype="<f2"), "unsupported dtype '<f2'"),
    }
    for name, (arr, why) in refused.items():
        np.save(os.path.join(tmp, name + ".npy"), arr)
        with open(os.path.join(tmp, name + ".txt"), "w") as f:
            f.write("error " + why + "\n")

    r = subprocess.run([helper, "check-npy", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(r.stdout, end="")
    expected = len(arrays) + 2 + len(refused)
    if r.returncode != 0 or ("%d files checked, 0 mismatches" % expected) not in r.stdout:
        print("FAIL: numpy -> dptrain (exit %d)" % r.returncode)
        return False
    return True


# Must match write_npy_files() in interop_helper.cpp.
CPP_WRITTEN = {
    "f4_3x4": np.arange(12, dtype="<f4").reshape(3, 4) * np.float32(0.5) - np.float32(3),
    "f4_7": np.array([0.1, -1e30, 1e-40, 0.0, -0.0, 3.25, 65504.0], dtype="<f4"),
    "i4_5": np.array([-2 ** 31, -1, 0, 1, 2 ** 31 - 1], dtype="<i4"),
    "i8_scalar": np.array(-(2 ** 40), dtype="<i8"),
    "i8_4x2": (np.arange(8, dtype="<i8") * 1000000000000 - 3).reshape(4, 2),
    "f4_1x1": np.array([[42.0]], dtype="<f4"),
}


def dptrain_to_numpy(helper, tmp):
    r = subprocess.run([helper, "write-npy", tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout, end="")
        print("FAIL: data_interop write-npy exited %d" % r.returncode)
        return False
    ok = True
    for name, want in CPP_WRITTEN.items():
        path = os.path.join(tmp, name + ".npy")
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            # The strict header readers reject anything numpy would not write itself.
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            data_start = f.tell()
        got = np.load(path, allow_pickle=False)
        problems = []
        if data_start % 64 != 0:
            problems.append("data starts at %d, not a multiple of 64" % data_start)
        if fortran:
            problems.append("fortran_order is True")
        if got.dtype != want.dtype or dtype != want.dtype:
            problems.append("dtype %s != %s" % (got.dtype.str, want.dtype.str))
        if got.shape != want.shape or shape != want.shape:
            problems.append("shape %s != %s" % (got.shape, want.shape))
        elif not np.array_equal(got, want) or not np.array_equal(np.signbit(got), np.signbit(want)):
            problems.append("values differ:\n%r\n%r" % (got, want))
        if problems:
            ok = False
            print("MISMATCH %s: %s" % (name, "; ".join(problems)))
        else:
            print("ok numpy.load %s (%s, shape %s)" % (name, got.dtype.str, got.shape))
    return ok


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    helper = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="dptrain-npy-") as a, tempfile.TemporaryDirectory(prefix="dptrain-npy-") as b:
        ok = numpy_to_dptrain(helper, a)
        ok = dptrain_to_numpy(helper, b) and ok
    print("npy interop: %s (numpy %s)" % ("PASS" if ok else "FAIL", np.__version__))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
