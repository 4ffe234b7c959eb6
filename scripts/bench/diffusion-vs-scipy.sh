#!/usr/bin/env bash
# ionmap's diffusion fit (microstructure and grain-network models) against a straightforward
# SciPy implementation of the same model fitted to the same synthetic data, in one run:
# forward time, fit time, forward evaluations, errors against the truth.
# Usage: scripts/bench/diffusion-vs-scipy.sh [WORKDIR] [N]   (N x N cells, default 512)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c "import scipy" 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-scipy >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap_bench_diffusion -j"$(nproc)" >/dev/null
echo "scipy $(/usr/bin/python3 -c 'import scipy; print(scipy.__version__)'), $(nproc) cores"
WORK=${1:-${TMPDIR:-/tmp}/ionmap-bench-diffusion}
N=${2:-512}
./build/tests/ionmap_bench_diffusion "$WORK" "$N"
/usr/bin/python3 scripts/bench/diffusion_scipy.py "$WORK"
