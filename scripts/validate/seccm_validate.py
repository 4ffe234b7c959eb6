#!/usr/bin/env python3
"""Runs pipelines/seccm-orientation.yaml on independent cases from seccm_case.py over many seeds
(the contact radius and pipette resistance given as a user would after calibration) and
compares with the truth:
  - per class, the mean conductivity against the mean of the true conductivities the same
    landings' disks saw: z = mean difference / its standard error (paired by landing);
  - the bands' period and direction against the truth: z = difference / standard error;
  - the classes told apart by the block bootstrap over domains (p < 0.05);
  - every landing in the class of its band;
  - the landing grid registered onto the TEM-like image through the picked fiducial marks: good
    by its own checks, within 0.15 um of the true transform over the raster, and its stated
    error of the size of the error it makes (RMS of error / stated within 0.5-2).
Over the seeds each z must have a mean within +-3/sqrt(n) and an RMS between 0.6 and 1.5.
Prints a table per case and a summary; exit 1 when a check fails.

Usage: seccm_validate.py WORKDIR --ionmap EXE [--seeds 1-10]
"""
import argparse
import math
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, seeds_of  # noqa: E402
import seccm_case  # noqa: E402

PIPELINE = os.path.join(ROOT, "pipelines", "seccm-orientation.yaml")


def run_case(work, ionmap, seed):
    case = os.path.join(work, f"seccm-{seed}")
    t = seccm_case.make(case, seed)
    out = os.path.join(case, "out")
    args = [ionmap, "run", PIPELINE, "--out", out,
            "--input", f"map={case}/map.tdms", "--input", f"classes={case}/classes.tif",
            "--input", f"image={case}/image.tif", "--input", f"landmarks={case}/landmarks.csv",
            "--set", f"analyse.radius={t['radius_um']}",
            "--set", f"analyse.pipette_resistance={t['pipette_ohm']}",
            "--set", f"classes.radius={t['radius_um']}"]
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, CI="true"))
    if r.returncode not in (0, 3):
        raise SystemExit(f"ionmap failed on {case}: {r.stderr}")
    truth = {(round(l["x"], 6), round(l["y"], 6)): l for l in t["landings"]}
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        e = f["/entry"]
        lc = e["landing_classes"]
        x, y, v = lc["x"][()], lc["y"][()], lc["value"][()]
        cls, share = lc["class"][()], lc["share"][()]
        zs, wrong = [], 0
        for c in (1, 2):
            sel = (cls == c) & (share >= 0.75)
            meas = v[sel]
            tv = []
            for xi, yi in zip(x[sel], y[sel]):
                lt = truth[(round(float(xi), 6), round(float(yi), 6))]
                tv.append(lt["sigma"])
                wrong += (lt["band"] % 2 == 0) != (c == 1)
            # Paired: each landing's measured against its own truth (the domains' spread is in
            # both and is no error of the measurement).
            d = meas - np.asarray(tv)
            zs.append(d.mean() / (d.std(ddof=1) / math.sqrt(len(d))))
        b = e["bands"]
        zp = (b["map_period"][()] - t["period_um"]) / b["map_period_errors"][()]
        da = (b["map_angle"][()] - t["angle_deg"] + 90) % 180 - 90
        za = da / b["map_angle_errors"][()]
        p = float(e["class_comparisons/block_p"][0])
        # The landing grid on the image through the picked marks: the RMS error over the
        # raster's corners and centre against the true transform, and what the stage states.
        lin, tr = e["landing_to_tem/linear"][()], e["landing_to_tem/translation"][()]
        a, b_, tx, c, d_, ty = t["to_reference"]
        side = t["landings_per_side"] * t["pitch_um"]
        errs = []
        for qx, qy in ((0, 0), (side, 0), (0, side), (side, side), (side / 2, side / 2)):
            fx, fy = lin[0, 0] * qx + lin[0, 1] * qy + tr[0], lin[1, 0] * qx + lin[1, 1] * qy + tr[1]
            errs.append((fx - (a * qx + b_ * qy + tx)) ** 2 + (fy - (c * qx + d_ * qy + ty)) ** 2)
        reg_err = math.sqrt(sum(errs) / len(errs))
        reg_unc = float(e["registration/landmark_uncertainty"][()])
        reg_unc95 = float(e["registration/landmark_uncertainty_95"][()])
        reg_good = int(e["registration/quality_good"][()]) == 1
    return {"seed": seed, "z1": float(zs[0]), "z2": float(zs[1]), "zp": float(zp),
            "za": float(za), "p": p, "wrong": wrong, "ratio": t["sigma_class1"] / t["sigma_class2"],
            "reg_err": reg_err, "reg_unc": reg_unc, "reg_unc95": reg_unc95, "reg_good": reg_good}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work")
    ap.add_argument("--ionmap", default=os.path.join(ROOT, "build", "ionmap"))
    ap.add_argument("--seeds", default="1-10")
    a = ap.parse_args()
    cases = [run_case(a.work, a.ionmap, s) for s in seeds_of(a.seeds)]
    print("| seed | sigma ratio | z class 1 | z class 2 | z period | z angle | block p | "
          "landings in the wrong class | registration error (um) | stated (um) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in cases:
        print(f"| {c['seed']} | {c['ratio']:.2f} | {c['z1']:+.2f} | {c['z2']:+.2f} | "
              f"{c['zp']:+.2f} | {c['za']:+.2f} | {c['p']:.2g} | {c['wrong']} | "
              f"{c['reg_err']:.3f} | {c['reg_unc']:.3f} |")
    ok = all(c["wrong"] == 0 and c["p"] < 0.05 for c in cases)
    # The registration: good by its own checks, within 0.15 um everywhere, and its stated error
    # of the size of the error it makes (RMS ratio within 0.5-2).
    ratio = math.sqrt(sum((c["reg_err"] / c["reg_unc"]) ** 2 for c in cases) / len(cases))
    reg_ok = all(c["reg_good"] and c["reg_err"] < 0.15 for c in cases) and 0.5 <= ratio <= 2
    ok = ok and reg_ok
    within95 = sum(c["reg_err"] <= c["reg_unc95"] for c in cases) / len(cases)
    print(f"\nregistration through the marks: worst error {max(c['reg_err'] for c in cases):.3f} "
          f"um, RMS of error / stated {ratio:.2f} (Student's t(5): 1.29), error within the "
          f"stated 95 % bound in {100 * within95:.0f} % of the cases: "
          f"{'ok' if reg_ok else 'FAIL'}")
    n = len(cases)
    print("\n| quantity | seeds | mean z | RMS z | verdict |\n|---|---|---|---|---|")
    for key, name in (("z1", "class 1 mean"), ("z2", "class 2 mean"), ("zp", "band period"),
                      ("za", "band direction")):
        zs = [c[key] for c in cases]
        mean, rms = sum(zs) / n, math.sqrt(sum(z * z for z in zs) / n)
        good = abs(mean) <= 3 / math.sqrt(n) and 0.6 <= rms <= 1.5
        ok = ok and good
        print(f"| {name} | {n} | {mean:+.2f} | {rms:.2f} | {'ok' if good else 'FAIL'} |")
    print("\nevery landing in its band's class and the classes told apart (block p < 0.05): "
          f"{'yes' if all(c['wrong'] == 0 and c['p'] < 0.05 for c in cases) else 'NO'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
