#!/usr/bin/env bash
# Reading and levelling a large KPFM map: ionmap (read a .gwy, plane, row medians — the stages'
# own times from results.h5) against NumPy doing the same reading and levelling, side by side
# on the same file. Usage: scripts/bench/kpfm-level-vs-numpy.sh [WORKDIR] [N]  (N x N, default 2048)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-deps.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap -j"$(nproc)" >/dev/null
WORK=${1:-${TMPDIR:-/tmp}/ionmap-bench-kpfm}
N=${2:-2048}
mkdir -p "$WORK"
/usr/bin/python3 scripts/bench/kpfm_numpy.py make "$WORK/map.gwy" "$N"
cat > "$WORK/level.yaml" <<YAML
version: 1
name: kpfm-level-bench
inputs: {kpfm: map.gwy}
stages:
  - {stage: read, in: {file: kpfm}, out: {map: raw}}
  - {stage: level, id: plane, params: {method: plane}, in: {map: raw}, out: {map: flat}}
  - {stage: level, id: rows, params: {method: rows}, in: {map: flat}, out: {map: levelled}}
YAML
echo "map: $N x $N float64 .gwy ($(du -h "$WORK/map.gwy" | cut -f1)), $(nproc) cores, numpy $(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')"
best_ionmap=""; best_numpy=""
for rep in 1 2 3; do
  rm -rf "$WORK/out"
  t0=$(date +%s.%N)
  CI=true ./build/ionmap run "$WORK/level.yaml" --out "$WORK/out" >/dev/null 2>&1
  t1=$(date +%s.%N)
  stages=$(/usr/bin/python3 - "$WORK/out/results.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")["/entry"]
d = {f[k]["stage_id"][()].decode(): float(f[k]["duration"][()]) for k in f if k.startswith("process_")}
print(f'{d["read"]:.3f} {d["plane"]:.3f} {d["rows"]:.3f}')
PY
)
  numpy=$(/usr/bin/python3 scripts/bench/kpfm_numpy.py level "$WORK/map.gwy")
  read -r ir ip iw <<< "$stages"
  nr=$(echo "$numpy" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f %.3f %.3f" % (d["read_s"], d["plane_s"], d["rows_s"]))')
  read -r pr pp pw <<< "$nr"
  printf 'run %d: ionmap read %ss plane %ss rows %ss (whole run with results.h5 and quicklooks %.2fs) | numpy read %ss plane %ss rows %ss\n' \
    "$rep" "$ir" "$ip" "$iw" "$(echo "$t1 - $t0" | bc)" "$pr" "$pp" "$pw"
  ti=$(echo "$ir + $ip + $iw" | bc); tn=$(echo "$pr + $pp + $pw" | bc)
  if [ -z "$best_ionmap" ] || [ "$(echo "$ti < $best_ionmap" | bc)" = 1 ]; then best_ionmap=$ti; fi
  if [ -z "$best_numpy" ] || [ "$(echo "$tn < $best_numpy" | bc)" = 1 ]; then best_numpy=$tn; fi
done
echo "best of 3, read + plane + rows: ionmap ${best_ionmap}s, numpy ${best_numpy}s, ratio numpy/ionmap $(echo "scale=2; $best_numpy / $best_ionmap" | bc)"
