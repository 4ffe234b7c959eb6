#!/usr/bin/env python3
"""The NumPy side of scripts/bench/kpfm-level-vs-numpy.sh, and the test map it uses.

  kpfm_numpy.py make FILE N    writes an N x N potential map (plane, row offsets, scars, noise)
                               as a Gwyddion .gwy file (GWYP, one GwyDataField)
  kpfm_numpy.py level FILE     reads it and levels it as the benchmark pipeline does — a
                               least-squares plane, then each row's median — and prints the
                               seconds of each step as JSON
"""
import json
import struct
import sys
import time

import numpy as np


def obj(name, comps):
    return name + b"\0" + struct.pack("<I", len(comps)) + comps


def comp(key, t, v):
    return key + b"\0" + t + v


def make(path, n):
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:n, 0:n] * 0.02
    img = 0.3 + 0.01 * x - 0.02 * y + rng.normal(0, 0.01, (n, 1)) + rng.normal(0, 0.005, (n, n))
    img[n // 3, : n // 2] += 0.1
    unit = lambda u: obj(b"GwySIUnit", comp(b"unitstr", b"s", u + b"\0"))
    field = obj(b"GwyDataField",
                comp(b"xres", b"i", struct.pack("<i", n)) + comp(b"yres", b"i", struct.pack("<i", n)) +
                comp(b"xreal", b"d", struct.pack("<d", n * 20e-9)) +
                comp(b"yreal", b"d", struct.pack("<d", n * 20e-9)) +
                comp(b"si_unit_xy", b"o", unit(b"m")) + comp(b"si_unit_z", b"o", unit(b"V")) +
                comp(b"data", b"D", struct.pack("<I", n * n) + img.astype("<f8").tobytes()))
    with open(path, "wb") as f:
        f.write(b"GWYP" + obj(b"GwyContainer", comp(b"/0/data", b"o", field) +
                              comp(b"/0/data/title", b"s", b"Potential\0")))


def read_gwy(path):
    """The first GwyDataField of a .gwy file (a small walker over the GWYP serialization)."""
    buf = open(path, "rb").read()
    assert buf[:4] == b"GWYP"
    sizes = {b"b": 1, b"c": 1, b"i": 4, b"q": 8, b"d": 8}
    arrays = {b"C": 1, b"I": 4, b"Q": 8, b"D": 8}

    def cstr(p):
        e = buf.index(b"\0", p)
        return buf[p:e], e + 1

    def walk(p):  # one object at p -> (name, components, end)
        name, p = cstr(p)
        size = struct.unpack_from("<I", buf, p)[0]
        p += 4
        end = p + size
        comps = {}
        while p < end:
            key, p = cstr(p)
            t = buf[p:p + 1]
            p += 1
            if t in sizes:
                comps[key] = buf[p:p + sizes[t]]
                p += sizes[t]
            elif t == b"s":
                comps[key], p = cstr(p)
            elif t == b"o":
                comps[key], p = walk(p)[1:]
            elif t in arrays:
                n = struct.unpack_from("<I", buf, p)[0]
                p += 4
                comps[key] = (t, p, n)
                p += n * arrays[t]
            else:
                raise ValueError(f"type {t!r} not handled")
        return name, comps, end

    _, top, _ = walk(4)
    field = top[b"/0/data"]
    xres = struct.unpack("<i", field[b"xres"])[0]
    yres = struct.unpack("<i", field[b"yres"])[0]
    _, at, n = field[b"data"]
    return np.frombuffer(buf, dtype="<f8", count=n, offset=at).reshape(yres, xres)


def level(path):
    t0 = time.perf_counter()
    img = read_gwy(path)
    t1 = time.perf_counter()
    h, w = img.shape
    y, x = np.mgrid[0:h, 0:w]
    a = np.column_stack([np.ones(img.size), x.ravel(), y.ravel()])
    coef, *_ = np.linalg.lstsq(a, img.ravel(), rcond=None)
    plane = img - (a @ coef).reshape(h, w)
    t2 = time.perf_counter()
    rows = plane - np.median(plane, axis=1, keepdims=True)
    t3 = time.perf_counter()
    print(json.dumps({"read_s": t1 - t0, "plane_s": t2 - t1, "rows_s": t3 - t2,
                      "check": float(rows[h // 2, w // 2])}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        level(sys.argv[2])
