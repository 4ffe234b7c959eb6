#!/usr/bin/env bash
# Speed of ionmap's main fit against a plain SciPy fit of the same physics (scipy_fit.py), side
# by side in one invocation, on one independent case (gbcase.py) at the settings a user gets by
# default: the fit-diffusion stage of scripts/validate/true-labels.yaml on the case's labels
# twice as fine as the SIMS pixels (observation model, staircase correction, 95 % profile
# intervals, grain-clustered errors, the labels' systematic error — all the uncertainty work),
# and SciPy's least_squares with a finite-difference Jacobian and (JᵀJ)⁻¹ errors.
# Usage: [IONMAP_EXE=path/to/ionmap] scripts/validate/speed.sh [WORKDIR] [N] [SEED]
#        (N x N SIMS pixels, default 256)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-${TMPDIR:-/tmp}/ionmap-speed}
N=${2:-256}
SEED=${3:-1}
# IONMAP_EXE: an ionmap already built (Release); otherwise it is built in ./build.
if [ -n "${IONMAP_EXE:-}" ]; then
  IONMAP=$IONMAP_EXE
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target ionmap -j"$(nproc)" >/dev/null
  IONMAP=./build/ionmap
fi
CASE="$WORK/case-$N-$SEED"
[ -f "$CASE/truth.json" ] || /usr/bin/python3 scripts/validate/gbcase.py "$CASE" --seed "$SEED" --pixels "$N"
echo "case: $CASE ($N x $N SIMS pixels, labels $((2 * N)) x $((2 * N))), $(nproc) cores, scipy $(/usr/bin/python3 -c 'import scipy; print(scipy.__version__)')"
# Exit 3 (a result not fit for use) still times the fit; anything else is a failure to report.
rc=0
"$IONMAP" run scripts/validate/true-labels.yaml --input "sims=$CASE/exchange.imzML" \
  --input "labels=$CASE/true_labels_fine.tif" --out "$CASE/speed-ionmap" >"$CASE/speed-ionmap.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
  echo "speed.sh: ionmap failed (exit $rc); see $CASE/speed-ionmap.log" >&2
  exit "$rc"
fi
/usr/bin/python3 - "$CASE" <<'PY'
import csv, h5py, json, sys
case = sys.argv[1]
with h5py.File(f"{case}/speed-ionmap/results.h5") as f:
    for k in f["entry"]:
        if k.startswith("process_") and f["entry"][k]["stage"][()] == b"fit-diffusion":
            secs = float(f["entry"][k]["duration"][()])
            runs = f["entry"][k]["notes"]["evaluations"][()].decode()
rows = {r[0]: r for r in csv.reader(open(f"{case}/speed-ionmap/diffusion_fit.csv"))}
t = json.load(open(f"{case}/truth.json"))
print(f"ionmap fit-diffusion: {secs:.1f} s, {runs} model runs; kappa {float(rows['kappa'][1]):.5g} "
      f"(truth {t['kappa_cm_s']:.5g}), D_bulk {float(rows['D_bulk'][1]):.4g} "
      f"(truth {t['D_bulk_cm2_s']:.4g}), f_s {float(rows['f_source'][1]):.5f}")
json.dump({"seconds": secs}, open(f"{case}/speed-ionmap.json", "w"))
PY
/usr/bin/python3 scripts/validate/scipy_fit.py "$CASE" "$CASE/speed-ionmap/results.h5" > "$CASE/speed-scipy.json"
/usr/bin/python3 - "$CASE" <<'PY'
import json, sys
case = sys.argv[1]
s = json.load(open(f"{case}/speed-scipy.json"))
i = json.load(open(f"{case}/speed-ionmap.json"))
print(f"scipy least_squares:  {s['seconds']:.1f} s, {s['model_runs']} model runs; kappa "
      f"{s['kappa']:.5g}, D_bulk {s['D_bulk']:.4g}, f_s {s['f_source']:.5f}, "
      f"chi2/n {s['reduced_chi2']:.3f}")
print(f"ratio scipy / ionmap: {s['seconds'] / i['seconds']:.1f}x")
PY
