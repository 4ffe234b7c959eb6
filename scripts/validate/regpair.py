#!/usr/bin/python3
"""Independent registration/segmentation cases: a laser-microscope image and the ToF-SIMS
total-ion image of a field inside it, with the true transform and the true grains.

Same microstructure and laser image as gbcase.py (Lloyd-relaxed Voronoi grains, grooves, grain
contrast, vignetting, dust, noise; "easy" or "hard"), without the diffusion solve and the
imzML, so that many pairs are cheap:

* laser.tif: nl × nl pixels of ~pixel_um/2 (±4 %), 16-bit, with its pixel size; optionally a
  dark off-sample area beyond a straight sample edge (--off-sample).
* sims_total.tif: the total-ion image on the SIMS grid (n × n pixels of pixel_um, rotated by
  up to ±max_rotation degrees and shifted inside the laser field): Li counts through a TDC that
  records at most one ion per shot (binomial), H+, Na+ and background ions (Poisson); per-grain
  yield, a smooth yield variation and a dip over the boundaries, averaged over 2 × 2 points per
  pixel.
* laser_truth.tif: the true grain (1-based) at each laser pixel centre, 0 off the sample.
* truth.json: sims_to_laser (rotation, shift: laser = R · sims + shift, µm), pixel sizes, the
  grain count inside the laser field and on the sample.

Usage: regpair.py OUTDIR --seed S [--difficulty easy|hard] [--max-rotation 10] [--off-sample]
"""
import argparse
import json
import os

import numpy as np
from scipy.spatial import cKDTree
import tifffile

from gbcase import laser_image, lloyd_seeds, rotation


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--pixels", type=int, default=256, help="SIMS pixels a side")
    ap.add_argument("--pixel-um", type=float, default=0.2)
    ap.add_argument("--grain-um", type=float, default=3.0)
    ap.add_argument("--difficulty", choices=["easy", "hard"], default="easy")
    ap.add_argument("--max-rotation", type=float, default=10.0, help="degrees")
    ap.add_argument("--counts", type=float, default=2000.0, help="mean Li ions per pixel")
    ap.add_argument("--shots", type=int, default=4000)
    ap.add_argument("--off-sample", action="store_true",
                    help="a straight sample edge crosses the laser image outside the SIMS field")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed + 100000)

    n, hp = a.pixels, a.pixel_um
    L = n * hp
    laser_um = hp / 2 * (1 + rng.uniform(-0.04, 0.04))
    nl = int(round(2.5 * n))
    laser_field = nl * laser_um
    theta = rng.uniform(-a.max_rotation, a.max_rotation)
    R = rotation(theta)
    c_s = np.array([L / 2, L / 2])
    c_l = np.array([laser_field / 2, laser_field / 2]) + rng.uniform(-0.05, 0.05, 2) * laser_field
    shift = c_l - R @ c_s
    margin = 2 * a.grain_um
    seeds = lloyd_seeds(rng, -margin, laser_field + margin, a.grain_um)
    tree = cKDTree(seeds)

    # --- total-ion image, 2 × 2 points per SIMS pixel
    F = 2
    c = (np.arange(n * F) + 0.5) * (hp / F)
    X, Y = np.meshgrid(c, c)
    P = np.column_stack([X.ravel(), Y.ravel()]) @ R.T + shift
    d2, i2 = tree.query(P, k=2)
    s1, s2 = seeds[i2[:, 0]], seeds[i2[:, 1]]
    dist = (d2[:, 1] ** 2 - d2[:, 0] ** 2) / (2 * np.linalg.norm(s2 - s1, axis=1))
    dip = 1 - 0.35 * np.exp(-0.5 * (dist / 0.08) ** 2)
    grain_yield = 1 + 0.1 * rng.standard_normal(len(seeds))
    w = (grain_yield[i2[:, 0]] * dip).reshape(n, F, n, F).mean(axis=(1, 3))
    px = (np.arange(n) + 0.5) * hp
    PX, PY = np.meshgrid(px, px)
    phase = rng.uniform(0, 2 * np.pi, 2)
    smooth = 1 + 0.12 * np.sin(2 * np.pi * PX / (0.6 * L) + phase[0]) * np.cos(
        2 * np.pi * PY / (0.8 * L) + phase[1])
    lam = a.counts * smooth * w
    li = rng.binomial(a.shots, 1 - np.exp(-lam / a.shots))
    total = li + rng.poisson(900.0 * smooth * w) + rng.poisson(30.0, (n, n))
    res_s = 1e4 / hp
    tifffile.imwrite(os.path.join(a.out, "sims_total.tif"), total.astype(np.float32),
                     resolution=(res_s, res_s), resolutionunit="CENTIMETER")

    # --- laser image
    off = None
    if a.off_sample:  # an edge at 40-45 % of the field from the centre, away from the SIMS field
        ang = rng.uniform(0, 2 * np.pi)
        off = (np.cos(ang), np.sin(ang), rng.uniform(0.40, 0.45) * nl)
    img16, lab = laser_image(rng, a.seed, seeds, tree, nl, laser_um, a.difficulty == "hard", off)
    res = 1e4 / laser_um
    tifffile.imwrite(os.path.join(a.out, "laser.tif"), img16, resolution=(res, res),
                     resolutionunit="CENTIMETER")
    tifffile.imwrite(os.path.join(a.out, "laser_truth.tif"), (lab + 1).astype(np.int32),
                     resolution=(res, res), resolutionunit="CENTIMETER")
    on_sample = lab[lab >= 0]
    truth = {
        "generator": "scripts/validate/regpair.py (independent of ionmap)",
        "seed": a.seed, "difficulty": a.difficulty, "pixels": n, "pixel_um": hp,
        "laser_pixel_um": laser_um, "laser_pixels": nl, "grain_um": a.grain_um,
        "grains_in_laser_field": int(len(np.unique(on_sample))),
        "off_sample_fraction": float(np.mean(lab < 0)),
        "sims_to_laser": {"rotation_deg": float(theta),
                          "shift_um": [float(shift[0]), float(shift[1])]},
    }
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)


if __name__ == "__main__":
    main()
