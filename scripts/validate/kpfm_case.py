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

  geometry straight:  the interface runs along the slow-scan axis (y)
  geometry tilted:    at 3-15 degrees to it (either way), on a taller map
  geometry curved:    tilted and bowed (a parabola whose sagitta over the map is 1-4 px); the
                      potential is then a function of the distance along the interface's normal,
                      and the truth's position is where the interface crosses the middle row

Usage: kpfm_case.py OUT_DIR --seed N --kind step|space-charge [--geometry straight|tilted|curved]
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy import ndimage
from scipy.special import erfc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_tiff, write_truth  # noqa: E402

FINE = 8  # fine cells per pixel (a side)


def laplace_cdf(d, lam_l, lam_r):
    r = lam_l / (lam_l + lam_r)
    out = np.empty_like(d)
    left = d < 0
    out[left] = r * np.exp(d[left] / lam_l)
    out[~left] = 1 - (1 - r) * np.exp(-d[~left] / lam_r)
    return out


def normal_shape(d, kind, rng, truth, pixel):
    """The interface's shape as a function of the distance d along its normal (um): the
    Gaussian-blurred step, or the two space-charge layers."""
    if kind == "step":
        sigma_tip = rng.uniform(1.0, 3.0) * pixel
        truth["sigma_tip"] = sigma_tip
        # pixel averaging adds pixel^2/12 of variance along any direction (square pixels)
        truth["width"] = float(np.sqrt(sigma_tip**2 + pixel**2 / 12))
        return 0.5 * erfc(-d / (np.sqrt(2) * sigma_tip))
    lam_l, lam_r = rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.4)
    truth["lambda_left"], truth["lambda_right"] = lam_l, lam_r
    return laplace_cdf(d.ravel(), lam_l, lam_r).reshape(d.shape)


def make(out, seed, kind, width=160, height=48, pixel=0.05, geometry="straight"):
    if geometry != "straight":
        return make_2d(out, seed, kind, width, 96, pixel, geometry)
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
    return finish(out, rng, truth, profile[None, :], width, height, pixel)


def make_2d(out, seed, kind, width, height, pixel, geometry):
    rng = np.random.default_rng(seed)
    length = width * pixel
    x0 = rng.uniform(0.35, 0.65) * length
    dv = rng.uniform(0.1, 0.5) * rng.choice([-1, 1])
    v0 = rng.uniform(-0.3, 0.3)
    slope = rng.uniform(-0.03, 0.03)  # V/um along the normal
    tilt = np.radians(rng.uniform(3, 15)) * rng.choice([-1, 1])
    y_mid = height * pixel / 2
    half = y_mid
    bow = rng.uniform(1, 4) * pixel * rng.choice([-1, 1]) if geometry == "curved" else 0.0
    # x_c(y) = x0 + tan(tilt)(y - y_mid) + bow ((y - y_mid)/half)^2
    fx = (np.arange(width * FINE) + 0.5) * pixel / FINE
    fy = (np.arange(height * FINE) + 0.5) * pixel / FINE
    dy = fy - y_mid
    xc = x0 + np.tan(tilt) * dy + bow * (dy / half) ** 2
    dxc = np.tan(tilt) + 2 * bow * dy / half**2
    d = (fx[None, :] - xc[:, None]) / np.sqrt(1 + dxc[:, None] ** 2)
    truth = {"kind": kind, "seed": seed, "pixel_um": pixel, "dV": dv, "position": x0,
             "slope": slope, "geometry": geometry, "tilt_deg": float(np.degrees(tilt)),
             "bow_um": bow}
    shape = normal_shape(d, kind, rng, truth, pixel)
    fine = v0 + slope * (d + x0) + dv * shape
    img = fine.reshape(height, FINE, width, FINE).mean(axis=(1, 3))
    return finish(out, rng, truth, img, width, height, pixel)


def finish(out, rng, truth, clean, width, height, pixel):
    """Row offsets, a slow-scan tilt, two scars and white noise; TIFF, sidecar and truth."""
    noise = rng.uniform(0.005, 0.02)
    y = (np.arange(height) + 0.5) * pixel
    rows = rng.normal(0, 0.01, height) + rng.uniform(-0.05, 0.05) * y  # offsets, slow-scan tilt
    scars = rng.choice(height, 2, replace=False)
    rows[scars] += rng.uniform(0.05, 0.15, 2)
    img = clean + rows[:, None] + rng.normal(0, noise, (height, width))
    truth["noise"] = noise
    os.makedirs(out, exist_ok=True)
    write_tiff(os.path.join(out, "potential.tif"), img.astype(np.float32), pixel)
    return write_truth(out, truth)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", choices=["step", "space-charge"], default="step")
    ap.add_argument("--geometry", choices=["straight", "tilted", "curved"], default="straight")
    a = ap.parse_args()
    print(json.dumps(make(a.out, a.seed, a.kind, geometry=a.geometry)))
