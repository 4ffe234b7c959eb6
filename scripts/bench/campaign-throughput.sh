#!/usr/bin/env bash
# Campaign throughput: the built-in runner with 1 and with 2 workers (the speed-up; goal >= 1.8
# on 2 cores), and Snakemake (local, --cores 2) against the built-in runner with 2 workers (its
# overhead), side by side in one invocation, at 12 datasets (the sample campaign: ToF-SIMS
# exchange maps through pipelines/sims-gb-diffusion.yaml, ~1.5 s each) and at N small datasets
# (default 200: the basic sample through pipelines/kpfm-grain-stats.yaml, ~0.5 s each). Each
# timing is a fresh output folder (nothing skipped).
#   scripts/bench/campaign-throughput.sh [WORKDIR] [N]   (IONMAP_EXE=... to use a built ionmap)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
bash scripts/install-deps.sh --tests >/dev/null
if [ -n "${IONMAP_EXE:-}" ]; then  # an ionmap already built (Release)
  EXE=$IONMAP_EXE
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target ionmap -j"$(nproc)" >/dev/null
  EXE=$ROOT/build/ionmap
fi
WORK=${1:-${TMPDIR:-/tmp}/ionmap-bench-campaign}
N=${2:-200}
rm -rf "$WORK"
mkdir -p "$WORK"
export CI=true

"$EXE" simulate campaign --out "$WORK/sims" >/dev/null
{
  echo "campaign: small"
  echo "pipeline: kpfm-grain-stats.yaml"
  echo "conditions: {index: 1}"
  echo "datasets:"
  for i in $(seq 1 "$N"); do
    echo "  - {id: d$i, conditions: {index: $i}}"
  done
} >"$WORK/small.yaml"

now() { date +%s.%N; }
elapsed() { /usr/bin/python3 -c "print(f'{$2 - $1:.1f}')"; }
run_builtin() {  # manifest out jobs
  rm -rf "$2"
  local t0; t0=$(now)
  "$EXE" campaign run "$1" --out "$2" --jobs "$3" >/dev/null 2>&1
  "$EXE" campaign aggregate "$2" >/dev/null 2>&1
  elapsed "$t0" "$(now)"
}
run_snakemake() {  # manifest out
  rm -rf "$2" "$WORK/smk-state"
  mkdir -p "$WORK/smk-state"
  local t0; t0=$(now)
  snakemake -s "$ROOT/scripts/snakemake/Snakefile" --directory "$WORK/smk-state" --cores 2 -q \
    --config manifest="$1" out="$2" ionmap="$EXE" >/dev/null 2>&1
  elapsed "$t0" "$(now)"
}
echo "$(nproc) cores, ionmap $("$EXE" --version 2>/dev/null || echo), snakemake $(snakemake --version)"
echo "| datasets | built-in, 1 worker (s) | built-in, 2 workers (s) | speed-up | Snakemake, 2 cores (s) | Snakemake / built-in |"
echo "|---|---|---|---|---|---|"
for case in "12:$WORK/sims/manifest.yaml" "$N:$WORK/small.yaml"; do
  n=${case%%:*}
  m=${case#*:}
  t1=$(run_builtin "$m" "$WORK/out1" 1)
  t2=$(run_builtin "$m" "$WORK/out2" 2)
  ts=$(run_snakemake "$m" "$WORK/outs")
  cmp -s "$WORK/out2/campaign/quantities.csv" "$WORK/outs/campaign/quantities.csv" ||
    echo "WARNING: Snakemake's quantities differ from the built-in runner's"
  /usr/bin/python3 -c "print(f'| $n | $t1 | $t2 | {$t1 / $t2:.2f}x | $ts | {$ts / $t2:.2f}x |')"
done
ls -la "$WORK/out2/campaign/report.html" | awk '{print "campaign report at " '"$N"' " datasets: " $5 " bytes"}'
