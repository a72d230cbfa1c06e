#!/usr/bin/env bash
# Command 2: install what is missing, build, and run the whole test suite.
#   scripts/test.sh             optimised build in build/, every test
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in
#                               build-asan/, every test
# Idempotent: re-running only rebuilds what changed. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAULTLINE_BUILD_TESTS=ON -DFAULTLINE_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DFAULTLINE_BUILD_TESTS=ON -DFAULTLINE_WERROR=ON
         -DFAULTLINE_SANITIZE=ON -DFAULTLINE_BUILD_BENCH=OFF)
  # SystemC threads switch stacks, which ASan's use-after-return detection cannot follow.
  export ASAN_OPTIONS="detect_stack_use_after_return=0:detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  # LeakSanitizer scans each thread's stack between the bounds ASan registered for it; after
  # SystemC has run a thread on one of its coroutine stacks (mmap'ed, with mprotect'ed red
  # zones), those bounds can be the coroutine's, and the exit-time scan faults on a red zone
  # ("Tracer caught signal 11", about one run in ten). Stacks are not scanned: at exit the
  # stack holds nothing live, and globals, registers and the heap still are.
  export LSAN_OPTIONS="use_stacks=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/test.sh [--sanitize]" >&2
  exit 2
fi

scripts/install-deps.sh
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j"$(nproc)"
