#!/bin/sh
# IPython baseline for the criterion benches: installs IPython in a throwaway virtual
# environment (outside the repository) and runs ipython_baseline.py with the same python3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${IPYTHON_VENV:-${TMPDIR:-/tmp}/pyrepl3-ipython-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet ipython
fi
exec "$venv/bin/python" "$here/ipython_baseline.py" "$@"
