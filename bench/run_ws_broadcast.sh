#!/usr/bin/env bash
# run_ws_broadcast.sh [BUILD_DIR=build] [SUBS=8000] [REPS=3] [ROUNDS=20]
#
# WebSocket broadcast: SUBS subscribers (weft-ws-broadcast, pinned to CPU 1)
# on bench-ws-broadcast-server (pinned to CPU 0), one message published to
# all of them per round; wall time until every subscriber has it whole, and
# server CPU per delivered message (schedstat per round; utime+stime over
# the run as a cross-check). Cases: 1 and 2 loops (epoll; one io_uring
# case), 64 B plain, 4 KiB plain and 4 KiB with permessage-deflate (no
# context takeover: compressed once per loop). Each case runs REPS times
# with a fresh server, cases interleaved; medians and spread are over all
# REPS x ROUNDS rounds; each run first waits up to QUIET_WAIT_S (120) s for
# a quiet second. Report: results/ws-broadcast-<time>.md. The peer: Go's
# gorilla/websocket with a hub and PreparedMessage
# (bench/peers/gorilla_ws_broadcast.go, GOMAXPROCS=1, built here in GOPATH
# mode against Debian's golang-github-gorilla-websocket-dev), on the
# single-loop cases.
set -euo pipefail

BUILD=${1:-build}
SUBS=${2:-8000}
REPS=${3:-3}
ROUNDS=${4:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"  # for wait_quiet (QUIET_WAIT_S, NOISY_PCT)
# shellcheck source-path=SCRIPTDIR source=ws_common.sh
source "$HERE/ws_common.sh"  # build_gorilla_peer

SERVER="$BUILD/bench/bench-ws-broadcast-server"
CLIENT="$BUILD/bench/weft-ws-broadcast"
[[ -x "$SERVER" && -x "$CLIENT" ]] || die "build bench-ws-broadcast-server and weft-ws-broadcast in $BUILD first"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
check_quiet
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

need=$((SUBS + 256))  # per process: the client's sockets, or the server's
if (( $(ulimit -n) < need )); then
  ulimit -n "$need" 2>/dev/null || die "open-file limit $(ulimit -n) < $need; raise it or lower SUBS"
fi

# The gorilla peer, wrapped so that the pid start_server records is Go's.
GORILLA=""
if build_gorilla_peer gorilla_ws_broadcast; then GORILLA="$WORK/gorilla_ws_broadcast.sh"; fi

# name | server | server arguments | client flags
WEFT1="$SERVER|--port {PORT} --loops 1 --io epoll"
WEFT2="$SERVER|--port {PORT} --loops 2 --io epoll"
CASES=(
  "weft, 1 loop, 64 B|$WEFT1|--size 64"
  "weft io_uring, 1 loop, 64 B|$SERVER|--port {PORT} --loops 1 --io io_uring|--size 64"
  "weft, 2 loops, 64 B|$WEFT2|--size 64"
  "weft, 1 loop, 4 KiB|$WEFT1|--size 4096"
  "weft, 2 loops, 4 KiB|$WEFT2|--size 4096"
  "weft, 1 loop, 4 KiB deflate|$WEFT1|--size 4096 --deflate"
  "weft, 2 loops, 4 KiB deflate|$WEFT2|--size 4096 --deflate"
)
if [[ -n "$GORILLA" ]]; then
  CASES+=(
    "gorilla, 64 B|$GORILLA|-port {PORT}|--size 64"
    "gorilla, 4 KiB|$GORILLA|-port {PORT}|--size 4096"
    "gorilla, 4 KiB deflate|$GORILLA|-port {PORT}|--size 4096 --deflate"
  )
fi
RAW="$WORK/rounds.tsv"
: >"$RAW"
STAT="$WORK/stat.tsv"
: >"$STAT"

for rep in $(seq "$REPS"); do
  for i in "${!CASES[@]}"; do
    IFS='|' read -r name bin args flags <<<"${CASES[$i]}"
    wait_quiet
    start_server "server|$bin|$args" || die "$name: the server did not start"
    sleep 0.2
    log "rep $rep: $name"
    # shellcheck disable=SC2086  # flags are deliberately word-split
    taskset -c "$CLIENT_CPU" "$CLIENT" --port "$SERVER_PORT" --server-pid "$SERVER_PID" \
      --subs "$SUBS" --rounds "$ROUNDS" --label "case$i" $flags >"$WORK/client.out" 2>"$WORK/client.err" ||
      die "client failed: $(tail -n 3 "$WORK/client.err")"
    awk -v c="$i" '$1 == "ROUND" && $4 == "warmup=0" {
      split($5, w, "="); split($6, u, "="); print c "\t" w[2] "\t" u[2] }' "$WORK/client.out" >>"$RAW"
    line=$(grep '^RESULT' "$WORK/client.out")
    printf '%s\t%s\n' "$i" "$(value stat_cpu_ns "$line")" >>"$STAT"
    stop_server
  done
done

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/ws-broadcast-$(date +%Y%m%d-%H%M%S).md"
exec > >(tee "$OUT_MD")
echo "## WebSocket broadcast: $SUBS subscribers, one message per round"
echo
echo "$(machine_info); load average before: $LOAD_BEFORE"
echo "server pinned to CPU $SERVER_CPU (both loops when 2), client to CPU $CLIENT_CPU; weft on epoll unless named io_uring;"
[[ -n "$GORILLA" ]] && echo "gorilla/websocket $(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev 2>/dev/null), $(go version | cut -d' ' -f3), GOMAXPROCS=1;"
echo "$REPS fresh servers x $ROUNDS rounds per case (after 2 warm-up rounds each), cases interleaved."
echo
echo "| case | wall ms, median (min-max) | server CPU ns per delivered message, median (min-max) | utime+stime ns per message |"
echo "|---|---|---|---|"
for i in "${!CASES[@]}"; do
  IFS='|' read -r name _ <<<"${CASES[$i]}"
  read -r wm wlo whi < <(awk -F'\t' -v c="$i" '$1 == c { print $2 }' "$RAW" | stats)
  read -r cm clo chi < <(awk -F'\t' -v c="$i" '$1 == c { print $3 }' "$RAW" | stats)
  read -r sm _ _ < <(awk -F'\t' -v c="$i" '$1 == c { print $2 }' "$STAT" | stats)
  printf '| %s | %s (%s-%s) | %s (%s-%s) | %s |\n' "$name" "$(fmt "$wm" %.1f)" "$(fmt "$wlo" %.1f)" \
    "$(fmt "$whi" %.1f)" "$(fmt "$cm" %.0f)" "$(fmt "$clo" %.0f)" "$(fmt "$chi" %.0f)" "$(fmt "$sm" %.0f)"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
log "report: $OUT_MD"
