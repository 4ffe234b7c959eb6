#!/usr/bin/env bash
# The HTML reports in a real browser: a small campaign (three datasets of the sample campaign,
# one per temperature) is run and aggregated, then the campaign's report.html and one dataset's
# report.html are opened in headless Chromium (Debian's `chromium`): the page must render with
# its image check reporting every image decoded (data-report-check="ok"), print nothing on the
# console (the pages write none: any console line is an error of the page), and its screenshot
# must not be blank. Exit 77 (skipped) when chromium or /usr/bin/python3 with NumPy is missing.
#   report-chromium.sh IONMAP_EXE WORKDIR
set -euo pipefail
EXE=$1
WORK=$2
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "report-chromium: chromium not installed (scripts/install-deps.sh --tests): skipped"
  exit 77
fi
if ! /usr/bin/python3 -c "import numpy, matplotlib.image" 2>/dev/null; then
  echo "report-chromium: /usr/bin/python3 with numpy and matplotlib needed: skipped"
  exit 77
fi
rm -rf "$WORK"
mkdir -p "$WORK"
export CI=true
"$EXE" simulate campaign --out "$WORK/data" >/dev/null
"$EXE" campaign run "$WORK/data/manifest.yaml" --out "$WORK/out" --jobs 2 \
  --only T573-r1 T623-r1 T673-r1 >/dev/null
"$EXE" campaign aggregate "$WORK/out" >/dev/null 2>"$WORK/aggregate.err"

# Chromium's own chatter (dbus, GPU) goes to stderr at ERROR level; the page's console
# messages are the lines with ":CONSOLE" (at --log-level=0).
browse() {
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --user-data-dir="$WORK/profile" "$@" 2>>"$WORK/chromium.err"
}
fail=0
for page in "$WORK/out/campaign/report.html" "$WORK/out/T573-r1/report.html"; do
  : >"$WORK/chromium.err"
  dom=$(browse --enable-logging=stderr --log-level=0 --virtual-time-budget=10000 --dump-dom "file://$page")
  check=$(printf '%s' "$dom" | grep -o 'data-report-check="[^"]*"' | head -1 || true)
  if [ "$check" != 'data-report-check="ok"' ]; then
    echo "FAIL $page: image check says ${check:-nothing (the script did not run)}"
    fail=1
  fi
  if grep -q ':CONSOLE' "$WORK/chromium.err"; then
    echo "FAIL $page: console output:"
    grep ':CONSOLE' "$WORK/chromium.err" | head -5
    fail=1
  fi
  shot="$WORK/$(basename "$(dirname "$page")").png"
  browse --screenshot="$shot" --window-size=1280,1400 "file://$page" >/dev/null
  if ! /usr/bin/python3 - "$shot" <<'PY'
import sys
import matplotlib.image as mpimg
import numpy as np
img = mpimg.imread(sys.argv[1])[..., :3]
dark = float((img.mean(axis=2) < 0.8).mean())
print(f"{sys.argv[1]}: {img.shape[1]} x {img.shape[0]} px, {100 * dark:.1f} % not white, "
      f"spread {float(img.std()):.3f}")
sys.exit(0 if dark > 0.02 and img.std() > 0.05 else 1)
PY
  then
    echo "FAIL $page: the screenshot is blank"
    fail=1
  fi
  size=$(stat -c %s "$page")
  echo "$page: $size bytes, $check"
done
exit $fail
