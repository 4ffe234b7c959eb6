#!/usr/bin/env bash
# Reading and analysing a 100 x 100-landing SECCM map from TDMS: ionmap (read, seccm-landings,
# seccm-analyse; the stages' own times from results.h5) against NumPy reading the same file
# with its own TDMS parser (no npTDMS) and fitting every landing the same way, side by side on
# the same file; the conductances' sums must agree. The file is written by the NumPy side
# (struct), not by ionmap. Usage: scripts/bench/seccm-vs-numpy.sh [WORKDIR] [N]  (N x N, 100)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-deps.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap -j"$(nproc)" >/dev/null
WORK=${1:-${TMPDIR:-/tmp}/ionmap-bench-seccm}
N=${2:-100}
mkdir -p "$WORK"
/usr/bin/python3 scripts/bench/seccm_numpy.py make "$WORK/map.tdms" "$N"
cat > "$WORK/seccm.yaml" <<YAML
version: 1
name: seccm-bench
inputs: {map: map.tdms}
stages:
  - {stage: read, id: read, in: {file: map}, params: {as: table}, out: {table: samples}}
  - {stage: seccm-landings, id: landings, params: {state: State, contact_state: 1},
     in: {table: samples}, out: {curves: landings}}
  - {stage: seccm-analyse, id: analyse, in: {curves: landings},
     out: {landings: fits, current: current, conductance: g}}
YAML
echo "map: $N x $N landings, 33 samples each, TDMS $(du -h "$WORK/map.tdms" | cut -f1), $(nproc) cores, numpy $(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')"
best_ionmap=""; best_numpy=""
for rep in 1 2 3; do
  rm -rf "$WORK/out"
  t0=$(date +%s.%N)
  CI=true ./build/ionmap run "$WORK/seccm.yaml" --out "$WORK/out" >/dev/null 2>&1
  t1=$(date +%s.%N)
  read -r ir il ia isum <<< "$(/usr/bin/python3 - "$WORK/out/results.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")["/entry"]
d = {f[k]["stage_id"][()].decode(): float(f[k]["duration"][()]) for k in f if k.startswith("process_")}
g = f["fits/conductance"][()]
print(f'{d["read"]:.4f} {d["landings"]:.4f} {d["analyse"]:.4f} {g[g == g].sum():.12e}')
PY
)"
  read -r nr nf nsum <<< "$(/usr/bin/python3 scripts/bench/seccm_numpy.py fit "$WORK/map.tdms" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.4f %.4f %.12e" % (d["read_s"], d["fit_s"], d["conductance_sum"]))')"
  printf 'run %d: ionmap read %ss landings %ss analyse %ss (whole run with results.h5 %.2fs) | numpy read %ss fit %ss | conductance sums %s %s\n' \
    "$rep" "$ir" "$il" "$ia" "$(echo "$t1 - $t0" | bc)" "$nr" "$nf" "$isum" "$nsum"
  ti=$(echo "$ir + $il + $ia" | bc); tn=$(echo "$nr + $nf" | bc)
  if [ -z "$best_ionmap" ] || [ "$(echo "$ti < $best_ionmap" | bc)" = 1 ]; then best_ionmap=$ti; fi
  if [ -z "$best_numpy" ] || [ "$(echo "$tn < $best_numpy" | bc)" = 1 ]; then best_numpy=$tn; fi
done
/usr/bin/python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); assert abs(a - b) <= 1e-9 * abs(b), (a, b)" "$isum" "$nsum" \
  || { echo "FAIL: the conductances differ"; exit 1; }
echo "best of 3, read + landings + fits: ionmap ${best_ionmap}s, numpy ${best_numpy}s, ratio numpy/ionmap $(echo "scale=2; $best_numpy / $best_ionmap" | bc)"
