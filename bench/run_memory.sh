#!/usr/bin/env bash
# run_memory.sh [BUILD_DIR=build] [CONNS=8000] [HOLD_S=60]
#
# Idle-connection memory: for each contender, start the server (pinned as in
# run_echo.sh), read VmRSS once it is ready, open CONNS connections with
# `weft-loadgen --idle-conns` (each echoes one verified 16-byte message), read
# VmRSS again and report (after - before) / CONNS bytes per connection.
# Kernel socket buffers are not part of RSS and are not included.
set -euo pipefail

BUILD=${1:-build}
CONNS=${2:-8000}
HOLD=${3:-60}
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

ROWS=()
for c in "${CONTENDERS[@]}"; do
  IFS='|' read -r name _ <<<"$c"
  if ! start_server "$c"; then
    ROWS+=("| $name | n/a | n/a | n/a | n/a | server did not start |")
    continue
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
    ROWS+=("| $name | $before | $after | $((after - before)) | $per_conn | $(sed -n 's/^idle-ready //p' "$WORK/idle.out") |")
    log "$name: RSS ${before} KiB -> ${after} KiB, ${per_conn} B/conn"
  else
    ROWS+=("| $name | $before | n/a | n/a | n/a | FAILED: $(tr '\n' ' ' <"$WORK/idle.err") |")
    log "$name: FAILED: $(cat "$WORK/idle.err")"
  fi
  kill -KILL "$CLIENT_PID" 2>/dev/null || true
  wait "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=""
  stop_server
done

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/memory-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# weft idle-connection memory ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "Build: $BUILD; $CONNS idle connections, each after one verified 16-byte echo." \
       "Server RSS (VmRSS) before and after; kernel socket memory is not included."
  (( ${#SKIPPED[@]} == 0 )) || echo "Skipped: ${SKIPPED[*]}."
  echo
  echo "| contender | RSS before KiB | RSS after KiB | delta KiB | bytes/conn | client |"
  echo "|---|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} >"$OUT_MD"

echo
cat "$OUT_MD"
log "written to $OUT_MD"
