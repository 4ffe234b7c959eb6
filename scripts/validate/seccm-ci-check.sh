#!/usr/bin/env bash
# The SECCM validation CTest runs: 20 independent cases (seccm_case.py: stripe domains of random
# period, direction and contrast with a grain boundary, every contact disk integrated on a fine
# lattice, radius scatter, pipette, spikes, noise, failed landings, a big-endian interleaved
# TDMS file, the classes on a reference under a random rigid transform) through
# pipelines/seccm-orientation.yaml; class means, band period and direction against the truth
# within their errors (seccm_validate.py). Usage: seccm-ci-check.sh IONMAP_EXE WORKDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/needs-python.sh"
mkdir -p "$2"
/usr/bin/python3 "$here/seccm_validate.py" "$2" --ionmap "$1" --seeds 1-20
