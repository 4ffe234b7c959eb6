#!/usr/bin/env python3
"""An independent cross-sectional KPFM case for ionmap's interface-profile fit: a potential map
across one vertical interface, computed here with NumPy/SciPy on a grid eight times finer than
the pixels and averaged over each pixel, with the instrument's effects (tip blur, a tilt along
the slow-scan axis, row offsets, full-row scars, white noise), written as a float32 TIFF with a
pixel-size sidecar, and the truth as JSON.

  kind step:          a sharp potential step of dV on an ohmic slope, blurred by a Gaussian tip
                      (sigma_tip); the fit's 'width' is then sqrt(sigma_tip^2 + pixel^2/12)
  kind space-charge:  two space-charge layers: the potential rises as exp((x - x0)/lambda_left)
                      before the interface and settles as exp(-(x - x0)/lambda_right) after it

Usage: kpfm_case.py OUT_DIR --seed N --kind step|space-charge
"""
import argparse
import json
import os

import numpy as np
import tifffile
from scipy import ndimage
from scipy.special import erfc

FINE = 8  # fine cells per pixel (a side)


def laplace_cdf(d, lam_l, lam_r):
    r = lam_l / (lam_l + lam_r)
    out = np.empty_like(d)
    left = d < 0
    out[left] = r * np.exp(d[left] / lam_l)
    out[~left] = 1 - (1 - r) * np.exp(-d[~left] / lam_r)
    return out


def make(out, seed, kind, width=160, height=48, pixel=0.05):
    rng = np.random.default_rng(seed)
    length = width * pixel
    x0 = rng.uniform(0.35, 0.65) * length
    dv = rng.uniform(0.1, 0.5) * rng.choice([-1, 1])
    v0 = rng.uniform(-0.3, 0.3)
    slope = rng.uniform(-0.03, 0.03)  # V/um
    fx = (np.arange(width * FINE) + 0.5) * pixel / FINE  # fine cell centres, um
    truth = {"kind": kind, "seed": seed, "pixel_um": pixel, "dV": dv, "position": x0,
             "slope": slope}
    if kind == "step":
        sigma_tip = rng.uniform(1.0, 3.0) * pixel
        h = pixel / FINE  # each fine cell holds the share of it beyond the interface
        shape = np.clip((fx + h / 2 - x0) / h, 0, 1)
        # The tip blurs in 2-D; on a vertical interface only x matters. Blur on the fine grid.
        shape = ndimage.gaussian_filter1d(shape, sigma_tip / (pixel / FINE), mode="nearest")
        truth["sigma_tip"] = sigma_tip
        truth["width"] = float(np.sqrt(sigma_tip**2 + pixel**2 / 12))
    else:
        lam_l, lam_r = rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.4)
        shape = laplace_cdf(fx - x0, lam_l, lam_r)
        truth["lambda_left"], truth["lambda_right"] = lam_l, lam_r
    line = v0 + slope * fx + dv * shape
    profile = line.reshape(width, FINE).mean(axis=1)  # each pixel's mean over its cells
    noise = rng.uniform(0.005, 0.02)
    y = (np.arange(height) + 0.5) * pixel
    rows = rng.normal(0, 0.01, height) + rng.uniform(-0.05, 0.05) * y  # offsets, slow-scan tilt
    scars = rng.choice(height, 2, replace=False)
    rows[scars] += rng.uniform(0.05, 0.15, 2)
    img = profile[None, :] + rows[:, None] + rng.normal(0, noise, (height, width))
    truth["noise"] = noise
    os.makedirs(out, exist_ok=True)
    tif = os.path.join(out, "potential.tif")
    tifffile.imwrite(tif, img.astype(np.float32))
    with open(tif + ".pixelsize.txt", "w") as f:
        f.write(f"{pixel} um\n")
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    return truth


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", choices=["step", "space-charge"], default="step")
    a = ap.parse_args()
    print(json.dumps(make(a.out, a.seed, a.kind)))
