#!/usr/bin/python3
"""Grain segmentation of independent laser images (regpair.py): ionmap's main-job
`segment-grains` and a scikit-image watershed side by side, scored by the same code.

  segmentation.py WORKDIR [--seeds 1-10] [--ionmap build/ionmap] [--off-sample] [--guide]
                  [--set segment.KEY=VALUE ...]

Seeds alternate easy (odd) and hard (even) laser images (640², ~0.1 µm, ~3 µm grains). ionmap
runs `segment-grains` with the parameters of pipelines/sims-gb-diffusion.yaml plus what the
experimenter knows (grain size 3 µm, groove width 0.2 µm, as scripts/validate/coverage.py sets
them); scikit-image runs scripts/bench/grains_skimage.py's pipeline (Sato ridges, Otsu,
watershed) with the same two sizes.

Scores: boundary F1 at 2 px (precision: found boundary pixels within 2 px of a true boundary;
recall: true boundary pixels within 2 px of a found one), grain count against the truth
(grains with at least 20 % of a typical grain's area inside the image, in both), and whether
ionmap warned. With --off-sample a dark area beyond a straight sample edge is added: its pixels
are left out of the scores, and the sample edge is not a grain boundary.

With --guide the segmentation also uses the ToF-SIMS total-ion image, registered and
resampled onto the laser grid exactly as the main job does (register with the main job's
parameters, resample, `segment-grains` with `guide`); scores then cover the SIMS field only
(where the guide exists; scikit-image still sees the laser image alone).

Writes WORKDIR/segmentation.csv and WORKDIR/segmentation.md and prints the summary.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np
import tifffile
import yaml
from scipy import ndimage

from common import HERE, ROOT, main_job_stage, seeds_of

sys.path.insert(0, os.path.join(ROOT, "scripts", "bench"))
import grains_skimage  # noqa: E402

GRAIN_UM, GROOVE_UM = 3.0, 0.2


def boundaries(labels):
    b = np.zeros(labels.shape, bool)
    d = labels[:, 1:] != labels[:, :-1]
    b[:, 1:] |= d
    b[:, :-1] |= d
    d = labels[1:, :] != labels[:-1, :]
    b[1:, :] |= d
    b[:-1, :] |= d
    return b


def score(found, truth, px):
    """Boundary F1 at 2 px and grain counts; pixels off the sample (truth 0) left out, and
    the boundary between sample and off-sample area is no grain boundary."""
    on = truth > 0
    tb = boundaries(np.where(on, truth, -1)) & on
    tb &= ndimage.binary_erosion(on, iterations=2)  # the sample edge is not a grain boundary
    fb = boundaries(found) & ndimage.binary_erosion(on, iterations=2)
    dt = ndimage.distance_transform_edt(~tb)
    df = ndimage.distance_transform_edt(~fb)
    precision = float(np.mean(dt[fb] <= 2)) if fb.any() else 0.0
    recall = float(np.mean(df[tb] <= 2)) if tb.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    min_area = 0.2 * np.pi / 4 * (GRAIN_UM / px) ** 2

    def count(labels, mask):
        ids, n = np.unique(labels[mask], return_counts=True)
        return int(np.sum((ids > 0) & (n >= min_area)))
    off_labelled = float(np.mean(found[~on] > 0)) if (~on).any() else 0.0
    return f1, precision, recall, count(found, on), count(truth, on), off_labelled


def run_ionmap(a, case, pipeline):
    out = os.path.join(case, "segment-guided" if a.guide else "segment")
    cmd = [a.ionmap, "run", pipeline, "--input", f"laser={case}/laser.tif", "--out", out,
           "--threads", "2"] + sum((["--set", s] for s in a.set), [])
    if a.guide:
        cmd += ["--input", f"sims_total={case}/sims_total.tif"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, CI="true"))
    secs = time.time() - t0
    with open(out + ".log", "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    if p.returncode not in (0, 3):
        raise SystemExit(f"{case}: ionmap exit {p.returncode}: {p.stderr.strip()[-300:]}")
    with h5py.File(os.path.join(out, "results.h5")) as f:
        labels = f["entry/grains/labels"][...]
        stage = [k for k in f["entry"] if k.endswith("_segment")][0]
        seconds = float(f["entry"][stage]["duration"][()])
        warnings = [w.decode() for w in f["entry"][stage]["warnings"][...]] \
            if "warnings" in f["entry"][stage] else []
    return labels, seconds, secs, warnings, p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--ionmap", default=os.path.join(ROOT, "build", "ionmap"))
    ap.add_argument("--off-sample", action="store_true")
    ap.add_argument("--guide", action="store_true",
                    help="segment with the registered ToF-SIMS total-ion image as a guide")
    ap.add_argument("--set", action="append", default=[])
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    seg = main_job_stage("segment-grains")
    params = dict(seg.get("params", {}), grain_size=GRAIN_UM, groove_width=GROOVE_UM)
    read = main_job_stage(stage_id="read-laser")
    pipeline = os.path.join(a.workdir, "segment-guided.yaml" if a.guide else "segment.yaml")
    stages = [dict(read)]
    inputs = {"laser": "laser.tif"}
    if a.guide:
        reg = main_job_stage("register")
        inputs["sims_total"] = "sims_total.tif"
        stages += [
            {"stage": "read", "id": "read-total",
             "params": {"input": "sims_total", "name": "total ions", "unit": "counts"},
             "out": {"map": "total_ions"}},
            {"stage": "register", "id": "register",
             "params": dict(reg["params"], quicklooks=False),
             "in": {"fixed": "laser", "moving": "total_ions"},
             "out": {"transform": "sims_to_laser"}},
            {"stage": "resample", "id": "total-on-laser",
             "in": {"map": "total_ions", "reference": "laser", "transform": "sims_to_laser"},
             "out": {"map": "total_on_laser"}}]
    seg_in = {"map": seg["in"]["map"]}
    if a.guide:
        seg_in["guide"] = "total_on_laser"
    stages.append({"stage": "segment-grains", "id": "segment", "params": params, "in": seg_in,
                   "out": seg["out"]})
    with open(pipeline, "w") as f:
        yaml.safe_dump({"version": 1, "name": "segment-laser", "inputs": inputs,
                        "stages": stages}, f, sort_keys=False)
    rows = []
    for seed in seeds_of(a.seeds):
        kind = "easy" if seed % 2 else "hard"
        tag = "-off" if a.off_sample else ""
        case = os.path.join(a.workdir, f"laser-{seed}{tag}")
        if not os.path.exists(os.path.join(case, "truth.json")):
            subprocess.run([sys.executable, os.path.join(HERE, "regpair.py"), case, "--seed",
                            str(seed), "--difficulty", kind] +
                           (["--off-sample"] if a.off_sample else []), check=True)
        with open(os.path.join(case, "truth.json")) as f:
            truth = json.load(f)
        px = truth["laser_pixel_um"]
        img = tifffile.imread(os.path.join(case, "laser.tif")).astype(np.float64)
        true_labels = tifffile.imread(os.path.join(case, "laser_truth.tif"))
        if a.guide:  # score inside the SIMS field (2 µm in from its edge) only
            n, hp = truth["pixels"], truth["pixel_um"]
            t = np.radians(truth["sims_to_laser"]["rotation_deg"])
            c = (np.arange(true_labels.shape[0]) + 0.5) * px - np.array(
                truth["sims_to_laser"]["shift_um"])[:, None]
            X, Y = np.meshgrid(c[0], c[1])
            u = np.cos(t) * X + np.sin(t) * Y  # laser → SIMS frame: Rᵀ (q − shift)
            v = -np.sin(t) * X + np.cos(t) * Y
            inside = (u > 2) & (u < n * hp - 2) & (v > 2) & (v < n * hp - 2)
            true_labels = np.where(inside, true_labels, 0)
        labels, stage_s, run_s, warnings, code = run_ionmap(a, case, pipeline)
        f1, p_, r_, n_found, n_true, off_i = score(labels, true_labels, px)
        t0 = time.time()
        sk = grains_skimage.segment(img, px, GRAIN_UM, GROOVE_UM)
        sk_s = time.time() - t0
        f1s, ps, rs, n_sk, _, off_s = score(sk, true_labels, px)
        row = {"seed": seed, "kind": kind, "true_grains": n_true,
               "ionmap_f1": round(f1, 4), "ionmap_precision": round(p_, 4),
               "ionmap_recall": round(r_, 4), "ionmap_grains": n_found,
               "ionmap_count_error": round((n_found - n_true) / n_true, 4),
               "ionmap_warned": int(bool(warnings)), "ionmap_stage_seconds": round(stage_s, 3),
               "skimage_f1": round(f1s, 4), "skimage_grains": n_sk,
               "skimage_count_error": round((n_sk - n_true) / n_true, 4),
               "skimage_seconds": round(sk_s, 3), "ionmap_off_sample_labelled": round(off_i, 4),
               "skimage_off_sample_labelled": round(off_s, 4), "warnings": " | ".join(warnings)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    tag = "-guided" if a.guide else ""
    with open(os.path.join(a.workdir, f"segmentation{tag}.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [f"# Segmentation: {len(rows)} independent laser images (regpair.py)"
             f"{', with an off-sample area' if a.off_sample else ''}"
             f"{'; ionmap with the registered SIMS total-ion image as guide, scored over the SIMS field' if a.guide else ''}", "",
             "| images | tool | boundary F1 at 2 px (mean, min) | grain count error (mean, "
             "worst) | warned | median time (s) |"
             + (" off-sample pixels given a grain |" if a.off_sample else ""),
             "|---|---|---|---|---|---|" + ("---|" if a.off_sample else "")]
    for kind in ("easy", "hard"):
        rs = [r for r in rows if r["kind"] == kind]
        if not rs:
            continue
        for tool, tcol in (("ionmap", "ionmap_stage_seconds"), ("skimage", "skimage_seconds")):
            f1 = [r[f"{tool}_f1"] for r in rs]
            ce = [r[f"{tool}_count_error"] for r in rs]
            worst = max(ce, key=abs)
            warned = f"{sum(r['ionmap_warned'] for r in rs)} of {len(rs)}" \
                if tool == "ionmap" else "–"
            off = (f" | {100 * statistics.mean(r[f'{tool}_off_sample_labelled'] for r in rs):.1f} %"
                   if a.off_sample else "")
            lines.append(f"| {kind} ({len(rs)}) | {tool} | {statistics.mean(f1):.3f}, "
                         f"{min(f1):.3f} | {100 * statistics.mean(ce):+.1f} %, "
                         f"{100 * worst:+.1f} % | {warned} | "
                         f"{statistics.median(r[tcol] for r in rs):.2f}{off} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.workdir, f"segmentation{tag}.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
