#!/usr/bin/env bash
# ws_interop.sh BUILD_DIR — the websocket example (echo) against real
# WebSocket peers: python3-websockets (tests/interop/ws_client.py) with and
# without permessage-deflate, against a --no-deflate server, the
# --max-message limit (1009), 200 concurrent clients, and over TLS (wss://,
# certificate made here by the openssl CLI); curl for the handshake itself
# (101 with the RFC's Sec-WebSocket-Accept, 426 for version 8, 400 for a
# plain GET). Then the tcphttpws example: the line protocol, HTTP (curl) and
# WebSocket (websockets) on one port, in the clear and inside TLS. Everything runs on 127.0.0.1 with timeouts; every server
# started here is killed on exit.
# Exit status 77 (ctest: skipped) when curl, openssl or /usr/bin/python3
# with the websockets package is missing.
# PORT_x and PID_x are set by start() through printf -v; /proc/PID/fd names
# are numbers.
# shellcheck disable=SC2154,SC2012
set -euo pipefail

BUILD=${1:?usage: ws_interop.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BIN=$BUILD/examples/websocket
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$BUILD/ws_interop
PY=/usr/bin/python3
[[ -x $BIN ]] || { echo "FAIL - $BIN not built" >&2; exit 1; }
for prog in curl openssl "$PY"; do
  if ! command -v "$prog" >/dev/null; then
    echo "skip - $prog not installed (scripts/install-deps.sh installs it)"
    exit 77
  fi
done
if ! "$PY" -c 'import websockets' 2>/dev/null; then
  echo "skip - python3-websockets not installed (scripts/install-deps.sh installs it)"
  exit 77
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  cp "$TMP"/*.err "$TMP"/*.out "$OUTDIR"/ 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUTDIR"

FAILS=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
show() { tail -n 15 "$1" 2>/dev/null | sed 's/^/    /' || true; }
START=$SECONDS

# start NAME SCHEME ARGS...: runs the example on SCHEME://127.0.0.1:0 (plus
# ARGS); sets PORT_NAME and PID_NAME.
start() {
  local name=$1 scheme=$2 pid port=""
  shift 2
  "${SERVER_BIN:-$BIN}" --listen "$scheme://127.0.0.1:0" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    port=$(sed -n "s|^listening on $scheme://127.0.0.1:\\([0-9]*\\)\$|\\1|p" "$TMP/$name.out" \
      2>/dev/null | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    echo "FAIL - server $name did not start:"
    sed 's/^/    /' "$TMP/$name.out" "$TMP/$name.err"
    exit 1
  fi
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# client WHAT URL MODE [CAFILE]: runs ws_client.py, one check.
client() {
  local what=$1 out
  shift
  out=$TMP/client-$CHECKS.out
  if timeout 180 "$PY" "$HERE/ws_client.py" "$@" >"$out" 2>&1; then
    pass "$what: $(grep '^ok' "$out" | sed 's/^ok //' | paste -sd ';' -)"
  else
    fail "$what"; show "$out"
  fi
}

start main tcp
start nodeflate tcp --no-deflate
start limit tcp --max-message 1000 --path /limited
FD_BASE=$(fds "$PID_main")
echo "# websocket example on ws://127.0.0.1:$PORT_main/ ($FD_BASE descriptors open)"

# ---- curl: the handshake -----------------------------------------------------------
CURL=(timeout 10 curl --silent --show-error --http1.1 --max-time 2 -i)
WSH=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
"${CURL[@]}" "${WSH[@]}" -H 'Sec-WebSocket-Version: 13' "http://127.0.0.1:$PORT_main/" \
  >"$TMP/curl101.out" 2>&1 || true  # curl waits on the upgraded connection until --max-time
if grep -q '^HTTP/1.1 101 Switching Protocols' "$TMP/curl101.out" &&
  grep -qi '^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' "$TMP/curl101.out" &&
  grep -qi '^Upgrade: websocket' "$TMP/curl101.out"; then
  pass "curl handshake: 101 with Sec-WebSocket-Accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
else
  fail "curl handshake: want 101 and the RFC's accept key"; show "$TMP/curl101.out"
fi
"${CURL[@]}" "${WSH[@]}" -H 'Sec-WebSocket-Version: 8' "http://127.0.0.1:$PORT_main/" \
  >"$TMP/curl426.out" 2>&1 || true
if grep -q '^HTTP/1.1 426' "$TMP/curl426.out" && grep -qi '^Sec-WebSocket-Version: 13' "$TMP/curl426.out"; then
  pass "curl version 8: 426 with Sec-WebSocket-Version: 13"
else
  fail "curl version 8: want 426 with Sec-WebSocket-Version: 13"; show "$TMP/curl426.out"
fi
code=$(timeout 10 curl --silent --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_main/" || true)
if [[ $code == 400 ]]; then
  pass "curl plain GET on the WebSocket path: 400"
else
  fail "curl plain GET on the WebSocket path: want 400, got ${code:-nothing}"
fi

# ---- python3-websockets ----------------------------------------------------------------
client "websockets, permessage-deflate" "ws://127.0.0.1:$PORT_main/" deflate
client "websockets, no compression" "ws://127.0.0.1:$PORT_main/" plain
client "websockets offering deflate to a --no-deflate server" "ws://127.0.0.1:$PORT_nodeflate/" nodeflate-server
client "websockets against --max-message 1000 --path /limited" "ws://127.0.0.1:$PORT_limit/limited" limit
client "websockets, many clients" "ws://127.0.0.1:$PORT_main/" many

# ---- WSS ------------------------------------------------------------------------------
PKI=$TMP/pki
mkdir -p "$PKI"
if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/key.pem" -out "$PKI/cert.pem" \
  -days 30 -sha256 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  >"$TMP/openssl.out" 2>&1; then
  echo "FAIL - could not make the test certificate:"; show "$TMP/openssl.out"
  exit 1
fi
start tls tls --cert "$PKI/cert.pem" --key "$PKI/key.pem"
client "wss://, websockets with permessage-deflate, certificate verified" \
  "wss://localhost:$PORT_tls/" deflate "$PKI/cert.pem"
client "wss://, many clients" "wss://localhost:$PORT_tls/" many "$PKI/cert.pem"

# ---- tcphttpws: lines, HTTP and WebSocket on one port, TLS recognised first -------------
SERVER_BIN=$BUILD/examples/tcphttpws start mux tcp --cert "$PKI/cert.pem" --key "$PKI/key.pem"
# lines plain|tls: "PING" and "hi" over the line protocol, in the clear or inside TLS.
lines() {
  "$PY" - "$PORT_mux" "$1" "$PKI/cert.pem" <<'PYEOF'
import socket, ssl, sys
port, tls, ca = int(sys.argv[1]), sys.argv[2] == "tls", sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
if tls:
    s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="localhost")
s.sendall(b"PING\r\nhi\n")
got = b""
while got.count(b"\n") < 2:
    chunk = s.recv(100)
    if not chunk:
        break
    got += chunk
sys.exit(0 if got == b"PONG\nhi\n" else 1)
PYEOF
}
for mode in plain tls; do
  if lines $mode >"$TMP/lines-$mode.out" 2>&1; then  # socket timeouts bound it
    pass "tcphttpws: line protocol ($mode): PING -> PONG, a line echoed"
  else
    fail "tcphttpws: line protocol ($mode)"; show "$TMP/lines-$mode.out"
  fi
done
got=$(timeout 10 curl --silent --max-time 5 "http://127.0.0.1:$PORT_mux/" || true)
got_tls=$(timeout 10 curl --silent --max-time 5 --cacert "$PKI/cert.pem" \
  "https://localhost:$PORT_mux/" || true)
if [[ $got == "Hello from HTTP" && $got_tls == "Hello from HTTPS" ]]; then
  pass "tcphttpws: curl over http:// and https:// on the same port"
else
  fail "tcphttpws: curl got '${got}' and '${got_tls}'"
fi
client "tcphttpws: ws:// on the same port, permessage-deflate" "ws://127.0.0.1:$PORT_mux/ws" deflate
client "tcphttpws: wss:// on the same port, permessage-deflate" \
  "wss://localhost:$PORT_mux/ws" deflate "$PKI/cert.pem"

# ---- descriptors and a clean stop ----------------------------------------------------------
n=0
for _ in $(seq 50); do
  n=$(fds "$PID_main")
  ((n <= FD_BASE)) && break
  sleep 0.1
done
if ((n == FD_BASE)); then
  pass "descriptors: back to $FD_BASE in the main server after all clients"
else
  fail "descriptors: $n open in the main server, $FD_BASE after startup"
fi
for name in main nodeflate limit tls mux; do
  pid_var=PID_$name
  if ! kill -0 "${!pid_var}" 2>/dev/null; then
    fail "server $name exited early; stderr:"; show "$TMP/$name.err"
    continue
  fi
  kill -TERM "${!pid_var}"
  status=0
  timeout 15 tail --pid="${!pid_var}" -f /dev/null || kill -KILL "${!pid_var}" 2>/dev/null || true
  wait "${!pid_var}" || status=$?
  if ((status == 0)) && ! grep -q 'Sanitizer' "$TMP/$name.err"; then
    pass "server $name: SIGTERM, exit status 0, nothing reported"
  else
    fail "server $name: exit status $status after SIGTERM; stderr:"; show "$TMP/$name.err"
  fi
done

echo "# ws interop: $CHECKS checks, $FAILS failed, $((SECONDS - START)) s"
((FAILS == 0))
