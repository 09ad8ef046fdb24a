#!/usr/bin/env bash
# Installs the system tools the test suite drives (Debian/Ubuntu, apt-get), only when missing:
#   tmux     - crates/cli/tests/repl_tmux.rs drives the interactive REPL through a real terminal
#   readelf  - crates/cli/tests/analyze_links_no_python.rs checks pyrepl3-analyze needs no libpython
#   python3  - the oracle and the embedded interpreter's tests (3.11)
#   valgrind - benches/tests/python_side.rs runs benches/python/overhead_by_statement.py, which
#              counts instructions with callgrind (as benches/instructions.sh does)
# Run as root or with sudo available. Safe to run repeatedly.
set -euo pipefail

missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "installing test dependencies: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q "${missing[@]}"
