#!/usr/bin/env bash
# The project's entry point (what the README's quick start runs):
#   ./build.sh run    install missing Debian packages, build, run the echo demo
#   ./build.sh test   install missing Debian packages, build, run every test
#   ./build.sh build  install and build only
# BUILD=dir picks the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")"
build=${BUILD:-build}

scripts/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

case ${1:-build} in
  build) ;;
  run) exec "$build/examples/echo" "${@:2}" ;;
  # Two at a time: most tests wait on loopback peers; the lint and sanitizer
  # suites (RUN_SERIAL) still run alone.
  test) cd "$build" && exec ctest --output-on-failure --no-label-summary --timeout 1500 -j2 "${@:2}" ;;
  *) echo "usage: $0 [build|run|test]" >&2; exit 2 ;;
esac
