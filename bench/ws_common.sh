# shellcheck shell=bash disable=SC2034  # (variables used by only some of the scripts)
# Shared helpers for run_ws.sh and run_ws_memory.sh (sourced after common.sh):
# the WebSocket peers. build_gorilla compiles bench/peers/gorilla_ws_echo.go in
# GOPATH mode against Debian's golang-github-gorilla-websocket-dev into $WORK
# and wraps it in a script that sets GOMAXPROCS=1 and execs it (so the pid
# start_server records is the Go server's).

LWS_ECHO="$BUILD/bench/bench-lws-ws-echo"
GORILLA_VERSION=$(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev 2>/dev/null || echo '?')

# build_gorilla_peer NAME: builds bench/peers/NAME.go in GOPATH mode into
# $WORK/NAME with a wrapper $WORK/NAME.sh that runs it with GOMAXPROCS=1;
# false (logged) when Go or gorilla is missing or the build fails.
build_gorilla_peer() {
  local name=$1 src="$WORK/gopath/src/$1"
  if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/gorilla/websocket ]]; then
    log "gorilla: go or golang-github-gorilla-websocket-dev missing"
    return 1
  fi
  mkdir -p "$src"
  cp "$HERE/peers/$name.go" "$src/main.go"
  if ! (cd "$src" && GO111MODULE=off GOPATH="$WORK/gopath:/usr/share/gocode" \
          GOCACHE="$WORK/gocache" go build -o "$WORK/$name" .) >"$WORK/gobuild.log" 2>&1; then
    log "gorilla: go build failed: $(tail -n 3 "$WORK/gobuild.log" | tr '\n' ' ')"
    return 1
  fi
  printf '#!/bin/sh\nGOMAXPROCS=1 exec %q "$@"\n' "$WORK/$name" >"$WORK/$name.sh"
  chmod +x "$WORK/$name.sh"
}

# Sets GORILLA_CONTENDER ("name|bin|args" for start_server); the binary is
# missing (and select_contenders skips it) when Go or gorilla is not there.
build_gorilla() {
  GORILLA_CONTENDER="gorilla|$WORK/gorilla_ws_echo.sh|-port {PORT}"
  build_gorilla_peer gorilla_ws_echo || true
}
