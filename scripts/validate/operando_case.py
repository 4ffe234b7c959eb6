#!/usr/bin/env python3
"""An independent operando KPFM + ToF-SIMS case for ionmap's kpfm-operando stage, computed here
with NumPy/SciPy and nothing of ionmap's: particles are the Voronoi cells of random seeds, drawn
on a grid four times finer than the pixels; every frame samples the sample moved by that frame's
drift exactly (the Voronoi cells are evaluated at the moved positions, no interpolation), is
blurred by the tip (Gaussian), averaged over each pixel and gets white noise; the states of
charge (3 to 6 of them) change each responding particle's potential along its own non-linear
path (SOC^gamma); the lithium maps (on the first frame's grid) are Poisson counts whose mean
falls with the particle's delithiation, with a per-particle yield, blurred by the ion beam.
Phases: active material (40-70 % of the particles, of which 60-90 % respond) and electrolyte
(never responds). Writes float32 TIFF stacks with pixel-size sidecars and the truth as JSON.

Usage: operando_case.py OUT_DIR --seed N
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_tiff, write_truth  # noqa: E402

FINE = 4  # fine cells per pixel (a side)


def make(out, seed, size=128, pixel=0.1):
    rng = np.random.default_rng(seed)
    extent = size * pixel
    particle = rng.uniform(1.6, 2.4)  # um, typical diameter
    n_seeds = int(round(extent**2 / (np.pi / 4 * particle**2)))
    margin = 0.5  # um: seeds also outside, so that edge cells are not huge
    pts = rng.uniform(-margin, extent + margin, (n_seeds, 2))
    tree = cKDTree(pts)
    n = len(pts)
    active_share = rng.uniform(0.4, 0.7)
    respond_share = rng.uniform(0.6, 0.9)
    phase = np.where(rng.uniform(size=n) < active_share, 2, 1)
    responds = (phase == 2) & (rng.uniform(size=n) < respond_share)
    base = rng.uniform(-0.2, 0.2, n)
    dv = np.where(responds, rng.uniform(0.025, 0.15, n), 0.0)
    gamma = rng.uniform(0.7, 1.5, n)
    loss = np.where(responds, np.clip(2.5 * dv + rng.normal(0, 0.05, n), 0.05, 0.6), 0.0)
    yield_ = rng.uniform(200, 600, n)
    states = int(rng.integers(3, 7))
    soc = np.round(np.sort(np.concatenate([[0, 100], rng.uniform(5, 95, states - 2)])), 1)
    frac = soc / 100.0
    sigma_tip = rng.uniform(0.5, 1.0) * pixel
    sigma_sims = rng.uniform(1.0, 2.0) * pixel
    noise = rng.uniform(0.005, 0.03)
    max_drift = rng.uniform(1.0, 3.0)  # px

    fine = (np.arange(size * FINE) + 0.5) * pixel / FINE
    fx, fy = np.meshgrid(fine, fine)

    def cells(dx, dy):
        """Nearest seed of every fine cell of a frame whose field shows the sample moved by
        (dx, dy): the frame's point p images the sample at p - d."""
        q = np.column_stack([(fx - dx).ravel(), (fy - dy).ravel()])
        return tree.query(q)[1].reshape(fx.shape)

    def pixels(field):
        return field.reshape(size, FINE, size, FINE).mean(axis=(1, 3))

    frames, lithium, drifts = [], [], []
    for k, f in enumerate(frac):
        dx, dy = (rng.uniform(-max_drift, max_drift, 2) * pixel) if k else (0.0, 0.0)
        drifts.append([float(dx), float(dy)])
        c = cells(dx, dy)
        v = base[c] + dv[c] * f ** gamma[c]
        v = ndimage.gaussian_filter(v, sigma_tip / (pixel / FINE), mode="nearest")
        frames.append(pixels(v) + rng.normal(0, noise, (size, size)))
        c0 = cells(0.0, 0.0)
        mean = yield_[c0] * (1 - loss[c0] * f)
        mean = ndimage.gaussian_filter(mean, sigma_sims / (pixel / FINE), mode="nearest")
        lithium.append(rng.poisson(pixels(mean)).astype(float))
    labels = cells(0.0, 0.0)[FINE // 2::FINE, FINE // 2::FINE] + 1  # at each pixel's centre
    phases = phase[labels - 1]

    os.makedirs(out, exist_ok=True)
    write_tiff(os.path.join(out, "frames.tif"), np.asarray(frames, dtype=np.float32), pixel)
    write_tiff(os.path.join(out, "lithium.tif"), np.asarray(lithium, dtype=np.float32), pixel)
    write_tiff(os.path.join(out, "particles.tif"), labels.astype(np.uint16), pixel)
    write_tiff(os.path.join(out, "phases.tif"), phases.astype(np.uint16), pixel)
    present = np.unique(labels)
    truth = {"seed": seed, "pixel_um": pixel, "soc": soc.tolist(), "noise_V": noise,
             "sigma_tip_um": sigma_tip, "drift_um": drifts,
             "particles": [{"label": int(l), "phase": int(phase[l - 1]),
                            "responding": bool(responds[l - 1]), "change_V": float(dv[l - 1]),
                            "lithium_change": float(-loss[l - 1])} for l in present]}
    return write_truth(out, truth)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t = make(a.out, a.seed)
    print(json.dumps({k: v for k, v in t.items() if k != "particles"}))
