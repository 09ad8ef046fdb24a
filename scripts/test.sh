#!/usr/bin/env bash
# Every test of pyrepl3: installs the system tools the tests drive (only when missing), runs the
# workspace's tests, then replays the saved fuzz findings. README's second command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

run() {
    echo "+ $*" >&2
    "$@"
}

run scripts/install-test-deps.sh
run cargo test --workspace
# The fuzz targets live outside the workspace (cargo-fuzz layout); their replay test runs every
# saved finding in fuzz/regressions/ through the same target code on stable, without libFuzzer.
run cargo test --manifest-path fuzz/Cargo.toml
