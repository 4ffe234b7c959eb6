#!/usr/bin/env bash
# Installs what ionmap needs, builds everything with warnings as errors, and runs the whole
# test suite (CTest + GoogleTest). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DIONMAP_WERROR=ON -DIONMAP_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"

if [ ! -d ../shared/data/instrument-files ]; then
  echo "note: ../shared/data/instrument-files not found: tests on real instrument files are skipped"
fi
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600
