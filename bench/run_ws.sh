#!/usr/bin/env bash
# run_ws.sh [BUILD_DIR=build] [ROUNDS=5] [DURATION_S=5]
#
# Side-by-side WebSocket echo benchmark (issue 5):
#   weft-ws   examples/websocket --loops 1 --io epoll --no-deflate
#   weft-tcp  examples/echo --loops 1 --io epoll: weft's own plain TCP echo of
#             the same payloads, the yardstick for what framing costs
#   weft-ws-uring, weft-tcp-uring: the same on the io_uring backend (the
#             examples' default where the kernel allows it)
#   gorilla   bench/peers/gorilla_ws_echo.go (gorilla/websocket, GOMAXPROCS=1),
#             built here in GOPATH mode
#   lws       bench/bench-lws-ws-echo (libwebsockets, one service thread)
# No compression anywhere. Server pinned to CPU 0, weft-loadgen (--ws / for
# the WebSocket servers: handshake, masked binary frames, byte-exact checks
# of the echoed frames) pinned to CPU 1; contenders interleaved within every
# round; medians over rounds; server CPU time per message measured by
# weft-loadgen from /proc over exactly the measured window.
# Environment: WARMUP (s, default 1), SERVER_CPU (0), CLIENT_CPU (1),
#              RESULTS_DIR (bench/results), NOISY_PCT (10), RETRIES (2): a
#              run during which other processes used more than NOISY_PCT %
#              CPU is repeated up to RETRIES times, then reported with a
#              warning; QUIET_WAIT_S (60): before each run, wait this long at
#              most for a quiet second; ONLY (abcde): the scenarios to run;
#              WEFT_IO ("epoll io_uring"): weft's backends to run.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${2:-5}
DURATION=${3:-5}
WARMUP=${WARMUP:-1}
NOISY_PCT=${NOISY_PCT:-10}
RETRIES=${RETRIES:-2}
QUIET_WAIT_S=${QUIET_WAIT_S:-60}
ONLY=${ONLY:-abcde}
WEFT_IO=${WEFT_IO:-"epoll io_uring"}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"  # for wait_quiet
# shellcheck source-path=SCRIPTDIR source=ws_common.sh
source "$HERE/ws_common.sh"

# id | title | message size | connections | depth
SCENARIOS=(
  "a|64 B messages, 50 conns, depth 1|64|50|1"
  "b|64 B messages, 50 conns, depth 16|64|50|16"
  "c|64 B messages, 500 conns, depth 1|64|500|1"
  "d|64 B messages, 500 conns, depth 16|64|500|16"
  "e|16 KiB messages, 10 conns, depth 4|16384|10|4"
)

check_setup
build_gorilla
# io_suffix BACKEND -> "" for epoll, "-uring" for io_uring (contender names)
io_suffix() { [[ $1 == epoll ]] && echo "" || echo "-uring"; }
ALL_CONTENDERS=()
for io in $WEFT_IO; do
  [[ $io == epoll || $io == io_uring ]] || die "WEFT_IO: epoll and/or io_uring, not '$io'"
  sfx=$(io_suffix "$io")
  ALL_CONTENDERS+=(
    "weft-ws$sfx|$BUILD/examples/websocket|--listen tcp://127.0.0.1:{PORT} --loops 1 --io $io --no-deflate"
    "weft-tcp$sfx|$BUILD/examples/echo|--listen tcp://127.0.0.1:{PORT} --loops 1 --io $io"
  )
done
ALL_CONTENDERS+=("$GORILLA_CONTENDER" "lws|$LWS_ECHO|--port {PORT}")
select_contenders
(( 2 * 500 + 64 < $(ulimit -n) )) || ulimit -n 2048 2>/dev/null || die "open-file limit $(ulimit -n) is too low for 500 connections"
check_quiet
log "load before starting: $(cut -d' ' -f1-3 /proc/loadavg)"
RAW="$WORK/raw.tsv"
: >"$RAW"

