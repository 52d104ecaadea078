#!/usr/bin/env bash
# smux_interop.sh BUILD_DIR — weft's mux layer against Go's xtaci/smux
# (Debian's golang-github-xtaci-smux-dev, 1.5.16), versions 1 and 2, both
# ways: the Go client's cases against weft's server, weft's client cases
# against the Go server; then the mux_echo example against both. Cases:
# small and 1 MiB echoes, 1000 sequential and 256 concurrent streams,
# zero-length writes, server-initiated streams, keepalive over idle
# periods, bad input (Go client on a raw connection), and in version 2 one
# stream writing 8 MiB that nobody reads while others stay responsive; and
# mux_echo's own client against its server over TLS.
# The Go programs build in GOPATH mode into a temp dir.
# Exit status 77 (skipped) when go or the smux sources are missing.
set -uo pipefail

BUILD=${1:?usage: smux_interop.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=$BUILD/tests/interop/smux_peer
ECHO=$BUILD/examples/mux_echo
SMUX=/usr/share/gocode/src/github.com/xtaci/smux
[[ -x $PEER ]] || { echo "FAIL: $PEER not built" >&2; exit 1; }
command -v go >/dev/null || { echo "skip: go not installed (golang-go)"; exit 77; }
[[ -d $SMUX ]] || { echo "skip: $SMUX missing (golang-github-xtaci-smux-dev)"; exit 77; }

TMP=$(mktemp -d)
SERVER=""
cleanup() {
  if [[ -n $SERVER ]]; then kill "$SERVER" 2>/dev/null; fi
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$TMP/src/smuxpeer"
cp "$HERE/smux_peer_go/main.go" "$TMP/src/smuxpeer/"
(cd "$TMP/src/smuxpeer" && GO111MODULE=off GOPATH="$TMP:/usr/share/gocode" \
  GOCACHE="$TMP/cache" go build -o "$TMP/gopeer" .) || { echo "FAIL: go build" >&2; exit 1; }
GOPEER=$TMP/gopeer

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null ||
  { echo "FAIL: openssl req" >&2; exit 1; }

FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# start NAME CMD...: runs a server that prints "listening ADDR"; sets ADDR.
start() {
  local name=$1
  shift
  "$@" >"$TMP/$name.out" 2>&1 &
  SERVER=$!
  ADDR=""
  for _ in $(seq 200); do
    ADDR=$(sed -n "s%^listening \(on \)\{0,1\}\([a-z0-9]*://\)\{0,1\}\(127\.0\.0\.1:[0-9]*\).*%\3%p" "$TMP/$name.out" | head -1)
    [[ -n $ADDR ]] && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.05
  done
  fail "$name did not start: $(cat "$TMP/$name.out")"
  return 1
}
stop() {
  kill "$SERVER" 2>/dev/null
  wait "$SERVER" 2>/dev/null
  SERVER=""
}

# run NAME CMD...: a client run that must exit 0 within 120 s.
run() {
  local name=$1
  shift
  echo "--- $name"
  if timeout 120 "$@" >"$TMP/client.out" 2>&1; then
    sed 's/^/    /' "$TMP/client.out"
  else
    sed 's/^/    /' "$TMP/client.out"
    fail "$name"
  fi
}

# Keepalive interval in ms on both sides (timeout 4x): short, so the idle
# case is quick, yet above the stalls a sanitizer build on a busy machine has.
KA=200
for v in 1 2; do
  if start "weft-server-v$v" "$PEER" --mode server --version "$v" --keepalive $KA; then
    run "v$v Go client -> weft server" "$GOPEER" -mode client -addr "$ADDR" -version "$v" \
      -keepalive $KA -peer weft -case all
    echo "    weft server log:"
    sed 's/^/      /' "$TMP/weft-server-v$v.out"
    stop
  fi
  if start "go-server-v$v" "$GOPEER" -mode server -version "$v" -keepalive $KA; then
    run "v$v weft client -> Go server" "$PEER" --mode client --addr "$ADDR" --version "$v" \
      --keepalive $KA
    stop
  fi
  # The example, both ways.
  if [[ -x $ECHO ]]; then
    if start "go-server-echo-v$v" "$GOPEER" -mode server -version "$v"; then
      run "v$v mux_echo client -> Go server" "$ECHO" --connect "tcp://$ADDR" --version "$v" \
        --streams 16 --bytes 1048576
      stop
    fi
    if start "mux-echo-v$v" "$ECHO" --listen tcp://127.0.0.1:0 --version "$v"; then
      run "v$v Go client -> mux_echo server" "$GOPEER" -mode client -addr "$ADDR" \
        -version "$v" -case small,big,seq,concurrent,zero
      stop
    fi
    # The example's own client and server over TLS (the shared --cert/--key
    # flags), on the epoll backend for the server and the default for the client.
    if start "mux-echo-tls-v$v" "$ECHO" --listen tls://127.0.0.1:0 --cert "$TMP/cert.pem" \
      --key "$TMP/key.pem" --io epoll --version "$v"; then
      run "v$v mux_echo client -> mux_echo server over TLS" "$ECHO" --connect "tls://$ADDR" \
        --ca "$TMP/cert.pem" --version "$v" --streams 8 --bytes 262144
      stop
    fi
  fi
done

if ((FAILS)); then
  echo "$FAILS smux interop check(s) failed" >&2
  exit 1
fi
echo "smux interop: all passed"
