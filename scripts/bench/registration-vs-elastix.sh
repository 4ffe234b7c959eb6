#!/usr/bin/env bash
# ionmap registration vs elastix on synthetic pairs with a known similarity transform:
# target registration error (fixed pixels) and wall time, both tools in one run.
# Usage: scripts/bench/registration-vs-elastix.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v elastix >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends elastix >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap_bench_registration -j"$(nproc)" >/dev/null
echo "elastix: $(elastix --version 2>&1 | head -1)"
./build/tests/ionmap_bench_registration "${1:-${TMPDIR:-/tmp}/ionmap-bench-registration}"