n=${#CONTENDERS[@]}
est=$(awk -v r="$ROUNDS" -v s="${#ONLY}" -v n="$n" -v d="$DURATION" -v w="$WARMUP" \
  'BEGIN { printf "%.0f", r * s * n * (d + w + 1) }')
log "$ROUNDS round(s) x ${#ONLY} scenario(s) x $n contenders, ${DURATION}s + ${WARMUP}s warmup each: ~${est}s (more if the machine is busy)"

# attempt ROUND SCENARIO CONTENDER: one server + one loadgen run; sets STATUS, LINE.
attempt() {
  local round=$1 sid size conns depth name limit
  IFS='|' read -r sid _ size conns depth <<<"$2"
  IFS='|' read -r name _ <<<"$3"
  local -a ws=(--ws /)
  [[ "$name" == weft-tcp* ]] && ws=()
  STATUS=fail LINE=""
  limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print d + w + 30 }')
  start_server "$3" || return 0
  if timeout "$limit" taskset -c "$CLIENT_CPU" "$LOADGEN" --port "$SERVER_PORT" "${ws[@]}" \
       --conns "$conns" --size "$size" --depth "$depth" \
       --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
       >"$WORK/run.out" 2>"$WORK/run.err"; then
    LINE=$(grep '^msgs=' "$WORK/run.out" | tail -n 1 || true)
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "FAIL $name/$sid round $round: server died during the run"
    elif [[ -n "$LINE" ]]; then
      STATUS=ok
    fi
  else
    log "FAIL $name/$sid round $round: $(tr '\n' ' ' <"$WORK/run.err")"
  fi
  stop_server
}

# run_one ROUND SCENARIO CONTENDER: appends one row to $RAW. A run during which
# other processes used more than NOISY_PCT % CPU is repeated (RETRIES times).
run_one() {
  local round=$1 sid name try other
  IFS='|' read -r sid _ <<<"$2"
  IFS='|' read -r name _ <<<"$3"
  for ((try = 0; try <= RETRIES; try++)); do
    wait_quiet
    attempt "$@"
    other=$(value other_cpu_pct "$LINE")
    [[ "$STATUS" == ok && "$other" != NA ]] || break
    awk -v o="$other" -v t="$NOISY_PCT" 'BEGIN { exit !(o > t) }' || break
    (( try < RETRIES )) || break
    log "round $round  $sid  $name: ${other}% CPU used by other processes, repeating the run"
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sid" "$name" "$round" "$STATUS" \
    "$(value msgs_per_sec "$LINE")" "$(value server_cpu_ns_per_msg "$LINE")" \
    "$(value p50_us "$LINE")" "$(value p99_us "$LINE")" \
    "$(value server_cpu_pct "$LINE")" "$(value loadgen_cpu_pct "$LINE")" "$other" >>"$RAW"
  log "round $round  $sid  $(printf '%-8s' "$name") ${STATUS}  msgs/s=$(value msgs_per_sec "$LINE")" \
      "cpu_ns/msg=$(value server_cpu_ns_per_msg "$LINE") p99_us=$(value p99_us "$LINE") other_cpu%=$other"
}

for ((round = 1; round <= ROUNDS; round++)); do
  for sc in "${SCENARIOS[@]}"; do
    [[ "$ONLY" == *"${sc%%|*}"* ]] || continue
    for ((k = 0; k < n; k++)); do  # interleaved; start position rotates per round
      run_one "$round" "$sc" "${CONTENDERS[$(((k + round - 1) % n))]}"
    done
  done
done

# ---------------------------------------------------------------- report

