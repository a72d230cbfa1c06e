#!/usr/bin/env bash
# Command 1: install what is missing, build, and run the built-in default simulation
# (an MI200-class GPU on PCIe Gen4 streaming over system-allocated memory).
# Extra arguments go to `faultline run`, e.g. scripts/run.sh --set soc.pcie.gen=5
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target faultline
exec build/faultline run --out out/default "$@"
