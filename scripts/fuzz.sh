#!/usr/bin/env bash
# Fuzzes every reader with libFuzzer (clang, ASan + UBSan) and reports executions and findings
# per reader. Usage: scripts/fuzz.sh [READER ...]   (default: all)
#   FUZZ_RUNS=1000000  executions per reader (default 1e6); FUZZ_SECONDS also caps the time
#   FUZZ_JOBS=2        readers fuzzed at once
# Seeds: the bundled samples, ../shared/data/instrument-files when present, and small files
# made here. Findings (crash-*, leak-*, timeout-*, oom-*) are minimised into
# tests/fuzz/regressions/<reader>/, where tests/plugins/generic/fuzz_regressions_test.cpp
# replays them in the normal test suite. The report goes to build-fuzz/fuzz-report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=${FUZZ_BUILD:-$ROOT/build-fuzz}
RUNS=${FUZZ_RUNS:-1000000}
JOBS=${FUZZ_JOBS:-2}
READERS=("$@")
[ ${#READERS[@]} -eq 0 ] && READERS=(tiff image-png image-jpeg image-bmp matrix-text transform \
  imzml ibd iontof-text ang ctf dm gwy sxm ibw nanoscope tdms csv-table)

bash scripts/install-deps.sh
if ! command -v clang++ >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
CC=clang CXX=clang++ cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIONMAP_FUZZ=ON >/dev/null
cmake --build "$B" -j"$(nproc)" --target ionmap_fuzz_reader

SHARED=$ROOT/../shared/data/instrument-files
C=$B/corpus
mkdir -p "$C"
seed() {  # seed READER FILE...
  mkdir -p "$C/$1"
  local r=$1; shift
  for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$C/$r/$(basename "$f")"; done
  return 0
}
seed tiff data/samples/*/*.tif
seed matrix-text data/samples/basic/*.csv
seed transform data/samples/*/*.yaml
[ -d "$SHARED" ] && {
  seed imzml "$SHARED"/imzml/*.imzML
  seed ibd "$SHARED"/imzml/Example_Continuous.ibd
  seed iontof-text "$SHARED"/iontof-text/*
  seed ang "$SHARED"/ang/*.ang
  seed ctf "$SHARED"/ctf/*.ctf
  seed dm "$SHARED"/dm/*
  seed tdms "$SHARED"/tdms/*.tdms
}
# Small files of every kind (also when ../shared is missing).
/usr/bin/python3 - "$C" <<'PY'
import io, os, struct, sys
import numpy as np
from matplotlib import image as mimg
C = sys.argv[1]
def put(reader, name, data):
    os.makedirs(os.path.join(C, reader), exist_ok=True)
    with open(os.path.join(C, reader, name), "wb") as f:
        f.write(data)
a = (np.arange(48, dtype=np.float64).reshape(6, 8) / 48)
for fmt, reader in (("png", "image-png"), ("jpg", "image-jpeg"), ("bmp", "image-bmp")):
    buf = io.BytesIO()
    try:
        mimg.imsave(buf, a, format=fmt, cmap="gray")
        put(reader, "small." + fmt, buf.getvalue())
    except Exception as e:  # a codec matplotlib/PIL lacks here
        print(f"note: no {fmt} seed ({e})")
put("matrix-text", "gwy.txt", b"# Channel: Potential\n# Width: 2.000 um\n# Height: 1.000 um\n"
    b"# Value units: V\n0.1\t0.2\t0.3\t0.4\n0.5\t0.6\t0.7\t0.8\n")
put("matrix-text", "semi.csv", b"1,5;2,5\n3,0;4,0\n")
put("csv-table", "long.csv", b"# SECCM\npoint,x (um),E [mV],I (nA),note\n0,1.5,100,2.5,ok\n0,1.5,200,,\n")
put("csv-table", "semi.csv", b"E (V);I (A)\n0,5;1,25\n0,6;1,5\n")
put("ang", "small.ang", b"# XSTEP: 0.5\n# YSTEP: 0.5\n# NCOLS_ODD: 2\n# NCOLS_EVEN: 2\n"
    b"# NROWS: 2\n# GRID: SqrGrid\n# Phase 1\n# MaterialName Iron\n# Symmetry 43\n"
    b"0.1 0.2 0.3 0 0 100 0.9 1\n0.1 0.2 0.3 0.5 0 100 0.9 1\n"
    b"0.1 0.2 0.3 0 0.5 100 0.9 1\n0.1 0.2 0.3 0.5 0.5 100 0.9 1\n")
put("ctf", "small.ctf", b"Channel Text File\nPrj\tx\nJobMode\tGrid\nXCells\t2\nYCells\t1\n"
    b"XStep\t0.5\nYStep\t0.5\nPhases\t1\n3.6;3.6;3.6\t90;90;90\tIron\t11\t225\n"
    b"Phase\tX\tY\tBands\tError\tEuler1\tEuler2\tEuler3\tMAD\tBC\tBS\n"
    b"1\t0\t0\t8\t0\t10\t20\t30\t0.5\t100\t100\n1\t0.5\t0\t8\t0\t10\t20\t30\t0.5\t100\t100\n")
# Small SPM files (the real ones are larger than -max_len): a .gwy with one 3 x 2 channel, an
# .sxm of one channel forward and backward, a version-5 .ibw of 3 x 2 x 2, a Nanoscope file of
# one 4 x 2 image.
def gwy_obj(name, comps): return name + b"\0" + struct.pack("<I", len(comps)) + comps
def gwy_c(key, t, v): return key + b"\0" + t + v
unit = lambda u: gwy_obj(b"GwySIUnit", gwy_c(b"unitstr", b"s", u + b"\0"))
field = gwy_obj(b"GwyDataField", gwy_c(b"xres", b"i", struct.pack("<i", 3)) +
    gwy_c(b"yres", b"i", struct.pack("<i", 2)) + gwy_c(b"xreal", b"d", struct.pack("<d", 3e-6)) +
    gwy_c(b"yreal", b"d", struct.pack("<d", 2e-6)) + gwy_c(b"si_unit_xy", b"o", unit(b"m")) +
    gwy_c(b"si_unit_z", b"o", unit(b"V")) +
    gwy_c(b"data", b"D", struct.pack("<I", 6) + struct.pack("<6d", *range(6))))
put("gwy", "small.gwy", b"GWYP" + gwy_obj(b"GwyContainer", gwy_c(b"/0/data", b"o", field) +
    gwy_c(b"/0/data/title", b"s", b"Potential\0")))
put("sxm", "small.sxm", b":NANONIS_VERSION:\n2\n:SCANIT_TYPE:\n FLOAT MSBFIRST\n:SCAN_PIXELS:\n 3 2\n"
    b":SCAN_RANGE:\n 3E-6 2E-6\n:SCAN_OFFSET:\n 0 0\n:SCAN_DIR:\nup\n:DATA_INFO:\n"
    b"\tChannel\tName\tUnit\tDirection\tCalibration\tOffset\n\t1\tKelvin\tV\tboth\t1\t0\n\n"
    b":SCANIT_END:\n\n\n\x1a\x04" + struct.pack(">12f", *range(12)))
hdr = struct.pack("<hhiiii4i4iiii", 5, 0, 320 + 48, 0, 0, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 0)
wave = bytearray(320)
struct.pack_into("<i", wave, 12, 12); struct.pack_into("<h", wave, 16, 2)
wave[28:32] = b"wave"; struct.pack_into("<4i", wave, 68, 3, 2, 2, 0)
struct.pack_into("<4d", wave, 84, 1e-6, 1e-6, 1, 1); wave[148:149] = b"V"; wave[152:153] = b"m"
ibw = bytearray(hdr + bytes(wave))
s = sum(struct.unpack("<192h", bytes(ibw[:384]))) & 0xFFFF
struct.pack_into("<H", ibw, 2, (-s) & 0xFFFF)
put("ibw", "small.ibw", bytes(ibw) + struct.pack("<12f", *range(12)) +
    b"\0" * 32 + b"HeightRetrace".ljust(32, b"\0") + b"PotentialTrace".ljust(32, b"\0"))
spm = (b"\\*File list\r\n\\Version: 0x09200000\r\n\\*Scanner list\r\n"
       b"\\@Sens. Zsens: V 10.0 nm/V\r\n\\*Ciao image list\r\n\\Data offset: 1024\r\n"
       b"\\Data length: 16\r\n\\Bytes/pixel: 2\r\n\\Samps/line: 4\r\n\\Number of lines: 2\r\n"
       b"\\Scan Size: 4 2 ~m\r\n\\@2:Image Data: S [Height] \"Height\"\r\n"
       b"\\@2:Z scale: V [Sens. Zsens] (0.000375 V/LSB) 24.576 V\r\n\\*File list end\r\n")
put("nanoscope", "small.spm", spm.ljust(1024, b"\0") + struct.pack("<8h", *range(8)))
put("transform", "t.yaml", b"# ionmap transform\nionmap_transform:\n  kind: rigid\n  matrix: [1, 0, 2.5, 0, 1, 3]  # [a, b, tx, c, d, ty]\n")
# A 4 x 3 float32 DigitalMicrograph 3 image, calibrated in nm.
be = lambda v: struct.pack(">I", v)
def head(kind, name): return bytes([kind]) + struct.pack(">H", len(name)) + name
def group(name, body, n): return head(20, name) + b"\0\1" + be(n) + body
def f32(name, v): return head(21, name) + b"%%%%" + be(1) + be(6) + struct.pack("<f", v)
def i32(name, v): return head(21, name) + b"%%%%" + be(1) + be(3) + struct.pack("<i", v)
def text(name, s): return head(21, name) + b"%%%%" + be(3) + be(20) + be(4) + be(len(s)) + \
    b"".join(struct.pack("<H", ord(c)) for c in s)
dims = [4, 3]
cal = b"".join(group(b"", f32(b"Scale", 0.5) + text(b"Units", "nm"), 2) for _ in dims)
data = head(21, b"Data") + b"%%%%" + be(3) + be(20) + be(6) + be(12) + \
    b"".join(struct.pack("<f", float(i)) for i in range(12))
dimt = b"".join(head(21, b"") + b"%%%%" + be(1) + be(5) + struct.pack("<I", d) for d in dims)
img = group(b"ImageData", group(b"Calibrations", group(b"Dimension", cal, 2), 1) + data +
            i32(b"DataType", 2) + group(b"Dimensions", dimt, 2), 4)
put("dm", "small.dm3", be(3) + be(0) + be(1) + b"\0\1" + be(1) + group(b"ImageList", group(b"", img, 1), 1))
# TDMS: one little-endian segment (a float64 and a string channel, properties), a second that
# reuses its metadata, and a big-endian interleaved file.
def tdms(toc, meta, data, big=False):
    e = ">" if big else "<"
    return b"TDSm" + struct.pack("<I", toc) + struct.pack(e + "IQQ", 4713, len(meta) + len(data), len(meta)) + meta + data
def tstr(s, e="<"): return struct.pack(e + "I", len(s)) + s
def tobj(path, index, props=b"", nprops=0, e="<"): return tstr(path, e) + index + struct.pack(e + "I", nprops) + props
none = struct.pack("<I", 0xFFFFFFFF)
meta = struct.pack("<I", 4) + tobj(b"/", none, tstr(b"name") + struct.pack("<I", 0x20) + tstr(b"map"), 1) + \
    tobj(b"/'g'", none) + tobj(b"/'g'/'I (A)'", struct.pack("<IIIQ", 20, 10, 1, 3)) + \
    tobj(b"/'g'/'s'", struct.pack("<IIIQQ", 28, 0x20, 1, 2, 11))
data = struct.pack("<3d", 1e-12, 2e-12, 3e-12) + struct.pack("<2I", 1, 3) + b"abc"
put("tdms", "small.tdms", tdms(0x0E, meta, data) + tdms(0x08, b"", data))
bm = struct.pack(">I", 2) + tobj(b"/'g'/'a'", struct.pack(">IIIQ", 20, 3, 1, 2), e=">") + \
    tobj(b"/'g'/'b'", struct.pack(">IIIQ", 20, 9, 1, 2), e=">")
put("tdms", "interleaved.tdms", tdms(0x6E, bm, struct.pack(">ifif", 1, 0.5, 2, 1.5), True))
PY

dict_of() {
  case $1 in
    tiff) echo tiff;; image-png) echo png;; image-jpeg) echo jpeg;; image-bmp) echo bmp;;
    matrix-text|csv-table|transform|iontof-text) echo text;; imzml|ibd) echo imzml;; ang|ctf) echo ebsd;;
    dm) echo dm;;
    gwy|sxm|ibw|nanoscope) echo spm;;
    tdms) echo tdms;;
  esac
}
PAIR=""
[ -f "$SHARED/imzml/Example_Continuous.imzML" ] && PAIR="$SHARED/imzml/Example_Continuous.imzML"
REPORT=$B/fuzz-report.md
mkdir -p "$B/logs" "$B/findings"
fuzz_one() {
  local r=$1
  if { [ "$r" = imzml ] || [ "$r" = ibd ]; } && [ -z "$PAIR" ]; then
    echo "$r|skipped (needs ../shared/data/instrument-files/imzml)" > "$B/logs/$r.row"; return 0
  fi
  mkdir -p "$C/$r" "$B/findings/$r"
  local budget="-runs=$RUNS"
  [ -n "${FUZZ_SECONDS:-}" ] && budget="$budget -max_total_time=$FUZZ_SECONDS"
  local t0=$(date +%s)
  IONMAP_FUZZ_READER=$r IONMAP_FUZZ_PAIR=$PAIR IONMAP_MAX_MEMORY=512M \
    "$B/ionmap_fuzz_reader" $budget -dict="tests/fuzz/dict/$(dict_of "$r").dict" \
    -max_len=65536 -timeout=20 -report_slow_units=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$B/findings/$r/" "$C/$r" > "$B/logs/$r.log" 2>&1 || true
  local secs=$(( $(date +%s) - t0 ))
  local execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/logs/$r.log" | grep -o '[0-9]*$' | tail -1)
  # Slow units (libFuzzer's note of an input slower than 20 s that still finished, e.g. on a
  # loaded machine) are listed but are not findings; timeouts are.
  local found=$(ls "$B/findings/$r" | grep -vc '^slow-unit-' || true)
  echo "$r|${execs:-0}|$secs|$found|$(ls "$C/$r" | wc -l)" > "$B/logs/$r.row"
}
export -f fuzz_one dict_of
export B C RUNS PAIR FUZZ_SECONDS
printf '%s\n' "${READERS[@]}" | xargs -P "$JOBS" -I{} bash -c 'fuzz_one {}'

{
  echo "# Fuzzing: $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD), budget $RUNS runs${FUZZ_SECONDS:+ or ${FUZZ_SECONDS} s} per reader"
  echo
  echo "| reader | executions | seconds | findings | corpus files |"
  echo "|---|---|---|---|---|"
  for r in "${READERS[@]}"; do
    IFS='|' read -r name execs secs found corpus < "$B/logs/$r.row"
    echo "| $name | $execs | $secs | $found | $corpus |"
  done
} | tee "$REPORT"

# Findings become regression inputs for the normal test suite.
status=0
for r in "${READERS[@]}"; do
  for f in "$B/findings/$r"/*; do
    [ -e "$f" ] || continue
    case $(basename "$f") in slow-unit-*) echo "slow unit (not a finding): $f"; continue;; esac
    status=1
    mkdir -p "tests/fuzz/regressions/$r"
    IONMAP_FUZZ_READER=$r IONMAP_FUZZ_PAIR=$PAIR "$B/ionmap_fuzz_reader" -minimize_crash=1 \
      -runs=20000 -exact_artifact_path="tests/fuzz/regressions/$r/$(basename "$f")" "$f" \
      >/dev/null 2>&1 || cp "$f" "tests/fuzz/regressions/$r/"
    echo "finding: $f (reproduce: IONMAP_FUZZ_READER=$r $B/ionmap_fuzz_reader $f)"
  done
done
exit $status
