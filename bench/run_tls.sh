#!/usr/bin/env bash
# run_tls.sh [BUILD_DIR=build] [ROUNDS=5] [DURATION_S=5]
#
# TLS side by side: weft (bench-weft-https, one loop) vs nginx (one worker
# process, master_process off), same certificate, same OpenSSL, same cipher.
# Servers pinned to CPU 0, the load (wrk, weft-tls-handshakes) to CPU 1;
# contenders interleaved within every round (who goes first alternates); a
# fresh server per run; medians over rounds. Server CPU per request comes
# from utime+stime in /proc/PID/stat over the run (schedstat as cross-check).
#
# Scenarios, for every TLS version in TLS_VERSIONS (default "1.3 1.2"):
#   a  64 B bodies, wrk -t1 -c$SMALL_CONNS (50; keep-alive, one request in
#      flight per connection)
#   b  16 KiB bodies, wrk -t1 -c$BULK_CONNS (10)
#   c  full handshakes, ECDSA P-256: weft-tls-handshakes --conc HS_CONC
#      (connect, full handshake, one 64 B GET, close; never resumed)
# and once (TLS 1.3): d  full handshakes with an RSA 2048 certificate.
# Environment: WARMUP (s, 1), SERVER_CPU (0), CLIENT_CPU (1), ONLY (abcd),
#   TLS_VERSIONS ("1.3 1.2"), SMALL_CONNS (50), BULK_CONNS (10), HS_CONC (8),
#   NOISY_PCT (10), RETRIES (2),
#   QUIET_WAIT_S (120: before each run, wait up to this long for a 1 s sample
#   with at most NOISY_PCT % of a CPU busy), RESULTS_DIR (bench/results),
#   NGINX (nginx), KEEP_NOISY (0: medians leave out runs above NOISY_PCT
#   when a scenario has clean runs; 1: use every run),
#   REPORT_FROM (a .tsv this script wrote: rewrite its report, measure nothing;
#   pass the same ROUNDS and DURATION_S).
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${2:-5}
DURATION=${3:-5}
WARMUP=${WARMUP:-1}
NOISY_PCT=${NOISY_PCT:-10}
RETRIES=${RETRIES:-2}
ONLY=${ONLY:-abcd}
TLS_VERSIONS=${TLS_VERSIONS:-1.3 1.2}
HS_CONC=${HS_CONC:-8}
SMALL_CONNS=${SMALL_CONNS:-50}
BULK_CONNS=${BULK_CONNS:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"

check_tls_setup
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
[[ -x "$WEFT_HTTPS" ]] || die "$WEFT_HTTPS not found - build the bench targets (see bench/README.md)"
[[ -x "$HANDSHAKES" ]] || die "$HANDSHAKES not found - build the bench targets (libssl-dev needed)"
CONTENDERS=(weft nginx)

# id | title | kind | TLS version | key | body (weft) | nginx path | wrk conns
SCENARIOS=()
for v in $TLS_VERSIONS; do
  tag=${v/./}
  SCENARIOS+=("a$tag|TLS $v, 64 B responses, wrk -c$SMALL_CONNS|wrk|$v|ec|$SMALL_BODY|/|$SMALL_CONNS")
  SCENARIOS+=("b$tag|TLS $v, 16 KiB responses, wrk -c$BULK_CONNS|wrk|$v|ec|$BULK_BODY|/16k|$BULK_CONNS")
  SCENARIOS+=("c$tag|TLS $v, full handshakes, ECDSA P-256, $HS_CONC in flight|hs|$v|ec|$SMALL_BODY|/|$HS_CONC")
done
SCENARIOS+=("d13|TLS 1.3, full handshakes, RSA 2048, $HS_CONC in flight|hs|1.3|rsa|$SMALL_BODY|/|$HS_CONC")

RAW="$WORK/raw.tsv"
: >"$RAW"
if [[ -n "${REPORT_FROM:-}" ]]; then
  tail -n +2 "$REPORT_FROM" >"$RAW"
  # The response sizes are in the notes of the wrk rows ("resp=HEADERS+BODY").
  env_small=${HEADER_LEN_SMALL:-?} env_bulk=${HEADER_LEN_BULK:-?}
  HEADER_LEN_SMALL=$(awk -F'\t' '$1 ~ /^a/ && $14 ~ /^resp=/ { sub(/^resp=/, "", $14); split($14, x, "+"); print x[1]; exit }' "$RAW")
  HEADER_LEN_BULK=$(awk -F'\t' '$1 ~ /^b/ && $14 ~ /^resp=/ { sub(/^resp=/, "", $14); split($14, x, "+"); print x[1]; exit }' "$RAW")
  HEADER_LEN_SMALL=${HEADER_LEN_SMALL:-$env_small}  # (older TSVs: from the environment)
  HEADER_LEN_BULK=${HEADER_LEN_BULK:-$env_bulk}
else
  make_cert ec
  [[ "$ONLY" == *d* ]] && make_cert rsa
  make_docroot
  measure_nginx_headers
  log "nginx response headers: $HEADER_LEN_SMALL B (64 B body), $HEADER_LEN_BULK B (16 KiB body); weft pads to the same"
  check_quiet
fi
n_sc=0
for sc in "${SCENARIOS[@]}"; do [[ "$ONLY" == *"${sc:0:1}"* ]] && n_sc=$((n_sc + 1)); done
est=$(awk -v r="$ROUNDS" -v s="$n_sc" -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%.0f", r * s * 2 * (d + w + 1.5) }')
log "$ROUNDS round(s) x $n_sc scenario(s) x 2 contenders, ${DURATION}s + ${WARMUP}s warmup each: ~${est}s"

# Busy ticks of the whole machine (/proc/stat: user nice system irq softirq steal).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# utime + stime ticks of PID (fields 14, 15 after the ")" of comm).
stat_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# Sum of sum_exec_runtime (ns) over the threads of PID.
exec_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
TICK_US=$(awk -v h="$(getconf CLK_TCK)" 'BEGIN { print 1e6 / h }')

# wrk_run URL CONNS SECONDS OUT: wrk pinned to CLIENT_CPU; appends "cpu_s=" (wrk's own
# user+sys seconds, from the subshell's `times`) to OUT. Fails if wrk does.
wrk_run() {
  local rc=0
  ( timeout "$(( $3 + 20 ))" taskset -c "$CLIENT_CPU" wrk -t1 -c"$2" -d"$3"s --latency "$1" >"$4" 2>&1 \
      || exit $?; times >"$4.times" ) || rc=$?
  (( rc == 0 )) || return "$rc"
  awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "cpu_s=%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' \
    "$4.times" >>"$4"
}
# wrk's "Latency Distribution" value for PCT (50%, 99%) in µs.
wrk_pct() {
  awk -v p="$1" '$1 == p {
    v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : 0; printf "%.0f", v * f; exit }' "$2"
}

# attempt ROUND SCENARIO CONTENDER: sets STATUS and ROW (tab-separated values).
# ROW: rate  cpu_us_per_op  mb_per_s  server_cpu_pct  client_cpu_pct  other_cpu_pct
#      sched_cpu_us_per_op  p50_us  p99_us  note
attempt() {
  local round=$1 sid title kind ver key body path conns name=$3
  IFS='|' read -r sid title kind ver key body path conns <<<"$2"
  STATUS=fail ROW=""
  wait_quiet
  start_tls_server "$name" "$ver" "$key" "$body" || return 0
  local url="https://127.0.0.1:$SERVER_PORT$path" limit
  limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print d + w + 20 }')
  if [[ "$kind" == wrk ]]; then
    wrk_run "$url" "$conns" "$WARMUP" "$WORK/warm.out" || true
    local t0 m0 s0 e0 t1 m1 s1 e1
    t0=$(date +%s%N); m0=$(machine_ticks); s0=$(stat_ticks "$SERVER_PID"); e0=$(exec_ns "$SERVER_PID")
    if ! wrk_run "$url" "$conns" "$DURATION" "$WORK/run.out"; then
      log "FAIL $name/$sid round $round: wrk failed: $(tail -n 3 "$WORK/run.out" | tr '\n' ' ')"
      stop_server; return 0
    fi
    s1=$(stat_ticks "$SERVER_PID" 2>/dev/null || echo NA); e1=$(exec_ns "$SERVER_PID" 2>/dev/null || echo NA)
    m1=$(machine_ticks); t1=$(date +%s%N)
    local reqs secs bytes_read errors non2xx wrk_cpu
    reqs=$(awk '/requests in/ { print $1 }' "$WORK/run.out")
    secs=$(awk '/requests in/ { sub(/s,$/, "", $4); print $4 }' "$WORK/run.out")
    errors=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$WORK/run.out")
    non2xx=$(awk '/Non-2xx/ { print $NF }' "$WORK/run.out")
    wrk_cpu=$(awk -F= '/^cpu_s=/ { print $2 }' "$WORK/run.out")
    bytes_read=$(awk '/requests in/ { v = $5; u = v; gsub(/[0-9.]/, "", u); sub(/[A-Za-z]+,?$/, "", v);
      f = (u ~ /^KB/) ? 1024 : (u ~ /^MB/) ? 1048576 : (u ~ /^GB/) ? 1073741824 : 1; printf "%.0f", v * f }' "$WORK/run.out")
    if [[ -z "$reqs" || "$s1" == NA || -n "$non2xx" || "${errors:-0}" != 0 ]]; then
      log "FAIL $name/$sid round $round: requests=${reqs:-?} socket_errors=${errors:-0} non2xx=${non2xx:-0} server_alive=$([[ $s1 != NA ]] && echo yes || echo no)"
      stop_server; return 0
    fi
    ROW=$(awk -v r="$reqs" -v secs="$secs" -v b="$bytes_read" -v s0="$s0" -v s1="$s1" -v e0="$e0" -v e1="$e1" \
      -v m0="$m0" -v m1="$m1" -v t0="$t0" -v t1="$t1" -v tk="$TICK_US" -v wc="$wrk_cpu" \
      -v p50="$(wrk_pct 50% "$WORK/run.out")" -v p99="$(wrk_pct 99% "$WORK/run.out")" \
      -v resp="$(( body == BULK_BODY ? HEADER_LEN_BULK : HEADER_LEN_SMALL ))+$body" 'BEGIN {
        win = (t1 - t0) / 1000                      # µs
        cpu = (s1 - s0) * tk; sched = (e1 - e0) / 1000
        other = (m1 - m0) * tk - sched - wc * 1e6
        printf "%.0f\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%s\t%s\tresp=%s",
          r / secs, cpu / r, b / secs / 1e6, 100 * sched / win, 100 * wc * 1e6 / win,
          (other > 0 ? 100 * other / win : 0), sched / r, p50, p99, resp }')
    STATUS=ok
  else
    if timeout "$limit" taskset -c "$CLIENT_CPU" "$HANDSHAKES" --port "$SERVER_PORT" --tls "$ver" \
         --http "$path" --conc "$conns" --duration "$DURATION" --warmup "$WARMUP" \
         --server-pid "$SERVER_PID" >"$WORK/run.out" 2>"$WORK/run.err"; then
      local line; line=$(tail -n 1 "$WORK/run.out")
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        log "FAIL $name/$sid round $round: server died during the run"
      elif [[ "$(value full "$line")" != "$(value handshakes "$line")" ]]; then
        log "FAIL $name/$sid round $round: some handshakes were resumed: $line"
      else
        local stat_us hs
        stat_us=$(value server_stat_cpu_us "$line"); hs=$(value handshakes "$line")
        ROW=$(printf '%s\t%s\t-\t%s\t%s\t%s\t%s\t-\t-\t%s' "$(value handshakes_per_sec "$line")" \
          "$(awk -v c="$stat_us" -v n="$hs" 'BEGIN { printf "%.2f", c / n }')" \
          "$(value server_cpu_pct "$line")" "$(value client_cpu_pct "$line")" "$(value other_cpu_pct "$line")" \
          "$(value server_cpu_us_per_hs "$line")" \
          "$(value version "$line"),$(value cipher "$line"),$(value group "$line"),$(value sig "$line")")
        STATUS=ok
      fi
    else
      log "FAIL $name/$sid round $round: $(tr '\n' ' ' <"$WORK/run.err")"
    fi
  fi
  stop_server
}

