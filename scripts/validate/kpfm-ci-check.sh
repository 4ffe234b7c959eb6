#!/usr/bin/env bash
# The KPFM interface-profile validation CTest runs: 12 independent step cases and 12
# space-charge cases (kpfm_case.py) across a straight interface, and 20 of each across tilted and
# 20 across curved interfaces that the stage finds itself, through
# pipelines/kpfm-interface-profile.yaml; the fitted
# dV, position, width / decay lengths and slope must agree with the truth within their own
# standard errors over the seeds (kpfm_coverage.py). Usage: kpfm-ci-check.sh IONMAP_EXE WORKDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/needs-python.sh"
mkdir -p "$2"
/usr/bin/python3 "$here/kpfm_coverage.py" "$2/straight" --ionmap "$1" --seeds 1-12
# Tilted and curved interfaces, found by the profile stage itself (detect: potential).
/usr/bin/python3 "$here/kpfm_coverage.py" "$2/detected" --ionmap "$1" --seeds 1-20 \
  --geometries tilted,curved
