#!/usr/bin/env bash
# run_tls_memory.sh [BUILD_DIR=build] [CONNS=10000] [ROUNDS=3] [SETTLE_S=5]
#
# Memory per idle TLS connection: start the server (pinned to SERVER_CPU),
# read its VmRSS once ready, open CONNS TLS connections with weft-tls-idle
# (pinned to CLIENT_CPU; each does a full TLS 1.3 handshake and one exchange,
# then stays open and silent), wait SETTLE_S seconds, read VmRSS again and
# report (after - before) / CONNS. Contenders, interleaved over ROUNDS fresh
# servers:
#   weft        examples/tls_echo --loops 1; one 16-byte echo per connection
#   weft-https  bench/bench-weft-https --loops 1; one GET / (64 B body)
#   nginx       1 worker, master_process off; one GET / (64 B body), then
#               keep-alive (keepalive_timeout 600s)
# All use the same ECDSA P-256 certificate. Kernel socket memory is not in
# RSS and is not counted. Needs an open-file limit of CONNS + 64 for each of
# the client and the server (they are separate processes).
set -euo pipefail

BUILD=${1:-build}
CONNS=${2:-10000}
ROUNDS=${3:-3}
SETTLE=${4:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"

check_tls_setup
[[ -x "$TLS_IDLE" ]] || die "$TLS_IDLE not found - build the bench targets (libssl-dev needed)"
need=$((CONNS + 64))
if (( $(ulimit -n) < need )); then
  ulimit -n "$need" 2>/dev/null || die "open-file limit $(ulimit -n) < $need; raise it or lower CONNS"
fi

CONTENDERS=()
SKIPPED=()
[[ -x "$TLS_ECHO" ]] && CONTENDERS+=(weft) || SKIPPED+=("weft ($TLS_ECHO not built)")
[[ -x "$WEFT_HTTPS" ]] && CONTENDERS+=(weft-https) || SKIPPED+=("weft-https ($WEFT_HTTPS not built)")
CONTENDERS+=(nginx)

make_cert ec
make_docroot
measure_nginx_headers  # sets the header padding bench-weft-https uses
check_quiet

# measure CONTENDER ROUND: one server, CONNS idle connections; appends to $RAW.
measure() {
  local name=$1 round=$2 server before after per_conn ready
  local -a exchange=(--http /)
  case "$name" in
    weft) server=tls_echo; exchange=(--echo) ;;
    weft-https) server=weft ;;
    nginx) server=nginx ;;
  esac
  if ! start_tls_server "$server" 1.3 ec "$SMALL_BODY" "$CONNS"; then
    printf '%s\t%s\tfail\tNA\tNA\tNA\n' "$name" "$round" >>"$RAW"
    return 0
  fi
  sleep 0.5
  before=$(rss_kib "$SERVER_PID")
  taskset -c "$CLIENT_CPU" "$TLS_IDLE" --port "$SERVER_PORT" --conns "$CONNS" --tls 1.3 \
    "${exchange[@]}" >"$WORK/idle.out" 2>"$WORK/idle.err" &
  CLIENT_PID=$!
  ready=0
  for _ in $(seq 2400); do  # up to 120 s
    if grep -q '^ready' "$WORK/idle.out"; then ready=1; break; fi
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.05
  done
  if (( ready )) && sleep "$SETTLE" && kill -0 "$CLIENT_PID" 2>/dev/null && kill -0 "$SERVER_PID" 2>/dev/null; then
    after=$(rss_kib "$SERVER_PID")
    per_conn=$(( (after - before) * 1024 / CONNS ))
    printf '%s\t%s\tok\t%s\t%s\t%s\n' "$name" "$round" "$before" "$after" "$per_conn" >>"$RAW"
    log "round $round  $(printf '%-10s' "$name") RSS ${before} KiB -> ${after} KiB: ${per_conn} B/conn ($(cut -d' ' -f2 "$WORK/idle.out"))"
  else
    printf '%s\t%s\tfail\t%s\tNA\tNA\n' "$name" "$round" "$before" >>"$RAW"
    log "round $round  $name FAILED: $(tr '\n' ' ' <"$WORK/idle.err") $(tail -n 2 "$WORK/server-$server.log" | tr '\n' ' ')"
  fi
  kill -TERM "$CLIENT_PID" 2>/dev/null || true
  wait "$CLIENT_PID" 2>/dev/null || true
  if grep -q 'closed by the server' "$WORK/idle.err"; then
    log "round $round  $name: $(cat "$WORK/idle.err")"
  fi
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

# nginx allocates and initialises its connection slots (ngx_connection_t and
# two ngx_event_t each) at start, so they are in "RSS before": measure the
# cost of one slot with a small nginx, to add it back.
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

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/tls-memory-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# Memory per idle TLS connection ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "$(openssl version); $("$NGINX" -v 2>&1 | sed 's/.*: //'), 1 worker, master_process off. Build: $BUILD."
  echo "$CONNS connections, TLS 1.3 ($(cert_desc ec) certificate), each after a full handshake and one exchange," \
       "then idle; VmRSS read ${SETTLE}s after the last connection was ready; $ROUNDS round(s), medians."
  echo "Kernel socket memory is not in RSS and not included."
  (( ${#SKIPPED[@]} == 0 )) || echo "Skipped: ${SKIPPED[*]}."
  echo
  echo "| server | exchange | RSS before KiB | RSS after KiB | bytes/conn (median) | bytes/conn min–max | rounds ok |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for name in "${CONTENDERS[@]}"; do
    col() { awk -F'\t' -v c="$name" -v k="$1" '$1 == c && $3 == "ok" { print $k }' "$RAW"; }
    read -r before _ _ < <(col 4 | stats)
    read -r after _ _ < <(col 5 | stats)
    read -r per pmin pmax < <(col 6 | stats)
    ok=$(col 6 | wc -l)
    case "$name" in weft) ex="16 B echo (tls_echo)" ;; *) ex="GET / (64 B body)" ;; esac
    echo "| $name | $ex | $(fmt "$before" %.0f) | $(fmt "$after" %.0f) | $(fmt "$per" %.0f)" \
         "| $(fmt "$pmin" %.0f)–$(fmt "$pmax" %.0f) | $ok/$ROUNDS |"
  done
  if [[ "$SLOT_B" != NA ]]; then
    read -r per _ _ < <(awk -F'\t' '$1 == "nginx" && $3 == "ok" { print $6 }' "$RAW" | stats)
    echo
    echo "nginx allocates its $(nginx_slots "$CONNS") worker_connections slots at start (in \"RSS before\"): $SLOT_B B each" \
         "(measured against a 64-slot nginx). With the slot each connection occupies, nginx uses" \
         "$(awk -v p="$per" -v s="$SLOT_B" 'BEGIN { if (p == "NA") print "n/a"; else printf "%.0f", p + s }') B per idle connection."
  fi
} >"$OUT_MD"

echo
cat "$OUT_MD"
log "written to $OUT_MD"
