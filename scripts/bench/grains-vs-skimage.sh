#!/usr/bin/env bash
# ionmap grain segmentation vs a scikit-image pipeline on synthetic 1024² and 4096²
# microstructures with known grains: boundary F1 at 2 px, grain-count and mean-area errors,
# wall time, peak memory — both in one run, scored by the same code.
# Usage: scripts/bench/grains-vs-skimage.sh [WORKDIR] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c "import skimage" 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-skimage >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target ionmap_bench_grains -j"$(nproc)" >/dev/null
echo "scikit-image $(/usr/bin/python3 -c 'import skimage; print(skimage.__version__)')"
WORK=${1:-${TMPDIR:-/tmp}/ionmap-bench-grains}
shift || true
./build/tests/ionmap_bench_grains scripts/bench "$WORK" "$@"