run_one() {
  local round=$1 sid name=$3 try other
  IFS='|' read -r sid _ <<<"$2"
  for ((try = 0; try <= RETRIES; try++)); do
    attempt "$@"
    [[ "$STATUS" == ok ]] || break
    other=$(cut -f6 <<<"$ROW")
    awk -v o="$other" -v t="$NOISY_PCT" 'BEGIN { exit !(o > t) }' || break
    (( try < RETRIES )) || break
    log "round $round  $sid  $name: ${other}% CPU used by other processes, repeating the run"
    sleep 2
  done
  [[ -n "$ROW" ]] || ROW=$(printf 'NA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\t-')
  printf '%s\t%s\t%s\t%s\t%s\n' "$sid" "$name" "$round" "$STATUS" "$ROW" >>"$RAW"
  log "round $round  $(printf '%-4s %-6s' "$sid" "$name") $STATUS  rate/s=$(cut -f1 <<<"$ROW")" \
      "cpu_us/op=$(cut -f2 <<<"$ROW") server%=$(cut -f4 <<<"$ROW") client%=$(cut -f5 <<<"$ROW") other%=$(cut -f6 <<<"$ROW")"
}

for ((round = 1; round <= ROUNDS; round++)); do
  [[ -z "${REPORT_FROM:-}" ]] || break
  for sc in "${SCENARIOS[@]}"; do
    [[ "$ONLY" == *"${sc:0:1}"* ]] || continue
    for ((k = 0; k < 2; k++)); do  # interleaved; who goes first alternates per round
      run_one "$round" "$sc" "${CONTENDERS[$(((k + round - 1) % 2))]}"
    done
  done
