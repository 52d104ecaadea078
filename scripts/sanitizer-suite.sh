#!/usr/bin/env bash
# Builds the project with a sanitizer in its own build directory and runs
# the tests there. Registered with ctest as asan_suite / tsan_suite / fuzz_suite.
#   scripts/sanitizer-suite.sh address|thread|fuzz BUILD_DIR [ctest args...]
# Each tree builds only what its tests need: asan everything (the interop
# scripts drive the examples), tsan the cross-thread test programs, fuzz the
# fuzz targets. -O1 -g1: instrumented -O2 -g compiles twice as slowly, and
# CI time is mostly these builds.
set -euo pipefail
kind=$1 dir=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DWEFT_BUILD_BENCH=OFF -DWEFT_SANITIZER_SUITES=OFF)
case $kind in
  address) cmake -S "$src" -B "$dir" "${common[@]}" -DWEFT_SANITIZE=address >/dev/null
    targets=(all) ;;
  thread) cmake -S "$src" -B "$dir" "${common[@]}" -DWEFT_SANITIZE=thread >/dev/null
    targets=(weft_cross_thread_tests) ;;
  fuzz) cmake -S "$src" -B "$dir" "${common[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DWEFT_BUILD_FUZZ=ON -DWEFT_BUILD_EXAMPLES=OFF >/dev/null
    targets=(weft_fuzz_targets) ;;
  *) echo "usage: $0 address|thread|fuzz BUILD_DIR [ctest args]" >&2; exit 2 ;;
esac
cmake --build "$dir" --target "${targets[@]}" 2>&1 | tail -n 3
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export WEFT_SKIP_TESTSSL=1  # a configuration scan: the plain build runs it
# Lint does not change with a sanitizer: the plain build runs it.
cd "$dir" && ctest --output-on-failure -LE lint "$@"
