#!/usr/bin/env python3
"""Runs pipelines/kpfm-interface-profile.yaml on independent cases from kpfm_case.py over many
seeds and checks that the fitted interface parameters agree with the truth within their own
standard errors: per parameter, z = (estimate - truth) / standard error over the seeds must have
a mean within +-3/sqrt(n) (no bias beyond what n seeds can show) and an RMS between 0.6 and 1.5
(standard errors neither too small nor too large). Writes a table of every z.

Usage: kpfm_coverage.py WORKDIR --ionmap EXE [--seeds 1-12] [--kinds step,space-charge]
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


def run_case(work, ionmap, seed, kind):
    case = os.path.join(work, f"{kind}-{seed}")
    truth = kpfm_case.make(case, seed, kind)
    out = os.path.join(case, "out")
    r = subprocess.run([ionmap, "run", PIPELINE, "--input", f"kpfm={case}/potential.tif",
                        "--set", "read-kpfm.unit=V", "--set", "read-kpfm.channel=0",
                        "--out", out], capture_output=True, text=True,
                       env=dict(os.environ, CI="true"))
    if r.returncode not in (0, 3):
        raise SystemExit(f"ionmap failed on {case}: {r.stderr}")
    rows = []
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        g = f["/entry/interface_fit"]
        for key, name in CHECKS[kind].items():
            est, se = float(g[name][()]), float(g[name + "_errors"][()])
            rows.append((kind, seed, key, est, se, truth[key], (est - truth[key]) / se))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work")
    ap.add_argument("--ionmap", default=os.path.join(ROOT, "build", "ionmap"))
    ap.add_argument("--seeds", default="1-12")
    ap.add_argument("--kinds", default="step,space-charge")
    a = ap.parse_args()
    rows = []
    for kind in a.kinds.split(","):
        for seed in seeds_of(a.seeds):
            rows += run_case(a.work, a.ionmap, seed, kind)
    print("| kind | seed | parameter | estimate | standard error | truth | z |")
    print("|---|---|---|---|---|---|---|")
    for k, s, p, est, se, t, z in rows:
        print(f"| {k} | {s} | {p} | {est:.5g} | {se:.3g} | {t:.5g} | {z:+.2f} |")
    ok = True
    print("\n| kind | parameter | seeds | mean z | RMS z | verdict |")
    print("|---|---|---|---|---|---|")
    for kind in a.kinds.split(","):
        for p in CHECKS[kind]:
            zs = [r[6] for r in rows if r[0] == kind and r[2] == p]
            n = len(zs)
            mean = sum(zs) / n
            rms = math.sqrt(sum(z * z for z in zs) / n)
            good = abs(mean) <= 3 / math.sqrt(n) and 0.6 <= rms <= 1.5
            ok = ok and good
            print(f"| {kind} | {p} | {n} | {mean:+.2f} | {rms:.2f} | {'ok' if good else 'FAIL'} |")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
