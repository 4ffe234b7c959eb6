#!/usr/bin/env python3
"""The SECCM benchmark's NumPy side (no npTDMS):

  make OUT.tdms N   write an N x N hopping-mode map as a little-endian TDMS file of one segment
                    per raster row (channels Current1 (A), V1 (V), X (um), Y (um), dt(s), State;
                    5 approach, 25 contact and 3 retract samples per landing; a capacitive
                    spike; noise) written here with struct, independently of ionmap's writer
  fit OUT.tdms      read it (a TDMS parser for what `make` writes: lead-in, metadata with new or
                    reused raw-data indices, contiguous raw data) and fit every landing as
                    seccm-landings + seccm-analyse do: contact samples, the first 5 ms left out,
                    I = a + G E by least squares; prints timings and the conductances' checksum
                    as JSON
"""
import json
import struct
import sys
import time

import numpy as np

CHANNELS = [("Current1 (A)", 10, "<f8"), ("V1 (V)", 9, "<f4"), ("X (um)", 9, "<f4"),
            ("Y (um)", 9, "<f4"), ("dt(s)", 9, "<f4"), ("State", 1, "<i1")]
PITCH = 0.4


def tstr(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def make(path, n):
    rng = np.random.default_rng(1)
    segs = []
    for row in range(n):
        cols = range(n) if row % 2 == 0 else range(n - 1, -1, -1)
        data = {name: [] for name, _, _ in CHANNELS}
        for col in cols:
            g = 1e-9 * (1 + 0.5 * np.sin(2 * np.pi * (col * PITCH) / 2.4))
            state = np.r_[np.zeros(5), np.ones(25), np.full(3, 2)]
            e = np.r_[np.zeros(5), 0.05 + 0.2 * np.arange(25) / 24, np.zeros(3)]
            i = g * e * (1 + 0.01 * rng.standard_normal(33)) + 2e-12 * rng.standard_normal(33)
            i[5:8] += 5e-9 * np.exp(-0.002 * np.arange(3) / 0.001)
            data["Current1 (A)"].append(i)
            data["V1 (V)"].append(e)
            data["X (um)"].append(np.full(33, (col + 0.5) * PITCH))
            data["Y (um)"].append(np.full(33, (row + 0.5) * PITCH))
            data["dt(s)"].append(np.full(33, 0.002))
            data["State"].append(state)
        count = 33 * n
        objs = []
        if row == 0:
            objs.append(tstr("/") + struct.pack("<II", 0xFFFFFFFF, 0))
            objs.append(tstr("/'SECCM'") + struct.pack("<II", 0xFFFFFFFF, 0))
            for name, code, _ in CHANNELS:
                objs.append(tstr(f"/'SECCM'/'{name}'") + struct.pack("<IIIQ", 20, code, 1, count)
                            + struct.pack("<I", 0))
            meta = struct.pack("<I", len(objs)) + b"".join(objs)
            toc = 0x0E
        else:
            meta, toc = b"", 0x08  # raw data only: the object list and indices carry over
        raw = b"".join(np.concatenate(data[name]).astype(dt).tobytes() for name, _, dt in CHANNELS)
        segs.append(b"TDSm" + struct.pack("<IIQQ", toc, 4713, len(meta) + len(raw), len(meta))
                    + meta + raw)
    with open(path, "wb") as f:
        f.write(b"".join(segs))


def read(path):
    b = open(path, "rb").read()
    pos, chans, order, counts = 0, {}, [], {}
    types = {10: "<f8", 9: "<f4", 1: "<i1"}
    while pos < len(b):
        tag, toc, ver, nxt, rawoff = struct.unpack_from("<4sIIQQ", b, pos)
        assert tag == b"TDSm" and ver in (4712, 4713)
        p = pos + 28
        if toc & 0x02:
            (nobj,) = struct.unpack_from("<I", b, p)
            p += 4
            for _ in range(nobj):
                (ln,) = struct.unpack_from("<I", b, p)
                path_ = b[p + 4:p + 4 + ln].decode()
                p += 4 + ln
                (idx,) = struct.unpack_from("<I", b, p)
                p += 4
                if idx == 20:
                    code, _, cnt = struct.unpack_from("<IIQ", b, p)
                    p += 16
                    name = path_.split("/'")[-1][:-1]
                    if name not in chans:
                        chans[name] = []
                        order.append((name, types[code]))
                    counts[name] = cnt
                (nprop,) = struct.unpack_from("<I", b, p)
                p += 4
                assert nprop == 0
        p = pos + 28 + rawoff
        for name, dt in order:
            a = np.frombuffer(b, dtype=dt, count=counts[name], offset=p)
            chans[name].append(a)
            p += a.nbytes
        pos = pos + 28 + nxt
    return {k: np.concatenate(v) for k, v in chans.items()}


def fit(path):
    t0 = time.perf_counter()
    c = read(path)
    t1 = time.perf_counter()
    state, x, y = c["State"], c["X (um)"], c["Y (um)"]
    contact = state == 1
    # Landings: runs of contact samples at one position.
    start = np.flatnonzero(contact & ~np.r_[False, contact[:-1]])
    end = np.flatnonzero(contact & ~np.r_[contact[1:], False]) + 1
    dt = c["dt(s)"].astype(float)
    e_all = c["V1 (V)"].astype(float)
    i_all = c["Current1 (A)"]
    g = np.empty(len(start))
    for k, (s, e) in enumerate(zip(start, end)):
        t = np.r_[0, np.cumsum(dt[s + 1:e])]
        keep = t >= 0.005
        ev, iv = e_all[s:e][keep], i_all[s:e][keep]
        em = ev.mean()
        g[k] = ((ev - em) * (iv - iv.mean())).sum() / ((ev - em) ** 2).sum()
    t2 = time.perf_counter()
    print(json.dumps({"read_s": t1 - t0, "fit_s": t2 - t1, "landings": len(g),
                      "conductance_sum": float(g.sum())}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        fit(sys.argv[2])
