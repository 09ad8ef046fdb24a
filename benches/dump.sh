#!/usr/bin/env bash
# benches/dump.sh — every analysis of the benchmark cells, a 1 MB generated corpus, the analyzer's fixtures and
# the CPython standard library, as `pyrepl3-analyze --format json`, to one file: an optimisation of
# the analyzer must leave it byte-identical.
#
#   benches/dump.sh OUT.json               write the dump
#   benches/dump.sh OUT.json BASELINE.json write it and compare (exit 1 and the first difference)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:?usage: benches/dump.sh OUT.json [BASELINE.json]}
cargo build --release -q -p pyrepl3-cli -p pyrepl3-benches --bin pyrepl3-analyze --bin pyrepl3-bench
mkdir -p target/bench-data/cells
target/release/pyrepl3-bench cells target/bench-data/cells >/dev/null
target/release/pyrepl3-bench corpus target/bench-data/dump-corpus --bytes 1000000 >/dev/null
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
# Exit status 1 only says that some cell is a syntax error; 2 is a usage or input error.
status=0
target/release/pyrepl3-analyze --format json target/bench-data/cells target/bench-data/dump-corpus crates/analyzer/tests/fixtures \
    "$stdlib" >"$out" || status=$?
if ((status > 1)); then exit "$status"; fi
if [[ -n ${2:-} ]]; then
    if ! cmp -s "$out" "$2"; then
        echo "dump.sh: $out differs from $2:" >&2
        diff <(python3 -m json.tool "$2") <(python3 -m json.tool "$out") | head -40 >&2
        exit 1
    fi
    echo "dump.sh: identical to $2"
fi
