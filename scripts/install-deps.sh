#!/usr/bin/env bash
# Installs everything ionmap needs to build, test and make its plots, from Debian 12's
# packages only. Idempotent: packages already present are left alone, and apt is not
# touched at all when nothing is missing.
#   --tests  also the reference tools the tests compare against or run under (Gwyddion, which
#            reads and converts every SPM format ionmap reads; Chromium, which opens the HTML
#            reports; Snakemake, which runs campaigns on a cluster)
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libopencv-dev libfftw3-dev libeigen3-dev libhdf5-dev hdf5-tools libceres-dev libtbb-dev
  libgtest-dev libcli11-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libpugixml-dev libexpat1-dev libtiff-dev libpng-dev libjpeg-dev libssl-dev zlib1g-dev libmetis-dev
  python3-numpy python3-h5py python3-matplotlib python3-scipy python3-tifffile python3-yaml
)
if [ "${1:-}" = "--tests" ]; then
  PACKAGES+=(gwyddion chromium snakemake)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
