#!/usr/bin/env bash
# benches/instructions.sh — instructions per cell of analyze_cell and of a bare ruff parse, and
# their ratio, counted by callgrind (deterministic: the same on a busy machine as on an idle one).
#
#   benches/instructions.sh            every benchmark cell (all modes, all sizes)
#   benches/instructions.sh 30         only the 30-line cells
#
# Environment: PYREPL3_INSTR_N (repetitions per count, default 200); PYREPL3_INSTR_ALLOC
# (`system`, the default, or `mimalloc`: the global allocator of the counted binary. The system
# allocator is what a host embedding the analyzer has unless it chooses another, and what every
# earlier count in the README used; mimalloc is what pyrepl3-analyze links).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (scripts/install-test-deps.sh installs it)" >&2; exit 2; }
n=${PYREPL3_INSTR_N:-200}
only=${1:-}

alloc=${PYREPL3_INSTR_ALLOC:-system}
case $alloc in
system) features=(--no-default-features) ;;
mimalloc) features=() ;;
*) echo "instructions.sh: PYREPL3_INSTR_ALLOC must be system or mimalloc, not $alloc" >&2; exit 2 ;;
esac
# Switching features rebuilds only this package, not the analyzer or its dependencies.
target=$root/target
cargo build --release -q -p pyrepl3-benches "${features[@]}" --bin pyrepl3-bench --example repeat
data=$root/target/bench-data/cells
mkdir -p "$data"
"$target"/release/pyrepl3-bench cells "$data"

count() { # what file -> instructions per repetition
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        --toggle-collect="*pyrepl3_measured_$1*" "$target"/release/examples/repeat "$1" "$2" "$n" \
        >/dev/null 2>&1
    local total
    total=$(awk '/^summary:/ {print $2}' "$out")
    rm -f "$out"
    echo $((total / n))
}

echo "allocator: $alloc"
printf '%-22s %12s %12s %7s\n' cell analyze_instr parse_instr ratio
for f in "$data"/*.py; do
    name=$(basename "$f" .py)
    if [[ -n $only && $name != *_"$only" ]]; then continue; fi
    a=$(count analyze "$f")
    p=$(count parse "$f")
    printf '%-22s %12d %12d %7s\n' "$name" "$a" "$p" "$(awk -v a="$a" -v p="$p" 'BEGIN {printf "%.2f", a / p}')"
done