# column SID NAME FIELD -> the values of FIELD (1-based TSV column) of ok runs
column() { awk -F'\t' -v s="$1" -v c="$2" -v k="$3" '$1 == s && $2 == c && $4 == "ok" && $k != "NA" { print $k }' "$RAW"; }
median() { column "$1" "$2" "$3" | stats | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# verdict RATIO OP TARGET -> "met" / "not met" / "n/a"
verdict() { awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
  if (r == "n/a") { print "n/a"; exit }
  ok = (op == "<=") ? (r <= t) : (r >= t); print ok ? "met" : "**not met**" }'; }

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/ws-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# weft WebSocket echo benchmark ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "Build: $BUILD; $ROUNDS round(s), ${DURATION}s measured + ${WARMUP}s warmup per run;" \
       "server on CPU $SERVER_CPU, weft-loadgen on CPU $CLIENT_CPU; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "$(go version 2>/dev/null | cut -d' ' -f3) + gorilla/websocket $GORILLA_VERSION (GOMAXPROCS=1);" \
       "libwebsockets $(pkg-config --modversion libwebsockets 2>/dev/null | sed 's/-$//' || echo '?') (one service thread, default poll loop, no extensions)."
  (( ${#SKIPPED[@]} == 0 )) || echo "Skipped: ${SKIPPED[*]}."
  echo "Medians over rounds. CPU ns/msg = server CPU time (all threads, /proc schedstat) / echoed messages."
  echo "other CPU % = CPU used by anything but server and loadgen during the window (should be ~0)."
  noisy=$(awk -F'\t' -v t="$NOISY_PCT" '$4 == "ok" && $11 != "NA" && $11 + 0 > t' "$RAW" | wc -l)
  if (( noisy > 0 )); then
    echo
    echo "**WARNING: $noisy run(s) saw more than ${NOISY_PCT}% CPU used by other processes; the machine was not quiet and those numbers are suspect.**"
  fi
  for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r sid title _ <<<"$sc"
    [[ "$ONLY" == *"$sid"* ]] || continue
    echo
    echo "### ($sid) $title"
    echo
    echo "| contender | msgs/s (median) | msgs/s min–max | p50 µs | p99 µs | server CPU ns/msg | CPU ns/msg min–max | server CPU % | loadgen CPU % | other CPU % | runs ok |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in "${CONTENDERS[@]}"; do
      IFS='|' read -r name _ <<<"$c"
      read -r rate rmin rmax < <(column "$sid" "$name" 5 | stats)
      read -r cpu cmin cmax < <(column "$sid" "$name" 6 | stats)
      ok=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c && $4 == "ok"' "$RAW" | wc -l)
      total=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c' "$RAW" | wc -l)
      echo "| $name | $(fmt "$rate" %.0f) | $(fmt "$rmin" %.0f)–$(fmt "$rmax" %.0f)" \
           "| $(fmt "$(median "$sid" "$name" 7)" %.1f) | $(fmt "$(median "$sid" "$name" 8)" %.1f)" \
           "| $(fmt "$cpu" %.0f) | $(fmt "$cmin" %.0f)–$(fmt "$cmax" %.0f)" \
           "| $(fmt "$(median "$sid" "$name" 9)" %.0f) | $(fmt "$(median "$sid" "$name" 10)" %.0f)" \
           "| $(fmt "$(median "$sid" "$name" 11)" %.0f) | $ok/$total |"
    done
  done
  echo
  echo "### Ratios (medians) and the issue's targets"
  echo
  echo "| scenario | weft backend | weft-ws CPU/msg ÷ weft-tcp (≤ 1.2) | weft-ws msgs/s ÷ gorilla (≥ 1.5 at depth 1, ≥ 10 at depth 16) | gorilla CPU/msg ÷ weft-ws | weft-ws msgs/s ÷ lws | lws CPU/msg ÷ weft-ws |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r sid title _ _ depth <<<"$sc"
    [[ "$ONLY" == *"$sid"* ]] || continue
    for io in $WEFT_IO; do
      sfx=$(io_suffix "$io")
      ws_cpu=$(median "$sid" "weft-ws$sfx" 6); ws_rate=$(median "$sid" "weft-ws$sfx" 5)
      r_tcp=$(ratio "$ws_cpu" "$(median "$sid" "weft-tcp$sfx" 6)")
      r_go=$(ratio "$ws_rate" "$(median "$sid" gorilla 5)")
      go_target=1.5; (( depth > 1 )) && go_target=10
      go_cell="$r_go ($(verdict "$r_go" '>=' "$go_target"))"
      (( depth == 1 || depth == 16 )) || go_cell="$r_go (no target)"
      echo "| ($sid) $title | $io | $r_tcp ($(verdict "$r_tcp" '<=' 1.2)) | $go_cell" \
           "| $(ratio "$(median "$sid" gorilla 6)" "$ws_cpu")" \
           "| $(ratio "$ws_rate" "$(median "$sid" lws 5)") | $(ratio "$(median "$sid" lws 6)" "$ws_cpu") |"
    done
  done
} >"$OUT_MD"
{
  printf 'scenario\tcontender\tround\tstatus\tmsgs_per_sec\tserver_cpu_ns_per_msg\tp50_us\tp99_us\tserver_cpu_pct\tloadgen_cpu_pct\tother_cpu_pct\n'
  cat "$RAW"
} >"${OUT_MD%.md}.tsv"

echo
cat "$OUT_MD"
log "written to $OUT_MD (per-run rows in ${OUT_MD%.md}.tsv)"
