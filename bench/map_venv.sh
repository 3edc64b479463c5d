#!/usr/bin/env bash
# Makes sure bench/.venv has what bench/map_ref.py needs, and prints its Python's path on stdout.
# Creates the venv (python3 -m venv, as bench/methods.sh does) if it is missing, then installs from
# PyPI the pinned versions of whatever does not import: numpy==2.4.6 scipy==1.17.1
# scikit-learn==1.9.1 openTSNE==1.0.4 (falling back to unpinned if a pin does not install).
# Also pillow==13.0.0, which bench/map.sh uses to shrink its map screenshot; optional: if it does
# not install, this says so and still succeeds (the picture is then kept unquantised).
# Idempotent: with everything importable it installs nothing.
#
# Usage: py=$(bench/map_venv.sh [LOG]) || echo "t-SNE references unavailable, see LOG"
#   LOG  file for venv and pip output (default /dev/null); progress lines go to stderr
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:-/dev/null}
venv=bench/.venv
py=$venv/bin/python
if [ ! -x "$py" ]; then
  echo "map_venv: creating venv $venv" >&2
  python3 -m venv "$venv" >> "$log" 2>&1 || { echo "map_venv: venv creation failed (see $log)" >&2; exit 1; }
fi
check='import numpy, scipy, sklearn.manifold, openTSNE'
if ! "$py" -c "$check" 2>/dev/null; then
  echo "map_venv: pip install numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 openTSNE==1.0.4" >&2
  "$py" -m pip install numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 openTSNE==1.0.4 >> "$log" 2>&1 \
    || "$py" -m pip install numpy scipy scikit-learn openTSNE >> "$log" 2>&1 || true
  "$py" -c "$check" 2>/dev/null || { echo "map_venv: numpy/scipy/scikit-learn/openTSNE could not be installed (see $log)" >&2; exit 1; }
fi
if ! "$py" -c 'import PIL' 2>/dev/null; then
  echo "map_venv: pip install pillow==13.0.0" >&2
  "$py" -m pip install pillow==13.0.0 >> "$log" 2>&1 || "$py" -m pip install pillow >> "$log" 2>&1 \
    || echo "map_venv: pillow could not be installed (see $log); map pictures stay unquantised" >&2
fi
echo "$(pwd)/$py"
