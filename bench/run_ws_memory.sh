#!/usr/bin/env bash
# run_ws_memory.sh [BUILD_DIR=build] [CONNS=8000] [ROUNDS=3] [SETTLE_S=3]
#
# Memory per idle WebSocket connection (issue 5). For each server: start it
# pinned to SERVER_CPU, read its VmRSS once it is ready, open CONNS
# connections from a client pinned to CLIENT_CPU, wait SETTLE_S seconds after
# the last one is ready, read VmRSS again and report (after - before) / CONNS.
# Contenders are interleaved over ROUNDS fresh servers.
#
# ws:// (client: weft-loadgen --ws / --idle-conns: opening handshake, one
# 16-byte binary message echoed and checked, then silence):
#   weft-ws   examples/websocket --loops 1 --io epoll --no-deflate
#   gorilla   bench/peers/gorilla_ws_echo.go, GOMAXPROCS=1
#   lws       bench/bench-lws-ws-echo
# wss:// and TLS (client: weft-tls-idle, TLS 1.3, ECDSA P-256 certificate):
#   weft-wss  examples/websocket with --cert/--key; WebSocket handshake and
#             one 16-byte message echoed (weft-tls-idle --ws /)
#   weft-tls  examples/tls_echo: one 16-byte echo, no WebSocket (the TLS part
#             of weft-wss's cost)
#   nginx     1 worker, master_process off; one GET / with keep-alive (as in
#             run_tls_memory.sh; its preallocated connection slots are
#             measured and reported beside)
# Kernel socket memory is not in RSS and is not counted. Each process needs
# an open-file limit of CONNS + 64 (client and server are separate processes).
set -euo pipefail

BUILD=${1:-build}
CONNS=${2:-8000}
ROUNDS=${3:-3}
SETTLE=${4:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"
# shellcheck source-path=SCRIPTDIR source=ws_common.sh
source "$HERE/ws_common.sh"

check_setup
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
need=$((CONNS + 64))
if (( $(ulimit -n) < need )); then
  ulimit -n "$need" 2>/dev/null || die "open-file limit $(ulimit -n) < $need; raise it or lower CONNS"
fi
build_gorilla
make_cert ec

WS_SERVER="$BUILD/examples/websocket"
# name | binary | arguments ({PORT} is substituted) - for start_server
ALL_CONTENDERS=(
  "weft-ws|$WS_SERVER|--listen tcp://127.0.0.1:{PORT} --loops 1 --io epoll --no-deflate"
  "$GORILLA_CONTENDER"
  "lws|$LWS_ECHO|--port {PORT}"
  "weft-wss|$WS_SERVER|--listen tls://127.0.0.1:{PORT} --loops 1 --io epoll --no-deflate --cert $WORK/ec-cert.pem --key $WORK/ec-key.pem"
  "weft-tls|$TLS_ECHO|"
  "nginx|$(command -v "$NGINX" || echo "$NGINX")|"
)
select_contenders
if [[ " ${CONTENDERS[*]} " == *" weft-wss|"* || " ${CONTENDERS[*]} " == *" weft-tls|"* || " ${CONTENDERS[*]} " == *" nginx|"* ]]; then
  [[ -x "$TLS_IDLE" ]] || die "$TLS_IDLE not found - build the bench targets (libssl-dev needed)"
fi
check_quiet
log "load before starting: $(cut -d' ' -f1-3 /proc/loadavg)"

# start CONTENDER -> SERVER_PID, SERVER_PORT
start() {
  local name
  IFS='|' read -r name _ <<<"$1"
  case "$name" in
    weft-tls) start_tls_server tls_echo 1.3 ec "$SMALL_BODY" "$CONNS" ;;
    nginx) start_tls_server nginx 1.3 ec "$SMALL_BODY" "$CONNS" ;;
    *) start_server "$1" ;;
  esac
}

# client NAME PORT: starts the idle client in the background -> CLIENT_PID, READY_RE
client() {
  local -a cmd
  case "$1" in
    weft-ws | gorilla | lws)
      cmd=("$LOADGEN" --port "$2" --ws / --idle-conns "$CONNS" --hold 600)
      READY_RE='^idle-ready' ;;
    weft-wss) cmd=("$TLS_IDLE" --port "$2" --conns "$CONNS" --tls 1.3 --ws /); READY_RE='^ready' ;;
    weft-tls) cmd=("$TLS_IDLE" --port "$2" --conns "$CONNS" --tls 1.3 --echo); READY_RE='^ready' ;;
    nginx) cmd=("$TLS_IDLE" --port "$2" --conns "$CONNS" --tls 1.3 --http /); READY_RE='^ready' ;;
  esac
  taskset -c "$CLIENT_CPU" "${cmd[@]}" >"$WORK/idle.out" 2>"$WORK/idle.err" &
  CLIENT_PID=$!
}

