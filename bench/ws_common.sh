# shellcheck shell=bash disable=SC2034  # (variables used by only some of the scripts)
# Shared helpers for run_ws.sh and run_ws_memory.sh (sourced after common.sh):
# the WebSocket peers. build_gorilla compiles bench/peers/gorilla_ws_echo.go in
# GOPATH mode against Debian's golang-github-gorilla-websocket-dev into $WORK
# and wraps it in a script that sets GOMAXPROCS=1 and execs it (so the pid
# start_server records is the Go server's).

LWS_ECHO="$BUILD/bench/bench-lws-ws-echo"
GORILLA_BIN="$WORK/gorilla_ws_echo"
GORILLA_VERSION=$(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev 2>/dev/null || echo '?')

# Sets GORILLA_CONTENDER ("name|bin|args" for start_server); the binary is
# missing (and select_contenders skips it) when Go or gorilla is not there.
build_gorilla() {
  local src="$WORK/gopath/src/gorillawsecho"
  GORILLA_CONTENDER="gorilla|$WORK/gorilla.sh|-port {PORT}"
  if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/gorilla/websocket ]]; then
    log "gorilla: go or golang-github-gorilla-websocket-dev missing"
    return 0
  fi
  mkdir -p "$src"
  cp "$HERE/peers/gorilla_ws_echo.go" "$src/main.go"
  if ! (cd "$src" && GO111MODULE=off GOPATH="$WORK/gopath:/usr/share/gocode" \
          GOCACHE="$WORK/gocache" go build -o "$GORILLA_BIN" .) >"$WORK/gobuild.log" 2>&1; then
    log "gorilla: go build failed: $(tail -n 3 "$WORK/gobuild.log" | tr '\n' ' ')"
    return 0
  fi
  printf '#!/bin/sh\nGOMAXPROCS=1 exec %q "$@"\n' "$GORILLA_BIN" >"$WORK/gorilla.sh"
  chmod +x "$WORK/gorilla.sh"
}
