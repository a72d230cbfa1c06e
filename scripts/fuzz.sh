#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (ASan + UBSan, clang) for a bounded time each.
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     TARGET: config, workload, run, jsonl, csv, trace, smi (default all, 60 s)
# Builds build-fuzz/ with clang (installing what is missing), seeds each target from
# tests/fuzz/corpus/TARGET and keeps what it learns in build-fuzz/corpus/TARGET, so later
# runs go on from there. A crash, leak, sanitizer report or an exception other than
# fl::InputError is a finding: its input is saved in build-fuzz/findings/TARGET/ and the
# script exits 1. Prints one summary line per target with its executions.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(config workload run jsonl csv trace smi)
which=${1:-all}
secs=${2:-60}
if [ "$which" = all ]; then
  targets=("${all[@]}")
elif [[ " ${all[*]} " == *" $which "* ]]; then
  targets=("$which")
else
  echo "usage: scripts/fuzz.sh [all|${all[*]// /|}] [SECONDS]" >&2
  exit 2
fi
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
  echo "scripts/fuzz.sh: SECONDS must be a positive whole number, not '$secs'" >&2
  exit 2
fi

scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_FUZZ=ON \
  -DFAULTLINE_SANITIZE=ON -DFAULTLINE_BUILD_TESTS=OFF -DFAULTLINE_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

# SystemC threads switch stacks, which ASan's use-after-return detection cannot follow.
export ASAN_OPTIONS="detect_stack_use_after_return=0:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
status=0
summary=()
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  findings=build-fuzz/findings/$t
  log=build-fuzz/fuzz_$t.log
  mkdir -p "$corpus" "$findings"
  echo "== fuzz_$t for ${secs} s =="
  # Inputs that once found a bug (tests/fuzz/regressions/TARGET) seed every run too.
  seeds=(tests/fuzz/corpus/"$t")
  [ -d tests/fuzz/regressions/"$t" ] && seeds+=(tests/fuzz/regressions/"$t")
  rc=0
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$findings/" "$corpus" "${seeds[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    status=1
    tail -40 "$log"
    summary+=("fuzz_$t: FINDING after ${execs:-?} executions (exit $rc); input in $findings/, log $log")
  else
    summary+=("fuzz_$t: ${execs:-?} executions in ${secs} s, no findings (corpus $(ls "$corpus" | wc -l) inputs)")
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
