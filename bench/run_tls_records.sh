#!/usr/bin/env bash
# run_tls_records.sh [BUILD_DIR=build] [ROUNDS=5] [DURATION_S=5]
#
# weft's own TLS 1.3 record layer against OpenSSL's, same binary, same
# everything else: bench-weft-https --record-layer weft|openssl (one loop,
# CPU 0) under wrk -t1 (CPU 1), TLS 1.3, ECDSA P-256, keep-alive GETs:
#   a  64 B bodies, 50 connections
#   b  16 KiB bodies, 10 connections
# The two alternate within every round (who goes first alternates too); a
# fresh server per run, 1 s of warm-up before the measured DURATION_S.
# Server CPU per request is utime+stime from /proc/PID/stat over the run.
# Prints a table of medians (min–max) and the weft ÷ openssl ratios.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${2:-5}
DURATION=${3:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# shellcheck source-path=SCRIPTDIR source=tls_common.sh
source "$HERE/tls_common.sh"

HTTPS="$BUILD/bench/bench-weft-https"
[[ -x "$HTTPS" ]] || die "$HTTPS not found - build the bench targets (see bench/README.md)"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
make_cert ec
TCK=$(getconf CLK_TCK)
RAW="$WORK/raw.tsv"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run LAYER BODY CONNS -> appends "layer body rps cpu_us_per_req" to RAW
run() {
  start_server "$1|$HTTPS|--port {PORT} --cert $WORK/ec-cert.pem --key $WORK/ec-key.pem --body $2 --record-layer $1" ||
    die "bench-weft-https did not start"
  local url="https://127.0.0.1:$SERVER_PORT/"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$3" -d1 "$url" >/dev/null 2>&1 || true
  local t0 t1 out
  t0=$(cpu_ticks "$SERVER_PID")
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$3" -d"$DURATION" "$url" 2>&1) || die "wrk failed: $out"
  t1=$(cpu_ticks "$SERVER_PID")
  stop_server
  local requests rps
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  awk -v l="$1" -v b="$2" -v r="$rps" -v n="$requests" -v a="$t0" -v z="$t1" -v t="$TCK" \
    'BEGIN { printf "%s\t%s\t%s\t%.3f\n", l, b, r, (z - a) / t * 1e6 / n }' >>"$RAW"
  log "$1 body=$2 conns=$3: $rps req/s, $(tail -n 1 "$RAW" | cut -f4) µs CPU/req"
}

check_quiet
for round in $(seq "$ROUNDS"); do
  for spec in "64 50" "16384 10"; do
    read -r body conns <<<"$spec"
    if (( round % 2 )); then order=(weft openssl); else order=(openssl weft); fi
    for layer in "${order[@]}"; do run "$layer" "$body" "$conns"; done
  done
done

col() { awk -F'\t' -v l="$1" -v b="$2" -v c="$3" '$1 == l && $2 == b { print $c }' "$RAW" | stats; }
echo
echo "# TLS 1.3 records: weft's layer vs OpenSSL's ($(date '+%Y-%m-%d %H:%M'))"
echo
machine_info
echo "Build: $BUILD; $ROUNDS rounds of ${DURATION} s; OpenSSL $(openssl version | awk '{ print $2 }'); medians (min–max)."
echo
echo "| body, conns | weft req/s | openssl req/s | weft CPU µs/req | openssl CPU µs/req | CPU weft ÷ openssl |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in "64 50" "16384 10"; do
  read -r body conns <<<"$spec"
  read -r wr _ _ < <(col weft "$body" 3)
  read -r orr _ _ < <(col openssl "$body" 3)
  read -r wc wmin wmax < <(col weft "$body" 4)
  read -r oc omin omax < <(col openssl "$body" 4)
  printf "| %s B, %s | %.0f | %.0f | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f |\n" \
    "$body" "$conns" "$wr" "$orr" "$wc" "$wmin" "$wmax" "$oc" "$omin" "$omax" \
    "$(awk -v a="$wc" -v b="$oc" 'BEGIN { print a / b }')"
done
