#!/usr/bin/env bash
# The small validation CTest runs: three easy and one hard independent case at 64 x 64 SIMS
# pixels through the main job; every run's kappa must be inside its 95 % interval or the run
# flagged as not fit for use. Usage: ci-check.sh IONMAP_EXE WORKDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/needs-python.sh"
mkdir -p "$2"
/usr/bin/python3 "$here/coverage.py" "$2" --ionmap "$1" --seeds 101-103 --pixels 64 --check kappa
/usr/bin/python3 "$here/coverage.py" "$2" --ionmap "$1" --seeds 104 --pixels 64 --difficulty hard --check kappa
