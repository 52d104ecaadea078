#!/usr/bin/env bash
# tls_syscalls.sh [BUILD_DIR=build] [DURATION_S=4]
#
# Syscalls per request / per handshake of weft (bench-weft-https) and nginx
# in the run_tls.sh scenarios (TLS 1.3, ECDSA P-256): `perf stat` counts the
# server's syscall tracepoints while one load run (wrk or
# weft-tls-handshakes, pinned as in run_tls.sh) is under way; the counts are
# divided by the requests or handshakes of that run. One run per scenario
# and server; the counts are stable, unlike the timings (use run_tls.sh for
# those). Needs perf (linux-perf) and root or perf_event_paranoid <= 0.
set -euo pipefail

BUILD=${1:-build}
DURATION=${2:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"

check_tls_setup
command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
SYSCALLS=(read write writev sendto sendmsg recvfrom recvmsg pread64 epoll_wait epoll_ctl accept4
          setsockopt getsockopt close getpid brk mmap munmap)
EVENTS="raw_syscalls:sys_enter,context-switches"
for s in "${SYSCALLS[@]}"; do EVENTS+=",syscalls:sys_enter_$s"; done

make_cert ec
make_docroot
measure_nginx_headers

# id | title | kind | body | path | conns
SCENARIOS=(
  "a13|64 B responses, wrk -c50|wrk|$SMALL_BODY|/|50"
  "b13|16 KiB responses, wrk -c10|wrk|$BULK_BODY|/16k|10"
  "c13|full handshakes + one GET, 8 in flight|hs|$SMALL_BODY|/|8"
)

OUT="$WORK/table.md"
{
  echo "| scenario | server | ops | syscalls/op | context switches/op | per op (≥ 0.05) |"
  echo "|---|---|---:|---:|---:|---|"
} >"$OUT"
for sc in "${SCENARIOS[@]}"; do
  IFS='|' read -r sid title kind body path conns <<<"$sc"
  for name in weft nginx; do
    start_tls_server "$name" 1.3 ec "$body" || die "$name did not start"
    perf stat -x, -e "$EVENTS" -p "$SERVER_PID" -o "$WORK/perf.csv" &
    perf_pid=$!
    sleep 0.3
    if [[ "$kind" == wrk ]]; then
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${DURATION}s" "https://127.0.0.1:$SERVER_PORT$path" >"$WORK/load.out"
      ops=$(awk '/requests in/ { print $1 }' "$WORK/load.out")
    else
      taskset -c "$CLIENT_CPU" "$HANDSHAKES" --port "$SERVER_PORT" --conc "$conns" --duration "$DURATION" \
        --warmup 0 --http "$path" >"$WORK/load.out"
      ops=$(value handshakes "$(tail -n 1 "$WORK/load.out")")
    fi
    sleep 0.3
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    stop_server
    awk -F, -v ops="$ops" -v sid="$sid" -v title="$title" -v name="$name" '
      $3 ~ /raw_syscalls:sys_enter/ { total = $1 }
      $3 == "context-switches" { cs = $1 }
      $3 ~ /syscalls:sys_enter_/ { n = $3; sub(/.*sys_enter_/, "", n); if ($1 / ops >= 0.05) list = list sprintf("%s %.2f, ", n, $1 / ops) }
      END { sub(/, $/, "", list)
            printf "| (%s) %s | %s | %d | %.2f | %.2f | %s |\n", sid, title, name, ops, total / ops, cs / ops, list }' \
      "$WORK/perf.csv" >>"$OUT"
    log "$sid $name: $(tail -n 1 "$OUT")"
  done
done
echo
echo "Server syscalls per operation, TLS 1.3, $(cert_desc ec) ($(date '+%Y-%m-%d %H:%M'); $(machine_info))"
echo
cat "$OUT"
