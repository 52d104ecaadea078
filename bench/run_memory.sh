#!/usr/bin/env bash
# run_memory.sh [BUILD_DIR=build] [CONNS=8000] [ROUNDS=3] [HOLD_S=60]
#
# Idle-connection memory: for each contender, start the server (pinned as in
# run_echo.sh), read VmRSS once it is ready, open CONNS connections with
# `weft-loadgen --idle-conns` (each echoes one verified 16-byte message), read
# VmRSS again and report (after - before) / CONNS bytes per connection; median
# and spread over ROUNDS fresh servers (contenders interleaved).
# Kernel socket buffers are not part of RSS and are not included.
set -euo pipefail

BUILD=${1:-build}
CONNS=${2:-8000}
ROUNDS=${3:-3}
HOLD=${4:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"

check_setup
select_contenders
check_quiet

need=$((2 * CONNS + 256))  # client and server sockets share this limit
if (( $(ulimit -n) < need )); then
  ulimit -n "$need" 2>/dev/null || die "open-file limit $(ulimit -n) < $need; raise it or lower CONNS"
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# measure CONTENDER ROUND: one server, CONNS idle connections; appends to $RAW.
measure() {
  local name before after per_conn ready
  IFS='|' read -r name _ <<<"$1"
  if ! start_server "$1"; then
    printf '%s\t%s\tfail\tNA\tNA\tNA\n' "$name" "$2" >>"$RAW"
    return 0
  fi
  sleep 0.5
  before=$(rss_kib "$SERVER_PID")
  taskset -c "$CLIENT_CPU" "$LOADGEN" --port "$SERVER_PORT" --idle-conns "$CONNS" --hold "$HOLD" \
    >"$WORK/idle.out" 2>"$WORK/idle.err" &
  CLIENT_PID=$!
  ready=0
  for _ in $(seq 1200); do  # up to 60 s
    if grep -q '^idle-ready' "$WORK/idle.out"; then ready=1; break; fi
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.05
  done
  if (( ready )); then
    sleep 1  # let the server settle
    after=$(rss_kib "$SERVER_PID")
    per_conn=$(( (after - before) * 1024 / CONNS ))
    printf '%s\t%s\tok\t%s\t%s\t%s\n' "$name" "$2" "$before" "$after" "$per_conn" >>"$RAW"
    log "round $2  $(printf '%-6s' "$name") RSS ${before} KiB -> ${after} KiB: ${per_conn} B/conn"
  else
    printf '%s\t%s\tfail\t%s\tNA\tNA\n' "$name" "$2" "$before" >>"$RAW"
    log "round $2  $name FAILED: $(tr '\n' ' ' <"$WORK/idle.err")"
  fi
  kill -KILL "$CLIENT_PID" 2>/dev/null || true
  wait "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=""
  stop_server
}

RAW="$WORK/raw.tsv"
: >"$RAW"
for ((round = 1; round <= ROUNDS; round++)); do
  for c in "${CONTENDERS[@]}"; do
    measure "$c" "$round"
  done
done

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/memory-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# weft idle-connection memory ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "Build: $BUILD; $CONNS idle connections, each after one verified 16-byte echo; $ROUNDS round(s)." \
       "Server RSS (VmRSS, medians) before and after; kernel socket memory is not included."
  (( ${#SKIPPED[@]} == 0 )) || echo "Skipped: ${SKIPPED[*]}."
  echo
  echo "| contender | RSS before KiB | RSS after KiB | bytes/conn (median) | bytes/conn min–max | rounds ok |"
  echo "|---|---:|---:|---:|---:|---:|"
  for c in "${CONTENDERS[@]}"; do
    IFS='|' read -r name _ <<<"$c"
    col() { awk -F'\t' -v c="$name" -v k="$1" '$1 == c && $3 == "ok" { print $k }' "$RAW"; }
    read -r before _ _ < <(col 4 | stats)
    read -r after _ _ < <(col 5 | stats)
    read -r per med_min med_max < <(col 6 | stats)
    ok=$(col 6 | wc -l)
    echo "| $name | $(fmt "$before" %.0f) | $(fmt "$after" %.0f) | $(fmt "$per" %.0f)" \
         "| $(fmt "$med_min" %.0f)–$(fmt "$med_max" %.0f) | $ok/$ROUNDS |"
  done
} >"$OUT_MD"

echo
cat "$OUT_MD"
log "written to $OUT_MD"
