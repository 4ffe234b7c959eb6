#!/usr/bin/env bash
# Quick start: install what ionmap needs (Debian 12 packages), build it in Release, and run
# the main pipeline on the bundled sample data. Prints where the results went.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap -j"$(nproc)"

PIPELINE=pipelines/sims-gb-diffusion.yaml
OUT=results/sims-gb-diffusion
echo "== running $PIPELINE on the bundled sample (data/samples/gb)"
./build/ionmap run "$PIPELINE" --out "$OUT"
echo "== done: open $OUT/report.html in a browser (verdict, quicklooks, tables), $OUT/results.h5 (HDF5)"
