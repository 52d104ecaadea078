#!/usr/bin/env bash
# ws_gorilla.sh BUILD_DIR — WebSocket interop with Go's gorilla/websocket
# (tests/interop/ws_gorilla, built here in GOPATH mode against Debian's
# golang-github-gorilla-websocket-dev): a gorilla client against the
# websocket example, and weft's client (ws_client_probe) against a gorilla
# echo server, each with and without permessage-deflate; and the httpws
# example (an HTTP GET and both clients on its /ws route, one port); and all
# of it once more over TLS (wss://, both ways, certificate made here by the
# openssl CLI). Text, binary,
# 1 MiB and empty messages are echoed and compared byte for byte; each
# session ends with a 1000 close. Everything runs on 127.0.0.1 with ports
# picked by the kernel and timeouts; every process started here is killed
# on exit. Exit status 77 (ctest: skipped) when go or gorilla is missing.
# PORT_x is set by start() through printf -v.
# shellcheck disable=SC2154
set -euo pipefail

BUILD=${1:?usage: ws_gorilla.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLE=$BUILD/examples/websocket
HTTPWS=$BUILD/examples/httpws
PROBE=$BUILD/tests/interop/ws_client_probe
for bin in "$EXAMPLE" "$HTTPWS" "$PROBE"; do
  [[ -x $bin ]] || { echo "FAIL - $bin not built" >&2; exit 1; }
done
if ! command -v go >/dev/null; then
  echo "skip - go not installed (scripts/install-deps.sh installs golang-go)"
  exit 77
fi
if [[ ! -d /usr/share/gocode/src/github.com/gorilla/websocket ]]; then
  echo "skip - gorilla/websocket not installed (scripts/install-deps.sh installs it)"
  exit 77
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$HERE/ws_gorilla" &&
  GO111MODULE=off GOPATH="$TMP/gopath:/usr/share/gocode" GOCACHE="$TMP/gocache" \
    go build -o "$TMP/ws_gorilla" .) || { echo "FAIL - building ws_gorilla"; exit 1; }

FAILS=0
pass() { echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }

# start NAME PATTERN CMD...: runs CMD in the background and waits for a
# line matching PATTERN (sed, one group: the port); sets PORT_NAME.
start() {
  local name=$1 pattern=$2 pid port=""
  shift 2
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    port=$(sed -n "s|^$pattern\$|\\1|p" "$TMP/$name.out" 2>/dev/null | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    echo "FAIL - $name did not start:"
    sed 's/^/    /' "$TMP/$name.out" "$TMP/$name.err"
    exit 1
  fi
  printf -v "PORT_$name" '%s' "$port"
}

# check WHAT CMD...: one check, the command's output shown on failure.
check() {
  local what=$1 out=$TMP/check.out
  shift
  if timeout 30 "$@" >"$out" 2>&1; then
    pass "$what: $(tail -n 1 "$out")"
  else
    fail "$what"
    sed 's/^/    /' "$out"
  fi
}

PKI=$TMP/pki
mkdir -p "$PKI"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/key.pem" -out "$PKI/cert.pem" \
  -days 30 -sha256 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  >"$TMP/openssl.out" 2>&1 || { echo "FAIL - making the test certificate"; exit 1; }
TLSARGS=(--cert "$PKI/cert.pem" --key "$PKI/key.pem")

start weft 'listening on tcp://127.0.0.1:\([0-9]*\)' "$EXAMPLE" --listen tcp://127.0.0.1:0
start weft_tls 'listening on tls://127.0.0.1:\([0-9]*\)' "$EXAMPLE" --listen tls://127.0.0.1:0 \
  "${TLSARGS[@]}"
start gorilla_tls 'listening on \([0-9]*\)' "$TMP/ws_gorilla" server -compress \
  -cert "$PKI/cert.pem" -key "$PKI/key.pem"
start httpws 'listening on tcp://127.0.0.1:\([0-9]*\)' "$HTTPWS" --listen tcp://127.0.0.1:0
start gorilla 'listening on \([0-9]*\)' "$TMP/ws_gorilla" server
start gorilla_z 'listening on \([0-9]*\)' "$TMP/ws_gorilla" server -compress

check "gorilla client -> weft" "$TMP/ws_gorilla" client "ws://127.0.0.1:$PORT_weft/"
check "gorilla client (deflate) -> weft" "$TMP/ws_gorilla" client -compress \
  "ws://127.0.0.1:$PORT_weft/"
check "weft client -> gorilla (declines deflate)" "$PROBE" "ws://127.0.0.1:$PORT_gorilla/"
check "weft client (deflate) -> gorilla" "$PROBE" "ws://127.0.0.1:$PORT_gorilla_z/" \
  --expect-deflate
check "weft client (no deflate) -> gorilla" "$PROBE" "ws://127.0.0.1:$PORT_gorilla_z/" \
  --no-deflate
# httpws: an HTTP route and a WebSocket route on one port.
check "httpws: HTTP GET /hello" "$TMP/ws_gorilla" get "http://127.0.0.1:$PORT_httpws/hello" $'hello\n'
check "httpws: gorilla client (deflate) -> /ws" "$TMP/ws_gorilla" client -compress \
  "ws://127.0.0.1:$PORT_httpws/ws"
check "httpws: weft client (deflate) -> /ws" "$PROBE" "ws://127.0.0.1:$PORT_httpws/ws" \
  --expect-deflate

# wss:// both ways, the certificate verified against our CA.
check "wss: gorilla client (deflate) -> weft" "$TMP/ws_gorilla" client -compress \
  -ca "$PKI/cert.pem" "wss://localhost:$PORT_weft_tls/"
check "wss: gorilla client -> weft" "$TMP/ws_gorilla" client -ca "$PKI/cert.pem" \
  "wss://localhost:$PORT_weft_tls/"
check "wss: weft client (deflate) -> gorilla" "$PROBE" "wss://localhost:$PORT_gorilla_tls/" \
  --expect-deflate --ca "$PKI/cert.pem"

if ((FAILS)); then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "all checks passed"
