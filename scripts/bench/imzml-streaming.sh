#!/usr/bin/env bash
# imzML streaming throughput vs a plain sequential read of the same file, and peak memory.
# Usage: scripts/bench/imzml-streaming.sh [DIR] [GIB]   (needs ~GIB GiB free in DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-${TMPDIR:-/tmp}}
GIB=${2:-1.1}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap_bench_imzml -j"$(nproc)" >/dev/null
./build/tests/ionmap_bench_imzml "$DIR" "$GIB"
