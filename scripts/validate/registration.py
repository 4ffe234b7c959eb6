#!/usr/bin/python3
"""Registration on independent pairs (regpair.py): ionmap's main-job registration and elastix
side by side, scored by the same code.

  registration.py WORKDIR [--seeds 1-50] [--ionmap build/ionmap] [--no-elastix]
                  [--negative] [--set register.KEY=VALUE ...]

Seeds alternate easy (odd) and hard (even) laser images; rotations are uniform in ±10°.
ionmap runs the `register` stage with the parameters of pipelines/sims-gb-diffusion.yaml
(total-ion image onto the laser image), exactly as the main job does, in its own small
pipeline. elastix (Debian package) runs a rigid (Euler) multi-resolution registration with
Mattes mutual information on the same raw images.

Target registration error (TRE): mean distance, in laser pixels, between where the found and
the true transform put a 16 × 16 grid of points over the SIMS field. A transform is "wrong"
when its mean TRE exceeds --wrong (0.5 laser px). ionmap's verdict is its exit code (3 = a
failed check: the run says the registration is not fit for use) and the report's quality flag.

With --negative, every pair is also registered against the laser image of ANOTHER pair (a
different microstructure, so no transform is right): each of these must be flagged, and one
reported good is a silent failure.

Writes WORKDIR/registration.csv and WORKDIR/registration.md and prints the summary. Exit 1
when any wrong transform was reported as good (a silent failure).
"""
import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np
import tifffile
import yaml

from common import HERE, ROOT, main_job_stage, seeds_of


def write_pipeline(path, params):
    pipeline = {
        "version": 1, "name": "register-pair",
        "inputs": {"laser": "laser.tif", "sims_total": "sims_total.tif"},
        "stages": [
            {"stage": "read", "id": "read-laser",
             "params": {"input": "laser", "name": "laser intensity", "unit": "counts"},
             "out": {"map": "laser"}},
            {"stage": "read", "id": "read-total",
             "params": {"input": "sims_total", "name": "total ions", "unit": "counts"},
             "out": {"map": "total_ions"}},
            {"stage": "register", "id": "register", "params": params,
             "in": {"fixed": "laser", "moving": "total_ions"},
             "out": {"transform": "sims_to_laser", "report": "registration_report"}},
        ]}
    with open(path, "w") as f:
        yaml.safe_dump(pipeline, f, sort_keys=False)


def true_points(truth):
    n, hp = truth["pixels"], truth["pixel_um"]
    g = (np.arange(16) + 0.5) / 16 * n * hp
    X, Y = np.meshgrid(g, g)
    p = np.column_stack([X.ravel(), Y.ravel()])
    t = math.radians(truth["sims_to_laser"]["rotation_deg"])
    R = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return p, p @ R.T + np.array(truth["sims_to_laser"]["shift_um"])


def tre(truth, linear, translation):
    p, q = true_points(truth)
    found = p @ np.asarray(linear).T + np.asarray(translation)
    d = np.linalg.norm(found - q, axis=1) / truth["laser_pixel_um"]
    return float(d.mean()), float(d.max())


def read_report(path):
    out = {}
    with open(path) as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    for r in rows[1:]:
        try:
            out[r[0]] = float(r[1])
        except ValueError:
            pass
    return out


