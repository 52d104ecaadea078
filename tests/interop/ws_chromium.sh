#!/usr/bin/env bash
# ws_chromium.sh BUILD_DIR — headless Chromium (Debian's chromium) against
# the httpws example's chat: one server with a plain and a TLS listener
# (--loops 2 by default, so chat messages cross loops), Chromium opens
# http://.../chat and https://.../chat, and the page's own WebSocket client
# talks ws:// and wss:// to it: echo of text and binary messages (empty,
# small, 100 KiB compressible and incompressible, 50 pipelined),
# permessage-deflate negotiated, the chat relay between several sockets and
# across the two listeners, the page's form, clean closes
# (tests/interop/ws_chromium_check.js, driven over the DevTools protocol by
# tests/interop/ws_chromium.py). Then: descriptors back to where they were,
# SIGTERM gives exit status 0.
# Chromium runs with a throwaway profile in its own process group; everything
# is on 127.0.0.1 with ports the kernel picks, under timeouts, and every
# process started here is stopped on exit.
# A missing chromium, openssl or /usr/bin/python3 with websockets FAILS
# (scripts/install-deps.sh installs them) unless WEFT_SKIP_CHROMIUM=1, which
# makes it exit 77 (ctest: skipped).
# Environment: WEFT_CHROMIUM (the browser binary, default chromium from PATH),
# WEFT_CHROMIUM_LOOPS (the server's --loops, default 2).
# /proc/PID/fd names are numbers.
# shellcheck disable=SC2012
set -euo pipefail

BUILD=${1:?usage: ws_chromium.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BIN=$BUILD/examples/httpws
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$BUILD/ws_chromium
PY=/usr/bin/python3
LOOPS=${WEFT_CHROMIUM_LOOPS:-2}
[[ -x $BIN ]] || { echo "FAIL - $BIN not built" >&2; exit 1; }

missing() {
  if [[ -n ${WEFT_SKIP_CHROMIUM:-} ]]; then
    echo "skip - $1 (WEFT_SKIP_CHROMIUM is set)"
    exit 77
  fi
  echo "FAIL - $1: scripts/install-deps.sh installs it (or set WEFT_SKIP_CHROMIUM=1 to skip this test)"
  exit 1
}
CHROMIUM=${WEFT_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[[ -n $CHROMIUM && -x $CHROMIUM ]] || missing "chromium is not installed"
command -v openssl >/dev/null || missing "openssl is not installed"
if ! [[ -x $PY ]] || ! "$PY" -c 'import websockets' 2>/dev/null; then
  missing "/usr/bin/python3 with python3-websockets is not installed"
fi

TMP=$(mktemp -d)
SERVER_PID=""
DRIVER_PID=""
cleanup() {
  # ws_chromium.py stops Chromium itself (timeout passes the TERM on to it);
  # the process group is killed here too in case it could not.
  if [[ -n $DRIVER_PID ]]; then
    kill "$DRIVER_PID" 2>/dev/null || true
    wait "$DRIVER_PID" 2>/dev/null || true
  fi
  if [[ -s $TMP/chromium.pgid ]]; then kill -KILL -- "-$(cat "$TMP/chromium.pgid")" 2>/dev/null || true; fi
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  cp "$TMP"/*.out "$TMP"/*.err "$TMP"/*.log "$OUTDIR"/ 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUTDIR"
rm -f "$OUTDIR"/*

FAILS=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
show() { tail -n 15 "$1" 2>/dev/null | sed 's/^/    /' || true; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
START=$SECONDS

# ---- the server: plain and TLS listeners, a throwaway certificate ------------------------
if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
  -days 30 -sha256 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  >"$TMP/openssl.log" 2>&1; then
  echo "FAIL - could not make the test certificate:"; show "$TMP/openssl.log"
  exit 1
fi
"$BIN" --listen 'tcp://127.0.0.1:0?tls=false' --listen tls://127.0.0.1:0 \
  --cert "$TMP/cert.pem" --key "$TMP/key.pem" --loops "$LOOPS" \
  >"$TMP/httpws.out" 2>"$TMP/httpws.err" &
SERVER_PID=$!
PORT=""
TLS_PORT=""
for _ in $(seq 200); do
  PORT=$(sed -n 's|^listening on tcp://127.0.0.1:\([0-9]*\)$|\1|p' "$TMP/httpws.out" | head -1)
  TLS_PORT=$(sed -n 's|^listening on tls://127.0.0.1:\([0-9]*\)$|\1|p' "$TMP/httpws.out" | head -1)
  [[ -n $PORT && -n $TLS_PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $PORT || -z $TLS_PORT ]]; then
  echo "FAIL - httpws did not start:"
  sed 's/^/    /' "$TMP/httpws.out" "$TMP/httpws.err"
  exit 1
fi
FD_BASE=$(fds "$SERVER_PID")
echo "# httpws --loops $LOOPS on http://127.0.0.1:$PORT and https://127.0.0.1:$TLS_PORT" \
  "($FD_BASE descriptors open)"
echo "# $("$CHROMIUM" --version 2>/dev/null | tail -1)"

# ---- Chromium: the chat page over http (ws://) and https (wss://) ------------------------
# The http page also opens a chat client on the TLS listener (an https page
# may not open ws://: mixed content).
# In the background so that a TERM to this script runs its trap at once.
timeout -k 5 300 "$PY" "$HERE/ws_chromium.py" --chromium "$CHROMIUM" --profile "$TMP/profile" \
  --check "$HERE/ws_chromium_check.js" \
  --page "http://127.0.0.1:$PORT/chat" "wss://127.0.0.1:$TLS_PORT" \
  --page "https://127.0.0.1:$TLS_PORT/chat" - >"$TMP/chromium-checks.out" 2>&1 &
DRIVER_PID=$!
status=0
wait "$DRIVER_PID" || status=$?
DRIVER_PID=""
cat "$TMP/chromium-checks.out"
n_ok=$(grep -c '^ok - ' "$TMP/chromium-checks.out" || true)
n_fail=$(grep -c '^FAIL - ' "$TMP/chromium-checks.out" || true)
if ((status == 0 && n_fail == 0 && n_ok >= 40)); then
  pass "chromium: $n_ok checks in the page passed (ws:// and wss://)"
else
  fail "chromium: exit status $status, $n_ok checks passed, $n_fail failed (Chromium's log: $OUTDIR/chromium.log)"
fi

# ---- descriptors and a clean stop ------------------------------------------------------
n=0
for _ in $(seq 50); do
  n=$(fds "$SERVER_PID")
  ((n <= FD_BASE)) && break
  sleep 0.1
done
if ((n == FD_BASE)); then
  pass "descriptors: back to $FD_BASE in the server after Chromium closed"
else
  fail "descriptors: $n open in the server, $FD_BASE after startup"
fi
if kill -0 "$SERVER_PID" 2>/dev/null; then
  kill -TERM "$SERVER_PID"
  status=0
  timeout 15 tail --pid="$SERVER_PID" -f /dev/null || kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" || status=$?
  SERVER_PID=""
  if ((status == 0)) && ! grep -q 'Sanitizer' "$TMP/httpws.err"; then
    pass "server: SIGTERM, exit status 0, nothing reported"
  else
    fail "server: exit status $status after SIGTERM; stderr:"; show "$TMP/httpws.err"
  fi
else
  fail "server exited early; stderr:"; show "$TMP/httpws.err"
fi

echo "# ws chromium interop: $CHECKS checks, $FAILS failed, $((SECONDS - START)) s"
((FAILS == 0))