# measure CONTENDER ROUND: one server, CONNS idle connections; appends to $RAW.
measure() {
  local name round=$2 before after per_conn ready
  IFS='|' read -r name _ <<<"$1"
  wait_quiet
  if ! start "$1"; then
    printf '%s\t%s\tfail\tNA\tNA\tNA\n' "$name" "$round" >>"$RAW"
    return 0
  fi
  sleep 0.5
  before=$(rss_kib "$SERVER_PID")
  client "$name" "$SERVER_PORT"
  ready=0
  for _ in $(seq 3600); do  # up to 180 s
    if grep -q "$READY_RE" "$WORK/idle.out"; then ready=1; break; fi
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.05
  done
  if (( ready )) && sleep "$SETTLE" && kill -0 "$CLIENT_PID" 2>/dev/null && kill -0 "$SERVER_PID" 2>/dev/null; then
    after=$(rss_kib "$SERVER_PID")
    per_conn=$(( (after - before) * 1024 / CONNS ))
    printf '%s\t%s\tok\t%s\t%s\t%s\n' "$name" "$round" "$before" "$after" "$per_conn" >>"$RAW"
    log "round $round  $(printf '%-9s' "$name") RSS ${before} KiB -> ${after} KiB: ${per_conn} B/conn"
  else
    printf '%s\t%s\tfail\t%s\tNA\tNA\n' "$name" "$round" "$before" >>"$RAW"
    log "round $round  $name FAILED: $(tr '\n' ' ' <"$WORK/idle.err")"
  fi
  kill -TERM "$CLIENT_PID" 2>/dev/null || true
  wait "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=""
  stop_server
}

RAW="$WORK/raw.tsv"
: >"$RAW"
n=${#CONTENDERS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
  for ((k = 0; k < n; k++)); do  # interleaved; start position rotates per round
    measure "${CONTENDERS[$(((k + round - 1) % n))]}" "$round"
  done
done

# nginx allocates its connection slots at start ("RSS before"): the cost of
# one slot, measured against a small nginx, is reported beside (as in
# run_tls_memory.sh).
SLOT_B=NA
read -r nginx_before _ _ < <(awk -F'\t' '$1 == "nginx" && $3 == "ok" { print $4 }' "$RAW" | stats)
if [[ "$nginx_before" != NA ]] && start_tls_server nginx 1.3 ec "$SMALL_BODY" 0; then
  sleep 0.5
  small=$(rss_kib "$SERVER_PID")
  stop_server
  SLOT_B=$(awk -v b="$nginx_before" -v s="$small" -v n1="$(nginx_slots "$CONNS")" -v n0="$(nginx_slots 0)" \
    'BEGIN { printf "%.0f", (b - s) * 1024 / (n1 - n0) }')
  log "nginx: $SLOT_B B of RSS per preallocated connection slot"
fi

describe() {
  case "$1" in
    weft-ws) echo "ws://, examples/websocket --no-deflate" ;;
    gorilla) echo "ws://, gorilla/websocket $GORILLA_VERSION, GOMAXPROCS=1" ;;
    lws) echo "ws://, libwebsockets $(pkg-config --modversion libwebsockets 2>/dev/null | sed 's/-$//' || echo '?')" ;;
    weft-wss) echo "wss://, examples/websocket --cert/--key" ;;
    weft-tls) echo "TLS, examples/tls_echo (16 B echo, no WebSocket)" ;;
    nginx) echo "TLS, nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') (GET / keep-alive)" ;;
  esac
}

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/ws-memory-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# Memory per idle WebSocket connection ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "Build: $BUILD; $CONNS connections, each after its handshake(s) and one checked exchange, then idle;" \
       "VmRSS read ${SETTLE}s after the last connection was ready; $ROUNDS round(s), medians; $(openssl version | cut -d' ' -f1-2), TLS 1.3, ECDSA P-256."
  echo "Kernel socket memory is not in RSS and not included. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  (( ${#SKIPPED[@]} == 0 )) || echo "Skipped: ${SKIPPED[*]}."
  echo
  echo "| server | what | RSS before KiB | RSS after KiB | bytes/conn (median) | bytes/conn min–max | rounds ok |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for c in "${CONTENDERS[@]}"; do
    IFS='|' read -r name _ <<<"$c"
    col() { awk -F'\t' -v c="$name" -v k="$1" '$1 == c && $3 == "ok" { print $k }' "$RAW"; }
    read -r before _ _ < <(col 4 | stats)
    read -r after _ _ < <(col 5 | stats)
    read -r per pmin pmax < <(col 6 | stats)
    ok=$(col 6 | wc -l)
    echo "| $name | $(describe "$name") | $(fmt "$before" %.0f) | $(fmt "$after" %.0f) | $(fmt "$per" %.0f)" \
         "| $(fmt "$pmin" %.0f)–$(fmt "$pmax" %.0f) | $ok/$ROUNDS |"
  done
  if [[ "$SLOT_B" != NA ]]; then
    read -r per _ _ < <(awk -F'\t' '$1 == "nginx" && $3 == "ok" { print $6 }' "$RAW" | stats)
    echo
    echo "nginx allocates its $(nginx_slots "$CONNS") worker_connections slots at start (in \"RSS before\"): $SLOT_B B each" \
         "(measured against a 64-slot nginx). With the slot each connection occupies, nginx uses" \
         "$(awk -v p="$per" -v s="$SLOT_B" 'BEGIN { if (p == "NA") print "n/a"; else printf "%.0f", p + s }') B per idle TLS connection."
  fi
  echo
  echo "Targets (issue 5): weft-ws ≤ 256 B per idle connection; weft-wss ≤ 8192 B per idle connection."
} >"$OUT_MD"

echo
cat "$OUT_MD"
log "written to $OUT_MD"
