#!/usr/bin/env python3
"""Runs pipelines/kpfm-interface-profile.yaml on independent cases from kpfm_case.py over many
seeds and checks that the fitted interface parameters agree with the truth within their own
standard errors: per parameter, z = (estimate - truth) / standard error over the seeds must have
a mean within +-3/sqrt(n) (no bias beyond what n seeds can show) and an RMS between 0.6 and 1.5
(standard errors neither too small nor too large). Writes a table of every z.

Tilted and curved interfaces (--geometries) are found by the profile stage itself
(`detect: potential`, order 2), after the scan lines were aligned by their differences (a row's
median would move with where the interface crosses it).

Usage: kpfm_coverage.py WORKDIR --ionmap EXE [--seeds 1-12] [--kinds step,space-charge]
                        [--geometries straight,tilted,curved]
"""
import argparse
import json
import math
import os
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, seeds_of  # noqa: E402
import kpfm_case  # noqa: E402

PIPELINE = os.path.join(ROOT, "pipelines", "kpfm-interface-profile.yaml")
CHECKS = {"step": {"dV": "step_dV", "position": "step_position", "width": "step_width",
                   "slope": "step_slope"},
          "space-charge": {"dV": "space_charge_dV", "position": "space_charge_position",
                           "lambda_left": "space_charge_lambda_left",
                           "lambda_right": "space_charge_lambda_right",
                           "slope": "space_charge_slope"}}


# The cases have no height channel: the bundled pipeline's height reader reads the potential
# and the interface is either given (the middle row) or found on the potential.
COMMON = ["--set", "read-kpfm.unit=V", "--set", "read-kpfm.channel=0",
          "--set", "read-height.channel=0"]
GIVEN = ["--set", "profile.detect=none"]
DETECT = ["--set", "profile.detect=potential", "--set", "profile.order=2",
          "--set", "level.method=row-differences"]


def run_case(work, ionmap, seed, kind, geometry):
    case = os.path.join(work, f"{kind}-{geometry}-{seed}")
    truth = kpfm_case.make(case, seed, kind, geometry=geometry)
    out = os.path.join(case, "out")
    r = subprocess.run([ionmap, "run", PIPELINE, "--input", f"kpfm={case}/potential.tif",
                        "--out", out] + COMMON + (DETECT if geometry != "straight" else GIVEN),
                       capture_output=True, text=True, env=dict(os.environ, CI="true"))
    if r.returncode not in (0, 3):
        raise SystemExit(f"ionmap failed on {case}: {r.stderr}")
    rows = []
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["/entry/interface_fit"]
        for key, name in CHECKS[kind].items():
            est, se = float(g[name][()]), float(g[name + "_errors"][()])
            rows.append((f"{kind} {geometry}", seed, key, est, se, truth[key],
                         (est - truth[key]) / se))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work")
    ap.add_argument("--ionmap", default=os.path.join(ROOT, "build", "ionmap"))
    ap.add_argument("--seeds", default="1-12")
    ap.add_argument("--kinds", default="step,space-charge")
    ap.add_argument("--geometries", default="straight")
    a = ap.parse_args()
    rows = []
    groups = []
    for kind in a.kinds.split(","):
        for geometry in a.geometries.split(","):
            groups.append((f"{kind} {geometry}", kind))
            for seed in seeds_of(a.seeds):
                rows += run_case(a.work, a.ionmap, seed, kind, geometry)
    print("| kind | seed | parameter | estimate | standard error | truth | z |")
    print("|---|---|---|---|---|---|---|")
    for k, s, p, est, se, t, z in rows:
        print(f"| {k} | {s} | {p} | {est:.5g} | {se:.3g} | {t:.5g} | {z:+.2f} |")
    ok = True
    print("\n| kind | parameter | seeds | mean z | RMS z | verdict |")
    print("|---|---|---|---|---|---|")
    for group, kind in groups:
        for p in CHECKS[kind]:
            zs = [r[6] for r in rows if r[0] == group and r[2] == p]
            n = len(zs)
            mean = sum(zs) / n
            rms = math.sqrt(sum(z * z for z in zs) / n)
            # Known: along tilted and curved interfaces the decay lengths come out a third to
            # a half of a standard error long on average over 70 seeds (docs/spm.md); for them
            # the bias allowed is one standard error.
            limit = 3 / math.sqrt(n)
            if p.startswith("lambda") and not group.endswith("straight"):
                limit = max(limit, 1.0)
            good = abs(mean) <= limit and 0.6 <= rms <= 1.5
            ok = ok and good
            print(f"| {group} | {p} | {n} | {mean:+.2f} | {rms:.2f} | {'ok' if good else 'FAIL'} |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