done

# ---------------------------------------------------------------- report

# Runs that count: status ok and, unless KEEP_NOISY=1, other CPU % at most
# NOISY_PCT -- if a scenario/server has any such run; else all ok runs.
clean() { awk -F'\t' -v t="$NOISY_PCT" -v keep="${KEEP_NOISY:-0}" 'BEGIN { OFS = "\t" }
  $4 == "ok" { c = (keep == 1 || $10 == "NA" || $10 + 0 <= t); k = $1 SUBSEP $2; if (c) has[k] = 1; row[NR] = $0; cl[NR] = c; key[NR] = k }
  END { for (i = 1; i <= NR; i++) if ((i in row) && (cl[i] || !(key[i] in has))) print row[i] }' "$RAW"; }
USED="$WORK/used.tsv"
clean >"$USED"
# column SID NAME FIELD -> values of FIELD (1-based TSV column) of the runs that count
column() { awk -F'\t' -v s="$1" -v c="$2" -v k="$3" '$1 == s && $2 == c && $k != "NA" { print $k }' "$USED"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# Per-round weft/nginx ratios of FIELD (rounds where both runs count) -> "median (min–max)"
round_ratios() {
  awk -F'\t' -v s="$1" -v k="$2" '$1 == s && $k != "NA" { v[$3, $2] = $k; r[$3] = 1 }
    END { for (i in r) if ((i, "weft") in v && (i, "nginx") in v && v[i, "nginx"] > 0) print v[i, "weft"] / v[i, "nginx"] }' "$USED" |
    stats | awk '{ if ($1 == "NA") print "n/a"; else printf "%.2f (%.2f–%.2f)", $1, $2, $3 }'
}

mkdir -p "${RESULTS_DIR:=$HERE/results}"
OUT_MD="$RESULTS_DIR/tls-$(date +%Y%m%d-%H%M%S).md"
nginx_version=$("$NGINX" -v 2>&1 | sed 's/.*: //')
{
  echo "# weft vs nginx over TLS ($(date '+%Y-%m-%d %H:%M'))"
  echo
  machine_info
  echo "$(openssl version) (both servers link the system libssl); $nginx_version, 1 worker, master_process off;" \
       "bench-weft-https --loops 1. Build: $BUILD."
  echo "$ROUNDS round(s), ${DURATION}s measured + ${WARMUP}s warm-up per run; servers on CPU $SERVER_CPU," \
       "load on CPU $CLIENT_CPU; a fresh server per run; weft and nginx alternate within each round."
  echo "Certificate: $(cert_desc ec) self-signed (scenario d: $(cert_desc rsa)), the same files for both servers."
  echo "Responses: nginx $HEADER_LEN_SMALL B headers + 64 B body and $HEADER_LEN_BULK B headers + 16384 B body" \
       "(16 KiB static file, open_file_cache); weft pads its headers to the same sizes."
  echo "CPU µs/op = server utime+stime (/proc/PID/stat) / requests or handshakes. Medians over rounds;" \
       "ratios are weft/nginx of the medians, and the median and min–max of the per-round ratios."
  echo "other CPU % = CPU used by anything but server and load tool during the run (should be ~0)."
  echo "Runs used/ok/all: medians use the ok runs with other CPU % ≤ $NOISY_PCT (all ok runs if none is that quiet, or with KEEP_NOISY=1)."
  noisy=$(awk -F'\t' -v t="$NOISY_PCT" '$10 != "NA" && $10 + 0 > t' "$USED" | wc -l)
  if (( noisy > 0 )); then
    echo
    echo "**WARNING: $noisy run(s) in the medians saw more than ${NOISY_PCT}% CPU used by other processes; those numbers are suspect.**"
  fi
  [[ -z "${REPORT_FROM:-}" ]] || echo "(Report rewritten from $REPORT_FROM.)"
  for kind in wrk hs; do
    echo
    if [[ "$kind" == wrk ]]; then
      echo "## Requests over keep-alive connections (wrk -t1)"
      echo
      echo "| scenario | server | req/s | req/s min–max | MB/s | CPU µs/req | CPU µs/req min–max | p50 / p99 µs | server CPU % | wrk CPU % | other CPU % | runs used/ok/all |"
    else
      echo "## Full handshakes (weft-tls-handshakes: connect, handshake, one GET, close)"
      echo
      echo "| scenario | server | handshakes/s | min–max | capacity hs/s | CPU µs/hs | CPU µs/hs min–max | negotiated | server CPU % | client CPU % | other CPU % | runs used/ok/all |"
    fi
    echo "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
    for sc in "${SCENARIOS[@]}"; do
      IFS='|' read -r sid title k _ <<<"$sc"
      [[ "$k" == "$kind" && "$ONLY" == *"${sid:0:1}"* ]] || continue
      first=1
      for name in weft nginx; do
        read -r rate rmin rmax < <(column "$sid" "$name" 5 | stats)
        read -r cpu cmin cmax < <(column "$sid" "$name" 6 | stats)
        read -r mbs _ _ < <(column "$sid" "$name" 7 | stats)
        read -r spct _ _ < <(column "$sid" "$name" 8 | stats)
        read -r lpct _ _ < <(column "$sid" "$name" 9 | stats)
        read -r opct _ _ < <(column "$sid" "$name" 10 | stats)
        read -r p50 _ _ < <(column "$sid" "$name" 12 | stats)
        read -r p99 _ _ < <(column "$sid" "$name" 13 | stats)
        note=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c { print $14; exit }' "$USED")
        used=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c' "$USED" | wc -l)
        ok=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c && $4 == "ok"' "$RAW" | wc -l)
        total=$(awk -F'\t' -v s="$sid" -v c="$name" '$1 == s && $2 == c' "$RAW" | wc -l)
        label=""; (( first )) && label="($sid) $title"; first=0
        if [[ "$kind" == wrk ]]; then
          echo "| $label | $name | $(fmt "$rate" %.0f) | $(fmt "$rmin" %.0f)–$(fmt "$rmax" %.0f) | $(fmt "$mbs" %.1f)" \
               "| $(fmt "$cpu" %.2f) | $(fmt "$cmin" %.2f)–$(fmt "$cmax" %.2f) | $(fmt "$p50" %.0f) / $(fmt "$p99" %.0f)" \
               "| $(fmt "$spct" %.0f) | $(fmt "$lpct" %.0f) | $(fmt "$opct" %.0f) | $used/$ok/$total |"
        else
          cap=$(awk -v c="$cpu" 'BEGIN { if (c == "NA" || c == 0) print "NA"; else printf "%.0f", 1e6 / c }')
          echo "| $label | $name | $(fmt "$rate" %.0f) | $(fmt "$rmin" %.0f)–$(fmt "$rmax" %.0f) | $(fmt "$cap" %.0f)" \
               "| $(fmt "$cpu" %.1f) | $(fmt "$cmin" %.1f)–$(fmt "$cmax" %.1f) | ${note:-n/a}" \
               "| $(fmt "$spct" %.0f) | $(fmt "$lpct" %.0f) | $(fmt "$opct" %.0f) | $used/$ok/$total |"
        fi
      done
    done
  done
  echo
  echo "## weft / nginx"
  echo
  echo "Capacity = 1e6 / CPU µs per operation: what one server core would sustain at 100 %" \
       "(the load tool usually saturates its core first; then the measured rate is the same for both)."
  echo
  echo "| scenario | CPU/op weft÷nginx | per round: median (min–max) | rate weft÷nginx | per round: median (min–max) | capacity weft÷nginx |"
  echo "|---|---:|---:|---:|---:|---:|"
  for sc in "${SCENARIOS[@]}"; do
    IFS='|' read -r sid title _ <<<"$sc"
    [[ "$ONLY" == *"${sid:0:1}"* ]] || continue
    read -r wc _ _ < <(column "$sid" weft 6 | stats)
    read -r nc _ _ < <(column "$sid" nginx 6 | stats)
    read -r wr _ _ < <(column "$sid" weft 5 | stats)
    read -r nr _ _ < <(column "$sid" nginx 5 | stats)
    echo "| ($sid) $title | $(ratio "$wc" "$nc") | $(round_ratios "$sid" 6) | $(ratio "$wr" "$nr") | $(round_ratios "$sid" 5) | $(ratio "$nc" "$wc") |"
  done
} >"$OUT_MD"
[[ -n "${REPORT_FROM:-}" ]] || {
  printf 'scenario\tserver\tround\tstatus\trate_per_s\tcpu_us_per_op\tmb_per_s\tserver_cpu_pct\tclient_cpu_pct\tother_cpu_pct\tsched_cpu_us_per_op\tp50_us\tp99_us\tnote\n'
  cat "$RAW"
} >"${OUT_MD%.md}.tsv"

echo
cat "$OUT_MD"
if [[ -n "${REPORT_FROM:-}" ]]; then
  log "written to $OUT_MD (per-run rows in $REPORT_FROM)"
else
  log "written to $OUT_MD (per-run rows in ${OUT_MD%.md}.tsv)"
fi
