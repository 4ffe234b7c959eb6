#!/usr/bin/env python3
"""An independent SECCM case for ionmap's SECCM pipeline, computed here with NumPy and nothing
of ionmap's: a film of stripe domains of two classes (random period, direction, conductivity
ratio and per-domain scatter) and a grain boundary; every landing's contact disk (its own
radius) integrated on a grid 10 times finer than the disk to give the conductivity it sees
(the area-weighted mean); the measured resistance R = R_pipette + 1/(4 sigma a); a potential
sweep with a capacitive spike, relative and absolute current noise and some failed landings;
written as a big-endian, interleaved TDMS file (written here with struct, one segment per
raster row) in serpentine order; the classes drawn on a reference image under a random rigid
transform, with a TEM-like image of the same field (class contrast, the boundary, four fiducial
crosses) and the crosses as a user picks them (landmarks.csv, with click scatter); and the truth
as JSON (every landing's sigma as seen through its disk, the true transform).

Usage: seccm_case.py OUT_DIR --seed N
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import tifffile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_truth  # noqa: E402

CHANNELS = [("Current1 (A)", 10, ">f8"), ("V1 (V)", 10, ">f8"), ("X (um)", 10, ">f8"),
            ("Y (um)", 10, ">f8"), ("dt(s)", 10, ">f8"), ("State", 3, ">i4")]


def tdms_segments(rows):
    """One big-endian, interleaved segment per row (dict channel -> array)."""
    out = []
    for k, data in enumerate(rows):
        n = len(data["State"])
        objs = []
        if k == 0:
            objs.append(_obj("/", None))
            objs.append(_obj("/'SECCM'", None))
        for name, code, _ in CHANNELS:
            objs.append(_obj(f"/'SECCM'/'{name}'", (code, n)))
        meta = struct.pack(">I", len(objs)) + b"".join(objs)
        rec = np.empty(n, dtype=[(name, dt) for name, _, dt in CHANNELS])
        for name, _, _ in CHANNELS:
            rec[name] = data[name]
        raw = rec.tobytes()  # interleaved: one value of each channel in turn
        toc = 0x02 | 0x08 | 0x20 | 0x40 | (0x04 if k == 0 else 0)
        out.append(b"TDSm" + struct.pack("<I", toc) + struct.pack(">IQQ", 4713,
                                                                   len(meta) + len(raw), len(meta))
                   + meta + raw)
    return b"".join(out)


def _obj(path, index):
    p = path.encode()
    head = struct.pack(">I", len(p)) + p
    if index is None:
        return head + struct.pack(">II", 0xFFFFFFFF, 0)
    code, n = index
    return head + struct.pack(">IIIQ", 20, code, 1, n) + struct.pack(">I", 0)


def make(out, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 31))
    pitch = rng.uniform(0.3, 0.5)
    period = rng.uniform(1.6, 3.2)
    angle = np.radians(rng.uniform(-60, 60))
    sigma1 = rng.uniform(0.5e-3, 2e-3)
    sigma2 = sigma1 / rng.uniform(1.5, 5)
    scatter = rng.uniform(0.03, 0.08)
    radius = rng.uniform(0.15, 0.25) * period / 2  # the disk mostly inside one band
    radius_scatter = rng.uniform(0.03, 0.08)
    pipette = rng.uniform(5e6, 20e6)
    rel_noise = rng.uniform(0.005, 0.02)
    failed_share = rng.uniform(0, 0.05)
    size = n * pitch

    def band(x, y):
        return np.floor((x * np.cos(angle) - y * np.sin(angle)) / (period / 2)).astype(int)

    corners = [int(band(cx, cy)) for cx in (-1, size + 1) for cy in (-1, size + 1)]
    bands = np.arange(min(corners) - 3, max(corners) + 4)
    band_sigma = {int(b): (sigma1 if b % 2 == 0 else sigma2) * (1 + scatter * rng.standard_normal())
                  for b in bands}
    gb_slope, gb_icpt = rng.uniform(-0.5, 0.5), rng.uniform(0.3, 0.7) * size

    def sigma_field(x, y):
        s = np.vectorize(band_sigma.get)(band(x, y))
        d = np.abs(y - gb_slope * x - gb_icpt) / math.hypot(1, gb_slope)
        return np.where(d < 0.1, 0.5 * s, s)

    rows, truth_landings = [], []
    failed = 0
    for j in range(n):
        data = {name: [] for name, _, _ in CHANNELS}
        for k in range(n):
            i = n - 1 - k if j % 2 else k
            x, y = (i + 0.5) * pitch, (j + 0.5) * pitch
            a = radius * (1 + radius_scatter * rng.standard_normal())
            # The conductivity the disk sees: its area-weighted mean on a 21 x 21 lattice.
            u = np.linspace(-a, a, 21)
            gx, gy = np.meshgrid(u, u)
            inside = gx ** 2 + gy ** 2 <= a * a
            sig = float(sigma_field(x + gx[inside], y + gy[inside]).mean())
            r_total = pipette + 1 / (4 * sig * a * 1e-4)
            lost = rng.uniform() < failed_share
            failed += lost
            state = [0] * 5 + [1] * (2 if lost else 25) + [2] * 3
            e = [0.0] * 5 + list(0.05 + 0.2 * np.arange(2 if lost else 25) / 24) + [0.0] * 3
            cur = []
            for s_, v in zip(state, e):
                i_true = v / r_total if s_ == 1 else 0.0
                cur.append(i_true * (1 + rel_noise * rng.standard_normal()) +
                           2e-12 * rng.standard_normal())
            for q in range(5, 8):  # capacitive spike at touchdown
                if state[q] == 1:
                    cur[q] += 5e-9 * math.exp(-0.002 * (q - 5) / 0.001)
            data["Current1 (A)"] += cur
            data["V1 (V)"] += e
            data["X (um)"] += [x] * len(state)
            data["Y (um)"] += [y] * len(state)
            data["dt(s)"] += [0.002] * len(state)
            data["State"] += state
            if not lost:
                truth_landings.append({"x": x, "y": y, "sigma": sig, "band": int(band(x, y))})
        rows.append({k: np.asarray(v) for k, v in data.items()})
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "map.tdms"), "wb") as f:
        f.write(tdms_segments(rows))

    # The reference: the classes under a random rigid transform, 0.05 um pixels.
    rot = np.radians(rng.uniform(-5, 5))
    tx, ty = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)
    ref_px = 0.05
    m = int(math.ceil((size + 3) / ref_px))
    cx, cy = np.meshgrid((np.arange(m) + 0.5) * ref_px, (np.arange(m) + 0.5) * ref_px)
    # reference point q = R p + t  ->  p = R^T (q - t)
    px = np.cos(rot) * (cx - tx) + np.sin(rot) * (cy - ty)
    py = -np.sin(rot) * (cx - tx) + np.cos(rot) * (cy - ty)
    on = (px > -1) & (py > -1) & (px < size + 1) & (py < size + 1)
    classes = np.where(on, np.where(band(px, py) % 2 == 0, 1, 2), 0).astype(np.uint16)
    tifffile.imwrite(os.path.join(out, "classes.tif"), classes)
    with open(os.path.join(out, "classes.tif.pixelsize.txt"), "w") as f:
        f.write(f"{ref_px} um\n")
    # The TEM-like image of the same field: diffraction contrast of the classes (random
    # contrast and noise), a dark boundary, dark crosses the pipette left at four stage positions
    # just outside the raster; the crosses as a user picks them (click scatter 0.02-0.05 um).
    marks = [(-0.6, -0.6), (size + 0.3, -0.6), (-0.6, size + 0.3), (size + 0.3, size + 0.3)]
    contrast, img_noise = rng.uniform(0.1, 0.25), rng.uniform(0.03, 0.06)
    img = np.where(on, np.where(band(px, py) % 2 == 0, 0.45 + contrast, 0.45), 0.25)
    gb_d = np.abs(py - gb_slope * px - gb_icpt) / math.hypot(1, gb_slope)
    img = np.where(on & (gb_d < 0.1), 0.33, img)
    for mx, my in marks:
        dx, dy = np.abs(px - mx), np.abs(py - my)
        img = np.where(((dx < 0.4) & (dy < 0.07)) | ((dy < 0.4) & (dx < 0.07)), 0.08, img)
    img = img + img_noise * rng.standard_normal(img.shape)
    tifffile.imwrite(os.path.join(out, "image.tif"),
                     np.clip(np.round(img * 4000), 0, 65535).astype(np.uint16))
    with open(os.path.join(out, "image.tif.pixelsize.txt"), "w") as f:
        f.write(f"{ref_px} um\n")
    click = rng.uniform(0.02, 0.05)
    with open(os.path.join(out, "landmarks.csv"), "w") as f:
        f.write("fixed_x (um),fixed_y (um),moving_x (um),moving_y (um)\n")
        for mx, my in marks:
            qx = np.cos(rot) * mx - np.sin(rot) * my + tx + click * rng.standard_normal()
            qy = np.sin(rot) * mx + np.cos(rot) * my + ty + click * rng.standard_normal()
            f.write(f"{qx:.4f},{qy:.4f},{mx:.4f},{my:.4f}\n")
    with open(os.path.join(out, "to_reference.yaml"), "w") as f:
        f.write("ionmap_transform:\n  kind: rigid\n  matrix: [%.17g, %.17g, %.17g, %.17g, %.17g, "
                "%.17g]\n" % (np.cos(rot), -np.sin(rot), tx, np.sin(rot), np.cos(rot), ty))
    truth = {"seed": seed, "landings_per_side": n, "pitch_um": pitch, "period_um": period,
             "angle_deg": float(np.degrees(angle)), "sigma_class1": sigma1,
             "sigma_class2": sigma2, "radius_um": radius, "pipette_ohm": pipette,
             "failed": failed, "click_um": click,
             "to_reference": [float(np.cos(rot)), float(-np.sin(rot)), tx, float(np.sin(rot)),
                              float(np.cos(rot)), ty],
             "landings": truth_landings}
    return write_truth(out, truth)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t = make(a.out, a.seed)
    print(json.dumps({k: v for k, v in t.items() if k != "landings"}))
