#!/usr/bin/env bash
# Builds the project with a sanitizer in its own build directory and runs
# the tests there. Registered with ctest as asan_suite / tsan_suite / fuzz_suite.
#   scripts/sanitizer-suite.sh address|thread|fuzz BUILD_DIR [ctest args...]
set -euo pipefail
kind=$1 dir=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
case $kind in
  address|thread)
    cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_SANITIZE="$kind" \
      -DWEFT_BUILD_BENCH=OFF -DWEFT_SANITIZER_SUITES=OFF >/dev/null ;;
  fuzz)
    cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DWEFT_BUILD_FUZZ=ON -DWEFT_BUILD_BENCH=OFF \
      -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_SANITIZER_SUITES=OFF >/dev/null ;;
  *) echo "usage: $0 address|thread|fuzz BUILD_DIR [ctest args]" >&2; exit 2 ;;
esac
cmake --build "$dir" 2>&1 | tail -n 3
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export WEFT_SKIP_TESTSSL=1  # a configuration scan: the plain build runs it
# Lint does not change with a sanitizer: the plain build runs it.
cd "$dir" && ctest --output-on-failure -LE lint "$@"
