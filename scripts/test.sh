#!/usr/bin/env bash
# Installs what ionmap needs, builds everything with warnings as errors, and runs the whole
# test suite (CTest + GoogleTest), then the same suite under ASan + UBSan. `.ci/run` calls
# exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --tests
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DIONMAP_WERROR=ON -DIONMAP_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"

if [ ! -d ../shared/data/instrument-files ]; then
  echo "note: ../shared/data/instrument-files not found: tests on real instrument files are skipped"
fi
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 600)

# The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer: a memory error,
# a leak or undefined behaviour anywhere (readers on corrupted files included) fails the run.
# IONMAP_SKIP_SANITIZERS=1 skips this second build for a quick local check.
if [ "${IONMAP_SKIP_SANITIZERS:-0}" = 1 ]; then
  echo "note: IONMAP_SKIP_SANITIZERS=1: the sanitizer build was skipped"
  exit 0
fi
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIONMAP_SANITIZE=ON -DIONMAP_WERROR=ON \
  -DIONMAP_BUILD_TESTS=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
cd build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$(pwd)/../scripts/lsan.supp:print_suppressions=0
ctest --output-on-failure -j"$(nproc)" --timeout 1800
