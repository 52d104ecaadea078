#!/usr/bin/env bash
# Installs the Debian 12 packages weft builds and tests with, if missing.
# Safe to run repeatedly: it calls apt-get only when something is absent.
set -euo pipefail

packages=(
  # build
  make cmake ninja-build g++ clang clang-format clang-tidy libclang-rt-14-dev pkg-config
  # libraries
  libssl-dev liburing-dev zlib1g-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libhttp-parser-dev  # the reference for tests/unit/http_differential_test
  # peers used by tests and benchmarks
  redis-tools redis-server libuv1-dev libboost-dev libboost-system-dev curl procps util-linux wrk
  testssl.sh nginx-light
  python3-websockets  # tests/interop/ws_interop.sh (run with /usr/bin/python3)
  golang-go golang-github-xtaci-smux-dev  # Go smux peer for tests/interop/smux_interop.sh and bench/run_mux.sh
  golang-github-gorilla-websocket-dev  # Go WebSocket peer for tests/interop/ws_gorilla.sh and bench/run_ws.sh
  libwebsockets-dev  # libwebsockets echo peer for bench/run_ws.sh
  chromium  # headless browser for tests/interop/ws_chromium.sh
  prometheus  # promtool lints the /metrics scrape in tests/interop/http_interop.sh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
