#!/usr/bin/env python3
"""Runs pipelines/kpfm-sims-operando.yaml on independent cases from operando_case.py over many
seeds and compares with the truth:
  - classification: responding or not, right for >= 95 % of all particles (and >= 90 % in every
    case);
  - drift: every frame's shift within 0.2 px of the truth;
  - potential change: z = (estimate - truth) / standard error over all particles, mean within
    +-3/sqrt(n) and RMS between 0.6 and 1.5;
  - phases: every particle's phase, and each phase's responding count within 1 of the truth's;
  - lithium: the sign of the dV-dLi correlation (negative: delithiation raises the potential).
Prints a table per case and a summary; exit 1 when a check fails.

Usage: operando_validate.py WORKDIR --ionmap EXE [--seeds 1-10]
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
import operando_case  # noqa: E402

PIPELINE = os.path.join(ROOT, "pipelines", "kpfm-sims-operando.yaml")


def run_case(work, ionmap, seed):
    case = os.path.join(work, f"operando-{seed}")
    truth = operando_case.make(case, seed)
    out = os.path.join(case, "out")
    soc = "[" + ", ".join(f"{s:g}" for s in truth["soc"]) + "]"
    args = [ionmap, "run", PIPELINE, "--out", out, "--set", f"operando.soc={soc}"]
    for name in ("frames", "lithium", "particles", "phases"):
        args += ["--input", f"{name}={case}/{name}.tif"]
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, CI="true"))
    if r.returncode not in (0, 3):
        raise SystemExit(f"ionmap failed on {case}: {r.stderr}")
    by_label = {p["label"]: p for p in truth["particles"]}
    pixel = truth["pixel_um"]
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        e = f["/entry"]
        d = e["frame_drift"]
        drift = max(max(abs(d["dx"][k] - truth["drift_um"][k][0]),
                        abs(d["dy"][k] - truth["drift_um"][k][1])) / pixel
                    for k in range(len(truth["drift_um"])))
        g = e["particle_responses"]
        rows = []
        for i, label in enumerate(g["label"][()]):
            t = by_label[int(label)]
            rows.append({"right": bool(g["responding"][i]) == t["responding"],
                         "z": (g["change"][i] - t["change_V"]) / g["change_standard_error"][i],
                         "phase_ok": int(g["phase"][i]) == t["phase"],
                         "phase": t["phase"], "responding": t["responding"]})
        ph = e["phase_summary"]
        counts_ok = True
        for k, phase in enumerate(ph["phase"][()]):
            truth_count = sum(r["responding"] for r in rows if r["phase"] == int(phase))
            counts_ok &= abs(ph["responding"][k] - truth_count) <= 1
        notes = e["process_03_operando/notes"]
        corr = notes["correlation_dV_dLi"][()].decode() if "correlation_dV_dLi" in notes else ""
    return {"seed": seed, "states": len(truth["soc"]), "particles": len(rows),
            "right": sum(r["right"] for r in rows), "drift_px": drift,
            "z": [r["z"] for r in rows], "phases_right": all(r["phase_ok"] for r in rows),
            "counts_ok": counts_ok, "correlation": corr}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work")
    ap.add_argument("--ionmap", default=os.path.join(ROOT, "build", "ionmap"))
    ap.add_argument("--seeds", default="1-10")
    a = ap.parse_args()
    cases = [run_case(a.work, a.ionmap, s) for s in seeds_of(a.seeds)]
    print("| seed | states | particles | classified right | max drift error (px) | RMS z of dV "
          "| phases | per-phase counts | correlation dV-dLi |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for c in cases:
        rms = math.sqrt(sum(z * z for z in c["z"]) / len(c["z"]))
        print(f"| {c['seed']} | {c['states']} | {c['particles']} | {c['right']} | "
              f"{c['drift_px']:.3f} | {rms:.2f} | {'right' if c['phases_right'] else 'WRONG'} | "
              f"{'right' if c['counts_ok'] else 'WRONG'} | {c['correlation']} |")
        ok &= c["right"] >= 0.9 * c["particles"] and c["drift_px"] <= 0.2
        ok &= c["phases_right"] and c["counts_ok"] and c["correlation"].startswith("-")
    zs = [z for c in cases for z in c["z"]]
    n = len(zs)
    right = sum(c["right"] for c in cases)
    total = sum(c["particles"] for c in cases)
    mean = sum(zs) / n
    rms = math.sqrt(sum(z * z for z in zs) / n)
    good = right >= 0.95 * total and abs(mean) <= 3 / math.sqrt(n) and 0.6 <= rms <= 1.5
    ok &= good
    print(f"\nall cases: {right} of {total} particles classified right "
          f"({100 * right / total:.1f} %), worst drift error "
          f"{max(c['drift_px'] for c in cases):.3f} px, dV z over {n} particles: mean "
          f"{mean:+.2f} (limit {3 / math.sqrt(n):.2f}), RMS {rms:.2f}: "
          f"{'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
