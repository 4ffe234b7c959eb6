#!/usr/bin/env bash
# The operando KPFM validation CTest runs: 10 independent cases (operando_case.py: Voronoi
# particles drawn on a grid four times finer than the pixels, exact sub-pixel drift, tip and
# ion-beam blur, 3-6 states of charge with non-linear responses, noise, Poisson lithium counts)
# through pipelines/kpfm-sims-operando.yaml; classification, drift, potential changes against
# their errors, phases and the dV-dLi correlation are checked against the truth
# (operando_validate.py). Usage: operando-ci-check.sh IONMAP_EXE WORKDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/needs-python.sh"
mkdir -p "$2"
/usr/bin/python3 "$here/operando_validate.py" "$2" --ionmap "$1" --seeds 1-10
