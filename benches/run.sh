#!/usr/bin/env bash
# benches/run.sh — every benchmark figure of pyrepl3's analyzer, in one command.
#
#   benches/run.sh            criterion with short warm-up/measurement (shared machines)
#   benches/run.sh --full     criterion with its default timing
#   benches/run.sh -- ARGS    pass ARGS to criterion instead (e.g. a filter: -- simple_sync_30)
#   benches/run.sh --wall ... time per-cell benches by wall clock instead of thread CPU time
#   benches/run.sh --system-alloc ...  build the bench binaries with the system allocator instead
#                             of mimalloc (which pyrepl3-analyze links); results go to
#                             target/criterion-<clock>-system
#
# Per-cell timings (criterion and Python alike) use the CPU time of the benchmarking thread by
# default, so that other jobs on a shared machine do not inflate them; whole-process figures
# report both wall-clock and CPU time of the child processes.
#
# Environment: PYREPL3_BENCH_MB (corpus size in MB, default 4), PYREPL3_BENCH_RUNS (whole-process
# runs per side, best taken, default 3), PYREPL3_BENCH_NO_CLI=1 (do not time pyrepl3-analyze).
#
# Writes the benchmark cells and two corpora (generated notebook-like cells, and CPython
# standard-library modules cut into cells) to target/bench-data, runs the criterion benches
# (results in target/criterion-cpu or target/criterion-wall),
# then benches/python/compare.py, which times the predecessor's Python approach on the same
# cells and prints every figure and ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

clock=cpu
alloc_args=()
suffix=
while [[ ${1:-} == --wall || ${1:-} == --system-alloc ]]; do
    if [[ $1 == --wall ]]; then
        clock=wall
    else
        alloc_args=(--no-default-features)
        suffix=-system
    fi
    shift
done
crit_args=(--warm-up-time 1 --measurement-time 3)
if [[ ${1:-} == --full ]]; then
    crit_args=()
    shift
fi
if [[ ${1:-} == -- ]]; then
    shift
    crit_args=("$@")
fi

mb=${PYREPL3_BENCH_MB:-4}
runs=${PYREPL3_BENCH_RUNS:-3}
data=$root/target/bench-data
# One criterion directory per clock and allocator, so unlike baselines are never compared.
crit_home=$root/target/criterion-$clock$suffix

cargo build --release -p pyrepl3-benches "${alloc_args[@]}" --bin pyrepl3-bench
bin=target/release/pyrepl3-bench

cli_args=()
if [[ -z ${PYREPL3_BENCH_NO_CLI:-} ]] && cargo build --release -p pyrepl3-cli --bin pyrepl3-analyze; then
    cli_args=(--cli target/release/pyrepl3-analyze)
else
    echo "note: not timing pyrepl3-analyze" >&2
fi

rm -rf "$data"
mkdir -p "$data"
"$bin" cells "$data/cells"
"$bin" corpus "$data/generated" --bytes $((mb * 1000000))
python3 benches/python/make_corpus.py "$data/stdlib" --bytes $((mb * 1000000))

CRITERION_HOME=$crit_home PYREPL3_BENCH_CLOCK=$clock PYREPL3_BENCH_MB=$mb PYREPL3_BENCH_CORPUS="$data/stdlib" \
    cargo bench -p pyrepl3-benches "${alloc_args[@]}" --bench analyze -- "${crit_args[@]}"

python3 benches/python/compare.py --bin "$bin" --cells "$data/cells" \
    --corpus "$data/stdlib" --corpus "$data/generated" \
    --criterion "$crit_home" --runs "$runs" --clock "$clock" "${cli_args[@]}"