def run_ionmap(a, case, pipeline, laser_case=None, tag="ionmap"):
    out = os.path.join(case, tag)
    cmd = [a.ionmap, "run", pipeline, "--input", f"laser={laser_case or case}/laser.tif", "--input",
           f"sims_total={case}/sims_total.tif", "--out", out, "--threads", "2"]
    for s in a.set:
        cmd += ["--set", s]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, CI="true"))
    secs = time.time() - t0
    with open(os.path.join(case, tag + ".log"), "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    if p.returncode not in (0, 3):
        return {"ionmap_exit": p.returncode, "ionmap_seconds": secs}
    with h5py.File(os.path.join(out, "results.h5")) as f:
        t = f["entry/sims_to_laser"]
        linear, translation = t["linear"][...], t["translation"][...]
        stage = [k for k in f["entry"] if k.endswith("_register")][0]
        stage_seconds = float(f["entry"][stage]["duration"][()])
    rep = read_report(os.path.join(out, "registration_report.csv"))
    return {"ionmap_exit": p.returncode, "ionmap_seconds": secs, "linear": linear,
            "translation": translation, "report": rep, "stage_seconds": stage_seconds}


def write_mhd(path, img, spacing):
    raw = path[:-4] + ".raw"
    with open(path, "w") as f:
        f.write("ObjectType = Image\nNDims = 2\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
                f"DimSize = {img.shape[1]} {img.shape[0]}\nElementSpacing = {spacing} {spacing}\n"
                f"Offset = {spacing / 2} {spacing / 2}\nElementType = MET_FLOAT\n"
                f"ElementDataFile = {os.path.basename(raw)}\n")
    img.astype("<f4").tofile(raw)


ELASTIX_PARAMS = """(FixedInternalImagePixelType "float")
(MovingInternalImagePixelType "float")
(FixedImageDimension 2)
(MovingImageDimension 2)
(UseDirectionCosines "true")
(Registration "MultiResolutionRegistration")
(Interpolator "BSplineInterpolator")
(ResampleInterpolator "FinalBSplineInterpolator")
(Resampler "DefaultResampler")
(FixedImagePyramid "FixedSmoothingImagePyramid")
(MovingImagePyramid "MovingSmoothingImagePyramid")
(Optimizer "AdaptiveStochasticGradientDescent")
(Transform "EulerTransform")
(Metric "AdvancedMattesMutualInformation")
(NumberOfHistogramBins 32)
(AutomaticScalesEstimation "true")
(AutomaticTransformInitialization "true")
(AutomaticTransformInitializationMethod "GeometricalCenter")
(HowToCombineTransforms "Compose")
(NumberOfResolutions 4)
(MaximumNumberOfIterations 500)
(NumberOfSpatialSamples 4096)
(NewSamplesEveryIteration "true")
(ImageSampler "RandomCoordinate")
(BSplineInterpolationOrder 1)
(FinalBSplineInterpolationOrder 3)
(DefaultPixelValue 0)
(WriteResultImage "false")
"""


def numbers_after(text, key):
    i = text.find("(" + key + " ")
    if i < 0:
        return []
    return [float(v) for v in text[i + len(key) + 2:text.index(")", i)].split()]


def run_elastix(case, truth):
    d = os.path.join(case, "elastix")
    os.makedirs(d, exist_ok=True)
    write_mhd(os.path.join(d, "fixed.mhd"), tifffile.imread(os.path.join(case, "laser.tif")),
              truth["laser_pixel_um"])
    write_mhd(os.path.join(d, "moving.mhd"),
              tifffile.imread(os.path.join(case, "sims_total.tif")), truth["pixel_um"])
    with open(os.path.join(d, "params.txt"), "w") as f:
        f.write(ELASTIX_PARAMS)
    t0 = time.time()
    p = subprocess.run(["elastix", "-f", f"{d}/fixed.mhd", "-m", f"{d}/moving.mhd", "-p",
                        f"{d}/params.txt", "-out", d, "-threads", "2"], capture_output=True,
                       text=True)
    secs = time.time() - t0
    try:
        text = open(os.path.join(d, "TransformParameters.0.txt")).read()
    except OSError:
        return {"elastix_exit": p.returncode, "elastix_seconds": secs}
    a_, tx, ty = numbers_after(text, "TransformParameters")
    c = np.array(numbers_after(text, "CenterOfRotationPoint"))
    # elastix maps fixed → moving: x_m = R (x_f − c) + c + t; invert for moving → fixed
    R = np.array([[math.cos(a_), -math.sin(a_)], [math.sin(a_), math.cos(a_)]])
    linear = R.T
    translation = c - R.T @ (c + np.array([tx, ty]))
    return {"elastix_exit": p.returncode, "elastix_seconds": secs, "e_linear": linear,
            "e_translation": translation}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("--seeds", default="1-50")
    ap.add_argument("--ionmap", default=os.path.join(ROOT, "build", "ionmap"))
    ap.add_argument("--no-elastix", action="store_true")
    ap.add_argument("--max-rotation", type=float, default=10.0)
    ap.add_argument("--wrong", type=float, default=0.5, help="mean TRE (laser px) of a wrong result")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--negative", action="store_true",
                    help="also register each SIMS image onto another pair's laser image")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    pipeline = os.path.join(a.workdir, "register-pair.yaml")
    params = dict(main_job_stage("register").get("params", {}))
    params["quicklooks"] = False
    write_pipeline(pipeline, params)
    rows = []
    for seed in seeds_of(a.seeds):
        kind = "easy" if seed % 2 else "hard"
        case = os.path.join(a.workdir, f"pair-{seed}")
        if not os.path.exists(os.path.join(case, "truth.json")):
            subprocess.run([sys.executable, os.path.join(HERE, "regpair.py"), case, "--seed",
                            str(seed), "--difficulty", kind, "--max-rotation",
                            str(a.max_rotation)], check=True)
        with open(os.path.join(case, "truth.json")) as f:
            truth = json.load(f)
        row = {"seed": seed, "kind": kind,
               "rotation_deg": round(truth["sims_to_laser"]["rotation_deg"], 3)}
        r = run_ionmap(a, case, pipeline)
        row["ionmap_exit"] = r["ionmap_exit"]
        row["ionmap_seconds"] = round(r["ionmap_seconds"], 2)
        if "linear" in r:
            row["register_stage_seconds"] = round(r["stage_seconds"], 3)
            row["ionmap_tre_px"], row["ionmap_tre_max_px"] = tre(truth, r["linear"],
                                                                 r["translation"])
            rep = r["report"]
            row["ionmap_good"] = int(r["ionmap_exit"] == 0 and rep.get("quality_good", 0) == 1)
            for k in ("ncc", "tile_agreement", "uncertainty", "coarse_peak"):
                if k in rep:
                    row[k] = rep[k]
        if a.negative:
            other = os.path.join(a.workdir, f"pair-{seed}-other")
            if not os.path.exists(os.path.join(other, "truth.json")):
                subprocess.run([sys.executable, os.path.join(HERE, "regpair.py"), other,
                                "--seed", str(seed + 5000), "--difficulty", kind], check=True)
            n = run_ionmap(a, case, pipeline, other, "ionmap-negative")
            row["negative_good"] = int(n["ionmap_exit"] == 0 and
                                       n.get("report", {}).get("quality_good", 0) == 1)
            row["negative_ncc"] = n.get("report", {}).get("ncc", "")
            row["negative_tile_agreement"] = n.get("report", {}).get("tile_agreement", "")
        if not a.no_elastix:
            e = run_elastix(case, truth)
            row["elastix_seconds"] = round(e["elastix_seconds"], 2)
            if "e_linear" in e:
                row["elastix_tre_px"], _ = tre(truth, e["e_linear"], e["e_translation"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    fields = ["seed", "kind", "rotation_deg", "ionmap_exit", "ionmap_good", "ionmap_tre_px",
              "ionmap_tre_max_px", "ncc", "tile_agreement", "uncertainty", "coarse_peak",
              "ionmap_seconds", "register_stage_seconds", "elastix_tre_px", "elastix_seconds", "negative_good",
              "negative_ncc", "negative_tile_agreement"]
    with open(os.path.join(a.workdir, "registration.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    lines = [f"# Registration: {len(rows)} independent pairs (regpair.py), rotations within "
             f"±{a.max_rotation:g}°; wrong = mean TRE > {a.wrong:g} laser px", "",
             "| tool | pairs | reported good | wrong among good (silent) | wrong, flagged | "
             "mean TRE on good (px) | max mean TRE on good (px) | median time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    silent = []
    for kind in ("easy", "hard", "all"):
        rs = [r for r in rows if kind in ("all", r["kind"])]
        if not rs:
            continue
        good = [r for r in rs if r.get("ionmap_good") == 1]
        wrong_good = [r for r in good if r["ionmap_tre_px"] > a.wrong]
        wrong_flag = [r for r in rs if r.get("ionmap_good") != 1
                      and r.get("ionmap_tre_px", 1e9) > a.wrong]
        if kind == "all":
            silent = wrong_good
        t = [r["ionmap_tre_px"] for r in good]
        lines.append(f"| ionmap ({kind}) | {len(rs)} | {len(good)} | {len(wrong_good)} | "
                     f"{len(wrong_flag)} | {statistics.mean(t) if t else float('nan'):.3f} | "
                     f"{max(t) if t else float('nan'):.3f} | "
                     f"{statistics.median(r['ionmap_seconds'] for r in rs):.2f} |")
        if not a.no_elastix:
            e = [r.get("elastix_tre_px", float("inf")) for r in rs]
            ok = [x for x in e if x <= a.wrong]
            lines.append(f"| elastix ({kind}) | {len(rs)} | (no verdict) | – | "
                         f"{len(e) - len(ok)} wrong | "
                         f"{statistics.mean(ok) if ok else float('nan'):.3f} (right ones) | "
                         f"{max(ok) if ok else float('nan'):.3f} | "
                         f"{statistics.median(r['elastix_seconds'] for r in rs):.2f} |")
    if a.negative:
        neg = [r for r in rows if r.get("negative_good") == 1]
        silent += neg
        lines += ["", f"negative controls (SIMS image against another sample's laser image): "
                  f"{len(rows)}, reported good: {len(neg)}"]
    if not a.no_elastix:
        ti = sum(r["ionmap_seconds"] for r in rows)
        ts = sum(r.get("register_stage_seconds", 0) for r in rows)
        te = sum(r["elastix_seconds"] for r in rows)
        lines += ["", f"total time: ionmap {ti:.1f} s for whole runs (start-up, reading, "
                  f"registration, writing results.h5; the register stage alone {ts:.1f} s), "
                  f"elastix {te:.1f} s: elastix/ionmap = {te / ti:.1f} (whole runs), "
                  f"{te / max(ts, 1e-9):.1f} (registration alone)"]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.workdir, "registration.md"), "w") as f:
        f.write(text)
    print(text)
    for r in silent:
        print(f"seed {r['seed']} ({r['kind']}, {r['rotation_deg']}°): a wrong transform "
              f"(mean TRE {r.get('ionmap_tre_px', float('nan')):.2f} px, or a negative "
              "control) reported as good", file=sys.stderr)
    return 1 if silent else 0


if __name__ == "__main__":
    sys.exit(main())
