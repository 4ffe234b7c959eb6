#!/usr/bin/env bash
# The sample campaign run by Snakemake (Debian's `snakemake`, local execution) and by the
# built-in runner: the aggregated numbers must be identical (quantities.csv, analyses.csv, byte
# for byte); a second Snakemake run has nothing to do; Snakemake over a folder the built-in runner
# filled skips every dataset inside its job (the same content hash). Exit 77 (skipped) when
# snakemake is not installed.
#   snakemake-vs-builtin.sh IONMAP_EXE WORKDIR
set -euo pipefail
EXE=$1
WORK=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v snakemake >/dev/null; then
  echo "snakemake-vs-builtin: snakemake not installed (scripts/install-deps.sh --tests): skipped"
  exit 77
fi
rm -rf "$WORK"
mkdir -p "$WORK"
export CI=true
"$EXE" simulate campaign --out "$WORK/data" >/dev/null
M="$WORK/data/manifest.yaml"

"$EXE" campaign run "$M" --out "$WORK/builtin" --jobs 2 >"$WORK/builtin.out" 2>&1
"$EXE" campaign aggregate "$WORK/builtin" >/dev/null 2>&1
smk() {
  snakemake -s "$ROOT/scripts/snakemake/Snakefile" --directory "$WORK/smk-state" --cores 2 -q \
    --config manifest="$M" out="$1" ionmap="$EXE"
}
mkdir -p "$WORK/smk-state"
smk "$WORK/snakemake" >"$WORK/snakemake.out" 2>&1
fail=0
for f in quantities.csv analyses.csv datasets.csv; do
  if cmp -s "$WORK/builtin/campaign/$f" "$WORK/snakemake/campaign/$f"; then
    echo "identical: campaign/$f"
  else
    echo "FAIL: campaign/$f differs between Snakemake and the built-in runner"
    diff "$WORK/builtin/campaign/$f" "$WORK/snakemake/campaign/$f" | head -5
    fail=1
  fi
done
snakemake -s "$ROOT/scripts/snakemake/Snakefile" --directory "$WORK/smk-state" --cores 2 \
  --config manifest="$M" out="$WORK/snakemake" ionmap="$EXE" >"$WORK/again.out" 2>&1
if grep -q "Nothing to be done" "$WORK/again.out"; then
  echo "second Snakemake run: nothing to be done"
else
  echo "FAIL: a second Snakemake run did work"
  fail=1
fi
# Over the built-in runner's folder (its aggregate removed): every job skips its dataset.
cp -r "$WORK/builtin" "$WORK/reuse"
rm -rf "$WORK/reuse/campaign"
smk "$WORK/reuse" >"$WORK/reuse.out" 2>&1
skipped=$(cat "$WORK"/reuse/logs/*.snakemake.log | grep -c "0 ran, 1 skipped" || true)
if [ "$skipped" = 12 ]; then
  echo "Snakemake over the built-in runner's results: 12 of 12 datasets skipped by their hash"
else
  echo "FAIL: only $skipped of 12 datasets were skipped"
  fail=1
fi
cmp -s "$WORK/builtin/campaign/quantities.csv" "$WORK/reuse/campaign/quantities.csv" || {
  echo "FAIL: the aggregate over reused results differs"
  fail=1
}
exit $fail
