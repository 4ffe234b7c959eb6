# Sourced by the validation CTest scripts: exit 77 (CTest's skip) when Debian's Python packages
# the generators need are missing.
if ! /usr/bin/python3 -c "import scipy, tifffile, h5py" 2>/dev/null; then
  echo "SKIP: Debian's python3-scipy, python3-tifffile and python3-h5py are needed (scripts/install-deps.sh installs them)"
  exit 77
fi
