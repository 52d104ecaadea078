#!/usr/bin/env bash
# run_echo.sh [BUILD_DIR=build] [ROUNDS=5] [DURATION_S=5]
#
# Side-by-side echo benchmark: weft vs the hand-written epoll floor, libuv and
# Boost.Asio. Server pinned to CPU 0, weft-loadgen pinned to CPU 1; contenders
# interleaved within every round; medians over rounds; server CPU time per
# message measured by weft-loadgen from /proc over exactly the measured window.
# Environment: WARMUP (s, default 1), SERVER_CPU (0), CLIENT_CPU (1),
#              RESULTS_DIR (bench/results), NOISY_PCT (10) and RETRIES (2):
#              a run during which other processes used more than NOISY_PCT %
#              CPU is repeated up to RETRIES times, then reported with a warning;
#              ONLY (abc): the scenarios to run, e.g. ONLY=c.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${2:-5}
DURATION=${3:-5}
WARMUP=${WARMUP:-1}
NOISY_PCT=${NOISY_PCT:-10}
RETRIES=${RETRIES:-2}
ONLY=${ONLY:-abc}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"

# id | title | message size | connections | depth
SCENARIOS=(
  "a|64 B messages, 50 conns, depth 1|64|50|1"
  "b|64 B messages, 50 conns, depth 16|64|50|16"
  "c|16 KiB messages, 10 conns, depth 4|16384|10|4"
)

check_setup
select_contenders
check_quiet
RAW="$WORK/raw.tsv"
: >"$RAW"

n=${#CONTENDERS[@]}
est=$(awk -v r="$ROUNDS" -v s="${#ONLY}" -v n="$n" -v d="$DURATION" -v w="$WARMUP" \
  'BEGIN { printf "%.0f", r * s * n * (d + w + 0.5) }')
log "$ROUNDS round(s) x ${#ONLY} scenario(s) x $n contenders, ${DURATION}s + ${WARMUP}s warmup each: ~${est}s (more if noisy runs are repeated)"

# attempt ROUND SCENARIO CONTENDER: one server + one loadgen run; sets STATUS, LINE.
attempt() {
  local round=$1 sid size conns depth name limit
  IFS='|' read -r sid _ size conns depth <<<"$2"
  IFS='|' read -r name _ <<<"$3"
  STATUS=fail LINE=""
  limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print d + w + 20 }')
  start_server "$3" || return 0
  if timeout "$limit" taskset -c "$CLIENT_CPU" "$LOADGEN" --port "$SERVER_PORT" \
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
    attempt "$@"
    other=$(value other_cpu_pct "$LINE")
    [[ "$STATUS" == ok && "$other" != NA ]] || break
    awk -v o="$other" -v t="$NOISY_PCT" 'BEGIN { exit !(o > t) }' || break
    (( try < RETRIES )) || break
    log "round $round  $sid  $name: ${other}% CPU used by other processes, repeating the run"
    sleep 2
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sid" "$name" "$round" "$STATUS" \
    "$(value msgs_per_sec "$LINE")" "$(value server_cpu_ns_per_msg "$LINE")" \
    "$(value p50_us "$LINE")" "$(value p99_us "$LINE")" \
    "$(value server_cpu_pct "$LINE")" "$(value loadgen_cpu_pct "$LINE")" "$other" >>"$RAW"
  log "round $round  $sid  $(printf '%-6s' "$name") ${STATUS}  msgs/s=$(value msgs_per_sec "$LINE")" \
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "n/a"; else printf "%.2fx", a / b }'; }

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/echo-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# weft echo benchmark ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "Build: $BUILD; $ROUNDS round(s), ${DURATION}s measured + ${WARMUP}s warmup per run;" \
       "server on CPU $SERVER_CPU, weft-loadgen on CPU $CLIENT_CPU."
  (( ${#SKIPPED[@]} == 0 )) || echo "Skipped: ${SKIPPED[*]}."
  echo "Medians over rounds. CPU ns/msg = server CPU time (all threads, /proc schedstat) / echoed messages."
  echo "Ratios are relative to the epoll floor (CPU/msg: lower is better; msgs/s: higher is better)."
  echo "other CPU % = CPU used by anything but server and loadgen during the window (should be ~0)."
  noisy=$(awk -F'\t' -v t="$NOISY_PCT" '$4 == "ok" && $11 != "NA" && $11 + 0 > t' "$RAW" | wc -l)
  if (( noisy > 0 )); then
    echo
    echo "**WARNING: $noisy run(s) saw more than ${NOISY_PCT}% CPU used by other processes; the machine was not quiet and those numbers are suspect.**"
  fi
  for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r sid title _ <<<"$sc"
    [[ "$ONLY" == *"$sid"* ]] || continue
    read -r floor_rate _ _ < <(column "$sid" floor 5 | stats)
    read -r floor_cpu _ _ < <(column "$sid" floor 6 | stats)
    echo
    echo "### ($sid) $title"
    echo
    echo "| contender | msgs/s (median) | msgs/s min–max | p50 µs | p99 µs | server CPU ns/msg | CPU/msg vs floor | msgs/s vs floor | server CPU % | loadgen CPU % | other CPU % | runs ok |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in "${CONTENDERS[@]}"; do
      IFS='|' read -r name _ <<<"$c"
      read -r rate rmin rmax < <(column "$sid" "$name" 5 | stats)
      read -r cpu _ _ < <(column "$sid" "$name" 6 | stats)
      read -r p50 _ _ < <(column "$sid" "$name" 7 | stats)
      read -r p99 _ _ < <(column "$sid" "$name" 8 | stats)
      read -r spct _ _ < <(column "$sid" "$name" 9 | stats)
      read -r lpct _ _ < <(column "$sid" "$name" 10 | stats)
      read -r opct _ _ < <(column "$sid" "$name" 11 | stats)
      ok=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c && $4 == "ok"' "$RAW" | wc -l)
      total=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c' "$RAW" | wc -l)
      echo "| $name | $(fmt "$rate" %.0f) | $(fmt "$rmin" %.0f)–$(fmt "$rmax" %.0f) | $(fmt "$p50" %.1f) | $(fmt "$p99" %.1f)" \
           "| $(fmt "$cpu" %.0f) | $(ratio "$cpu" "$floor_cpu") | $(ratio "$rate" "$floor_rate")" \
           "| $(fmt "$spct" %.0f) | $(fmt "$lpct" %.0f) | $(fmt "$opct" %.0f) | $ok/$total |"
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
