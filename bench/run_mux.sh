#!/usr/bin/env bash
# run_mux.sh [BUILD_DIR=build] [ROUNDS=3]
#
# smux echo throughput and memory, weft vs Go's xtaci/smux (Debian's
# golang-github-xtaci-smux-dev), side by side in one run:
#   server: weft's mux_echo vs the Go smux echo server, both driven by the
#           same Go smux client (K streams over one TCP connection);
#   client: weft's mux_echo client vs the Go client, against the Go server.
#   floor:  on the server side a third contender, bench-epoll-floor: a raw
#           TCP echo that does no smux work at all (the echoed frames are
#           valid smux for the client: its own PSH frames come back, and in
#           version 2 its own window updates, which tell it the truth: the
#           echo has consumed what the client has read). What it costs is
#           what the kernel charges for moving these bytes this way, so it
#           bounds what any smux server can reach here.
# Scenarios: 1, 16 and 256 streams with 64 KiB writes, and 8 streams with
# 16 KiB writes; versions 1 and 2. Server pinned to SERVER_CPU (0), client
# to CLIENT_CPU (1); contenders alternate within each round; medians and
# min..max over rounds. Server CPU per MB from /proc/<pid>/stat
# (utime+stime) over the client's run; client CPU from the client's rusage.
# Each run also records how busy the server was (CPU seconds / run time): on
# the client side that is the Go server, and near 100 % it is what limits
# the client's throughput.
# Memory: server RSS growth for 10000 idle streams on one session, and
# for 2000 idle sessions.
# Environment: TOTAL_MB (echoed per run, default 1024), VERSIONS ("1 2"),
#              SERVER_CPU, CLIENT_CPU (a taskset list, e.g. 1-3: on a
#              machine with cores to spare, give the Go client more than one
#              so that it stops being what limits the throughput; its
#              GOMAXPROCS follows the count; weft's client stays one loop,
#              as one session is one connection), RESULTS_DIR (bench/results),
#              UNPINNED=1 (nothing pinned, both Go sides at GOMAXPROCS=nproc:
#              client and server share the cores, so what the server saves
#              the client can spend, the way a real host shares them).
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${2:-3}
TOTAL_MB=${TOTAL_MB:-1024}
VERSIONS=${VERSIONS:-"1 2"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
# How many CPUs the CLIENT_CPU list names (GOMAXPROCS of the Go client).
CLIENT_PROCS=0
IFS=, read -ra cpu_parts <<<"$CLIENT_CPU"
for part in "${cpu_parts[@]}"; do
  if [[ $part == *-* ]]; then
    CLIENT_PROCS=$((CLIENT_PROCS + ${part#*-} - ${part%-*} + 1))
  else
    CLIENT_PROCS=$((CLIENT_PROCS + 1))
  fi
done
SERVER_PROCS=1
if [[ ${UNPINNED:-0} == 1 ]]; then
  SERVER_PROCS=$(nproc)
  CLIENT_PROCS=$(nproc)
fi
# Command prefixes that put a process on the server's / the client's CPUs
# (plain commands, not functions: a backgrounded function's $! is a subshell).
ON_SERVER=(taskset -c "$SERVER_CPU")
ON_CLIENT=(taskset -c "$CLIENT_CPU")
if [[ ${UNPINNED:-0} == 1 ]]; then
  ON_SERVER=(env)
  ON_CLIENT=(env)
fi
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
ECHO=$BUILD/examples/mux_echo

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

FLOOR=$BUILD/bench/bench-epoll-floor
[[ -x $ECHO ]] || die "$ECHO not built (ninja -C $BUILD mux_echo)"
[[ -x $FLOOR ]] || die "$FLOOR not built (ninja -C $BUILD bench-epoll-floor)"
command -v go >/dev/null || die "go not installed (golang-go)"
[[ -d /usr/share/gocode/src/github.com/xtaci/smux ]] || die "golang-github-xtaci-smux-dev not installed"
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
[[ $bt == Release || $bt == RelWithDebInfo ]] || log "WARNING: $BUILD is a '${bt:-unknown}' build"

WORK=$(mktemp -d /tmp/weft-mux-bench.XXXXXX)
SERVER_PID=""
IDLE_PID=""
cleanup() {
  if [[ -n $IDLE_PID ]]; then kill "$IDLE_PID" 2>/dev/null || true; fi
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/src/muxbench"
cp "$HERE/mux_bench_go/main.go" "$WORK/src/muxbench/"
(cd "$WORK/src/muxbench" && GO111MODULE=off GOPATH="$WORK:/usr/share/gocode" GOCACHE="$WORK/cache" \
  go build -o "$WORK/gobench" .) || die "go build failed"
GOBENCH=$WORK/gobench

log "load before starting: $(cut -d' ' -f1-3 /proc/loadavg)"

# start_server weft|go|floor VERSION: sets SERVER_PID and ADDR.
start_server() {
  local out=$WORK/server.out
  if [[ $1 == weft ]]; then
    "${ON_SERVER[@]}" "$ECHO" --listen tcp://127.0.0.1:0 --version "$2" >"$out" 2>&1 &
  elif [[ $1 == floor ]]; then
    "${ON_SERVER[@]}" "$FLOOR" --port 0 >"$out" 2>&1 &
  else
    GOMAXPROCS=$SERVER_PROCS "${ON_SERVER[@]}" "$GOBENCH" -mode server -version "$2" >"$out" 2>&1 &
  fi
  SERVER_PID=$!
  ADDR=""
  for _ in $(seq 200); do
    ADDR=$(sed -n 's%^listening \(on \)\{0,1\}\(tcp://\)\{0,1\}\(127\.0\.0\.1:[0-9]*\).*%\3%p' "$out" | head -1)
    [[ -n $ADDR ]] && return 0
    sleep 0.05
  done
  die "$1 server did not start: $(cat "$out")"
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
field() { sed -n "s|.*$1=\([0-9.]*\).*|\1|p" <<<"$2"; }

RAW=$WORK/raw.tsv
: >"$RAW"
HZ=$(getconf CLK_TCK)

# One measurement: side (server|client) contender version streams write.
# Records MB/s, CPU ms/MB (the server's, or the client's on the client
# side) and the server's CPU % over the run.
measure() {
  local side=$1 who=$2 v=$3 k=$4 w=$5 per line t0 t1 mb cpu util
  per=$((TOTAL_MB * 1024 * 1024 / k))
  per=$((per / w * w))
  if [[ $side == server ]]; then
    start_server "$who" "$v"
  else
    start_server go "$v"
  fi
  t0=$(cpu_ticks "$SERVER_PID")
  if [[ $side == client && $who == weft ]]; then
    line=$("${ON_CLIENT[@]}" timeout 300 "$ECHO" --connect "tcp://$ADDR" --version "$v" \
      --streams "$k" --bytes "$per" --write "$w" | tail -1)
  else
    line=$(GOMAXPROCS=$CLIENT_PROCS "${ON_CLIENT[@]}" timeout 300 "$GOBENCH" -mode client \
      -addr "$ADDR" -version "$v" -streams "$k" -bytes "$per" -write "$w" | tail -1)
  fi
  t1=$(cpu_ticks "$SERVER_PID")
  stop_server
  mb=$(field 'MB/s' "$line")
  [[ -n $mb ]] || die "$side/$who v$v k=$k w=$w failed: $line"
  if [[ $side == server ]]; then
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v b="$(field bytes "$line")" \
      'BEGIN { printf "%.3f", (t / hz) * 1000 / (b / 1e6) }')
  else
    cpu=$(awk -v c="$(field cpu_s "$line")" -v b="$(field bytes "$line")" \
      'BEGIN { printf "%.3f", c * 1000 / (b / 1e6) }')
  fi
  util=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v s="$(field seconds "$line")" \
    'BEGIN { printf "%.0f", (s > 0 ? 100 * (t / hz) / s : 0) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$side" "$who" "$v" "$k" "$w" "$mb" "$cpu" "$util" >>"$RAW"
  log "$side $who v$v streams=$k write=$w: $mb MB/s, $cpu ms CPU/MB, server CPU $util %"
}

SCENARIOS=("1 65536" "16 65536" "256 65536" "8 16384")
for ((r = 1; r <= ROUNDS; r++)); do
  for v in $VERSIONS; do
    for sc in "${SCENARIOS[@]}"; do
      read -r k w <<<"$sc"
      order=(weft go floor)
      ((r % 3 == 2)) && order=(go floor weft)
      ((r % 3 == 0)) && order=(floor weft go)
      for who in "${order[@]}"; do measure server "$who" "$v" "$k" "$w"; done
      for who in "${order[@]}"; do [[ $who == floor ]] || measure client "$who" "$v" "$k" "$w"; done
    done
  done
done

# Memory: server RSS growth for idle streams and idle sessions.
MEM=$WORK/mem.tsv
: >"$MEM"
idle_rss() {  # who version sessions streams -> bytes per unit
  local who=$1 v=$2 s=$3 k=$4 before after units
  start_server "$who" "$v"
  sleep 0.3
  before=$(rss_kb "$SERVER_PID")
  mkfifo "$WORK/hold"
  "${ON_CLIENT[@]}" "$GOBENCH" -mode idle -addr "$ADDR" -version "$v" -sessions "$s" \
    -streams "$k" <"$WORK/hold" >"$WORK/idle.out" 2>&1 &
  IDLE_PID=$!
  exec 9>"$WORK/hold"
  for _ in $(seq 600); do grep -q ready "$WORK/idle.out" && break; sleep 0.1; done
  sleep 0.5
  after=$(rss_kb "$SERVER_PID")
  exec 9>&-
  wait "$IDLE_PID" 2>/dev/null || true
  IDLE_PID=""
  rm -f "$WORK/hold"
  stop_server
  units=$((k > 0 ? s * k : s))
  awk -v a="$after" -v b="$before" -v u="$units" 'BEGIN { printf "%.0f", (a - b) * 1024 / u }'
}
for v in $VERSIONS; do
  for who in weft go; do
    printf '%s\t%s\tstream\t%s\n' "$who" "$v" "$(idle_rss "$who" "$v" 1 10000)" >>"$MEM"
    printf '%s\t%s\tsession\t%s\n' "$who" "$v" "$(idle_rss "$who" "$v" 2000 0)" >>"$MEM"
  done
done

# report server|client: the markdown table of one side, from $RAW.
report() {
  if [[ $1 == server ]]; then
    echo "Server side (the same Go client drives each server; CPU = the server's):"
    echo
    echo "| version | streams x write | weft MB/s | Go MB/s | floor MB/s | weft/Go MB/s | weft CPU ms/MB | Go CPU ms/MB | floor CPU ms/MB | weft/Go CPU | floor/Go CPU |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
  else
    echo "Client side (each client against the Go server; CPU = the client's; Go server CPU % = how busy the server was):"
    echo
    echo "| version | streams x write | weft MB/s | Go MB/s | weft/Go MB/s | weft CPU ms/MB | Go CPU ms/MB | weft/Go CPU | Go server CPU % (weft client / Go client) |"
    echo "|---|---|---|---|---|---|---|---|---|"
  fi
  awk -F'\t' -v side="$1" '
    function med(key,   n, i, j, t, a) {
      n = split(vals[key], a, " ")
      if (n == 0) return 0
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      lo[key] = a[1]; hi[key] = a[n]
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function rng(key, m) { return sprintf("%.0f (%.0f..%.0f)", m, lo[key], hi[key]) }
    $1 == side {
      k = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5
      vals[k "mb"] = vals[k "mb"] " " $6; vals[k "cpu"] = vals[k "cpu"] " " $7; vals[k "util"] = vals[k "util"] " " $8
      sc[$3 SUBSEP $4 SUBSEP $5] = 1
    }
    END {
      for (s in sc) {
        split(s, p, SUBSEP)
        kw = "weft" SUBSEP s; kg = "go" SUBSEP s; kf = "floor" SUBSEP s
        wm = med(kw "mb"); gm = med(kg "mb"); wc = med(kw "cpu"); gc = med(kg "cpu")
        head = sprintf("| v%s | %s x %d KiB", p[1], p[2], p[3] / 1024)
        if (side == "server") {
          fm = med(kf "mb"); fc = med(kf "cpu")
          printf "%s | %s | %s | %s | %.2fx | %.2f | %.2f | %.2f | %.2fx | %.2fx |\n", head,
            rng(kw "mb", wm), rng(kg "mb", gm), rng(kf "mb", fm), wm / gm, wc, gc, fc, wc / gc, fc / gc
        } else {
          printf "%s | %s | %s | %.2fx | %.2f | %.2f | %.2fx | %.0f / %.0f |\n", head,
            rng(kw "mb", wm), rng(kg "mb", gm), wm / gm, wc, gc, wc / gc, med(kw "util"), med(kg "util")
        }
      }
    }' "$RAW" | sort -t'|' -k2,2 -k3,3n
}

mkdir -p "$RESULTS_DIR"
OUT=$RESULTS_DIR/mux-$(date +%Y%m%d-%H%M%S).md
{
  echo "# smux echo: weft vs Go xtaci/smux ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "\`bench/run_mux.sh $BUILD $ROUNDS\`, TOTAL_MB=$TOTAL_MB per run, $ROUNDS rounds, load before start: $(cut -d' ' -f1-3 /proc/loadavg)."
  if [[ ${UNPINNED:-0} == 1 ]]; then
    echo "Nothing pinned: server and client share $(nproc) CPUs (Go server and client with GOMAXPROCS=$(nproc)). Median (min..max)."
  else
    echo "Server on CPU $SERVER_CPU (Go server with GOMAXPROCS=1), client on CPU $CLIENT_CPU (Go client with GOMAXPROCS=$CLIENT_PROCS). Median (min..max)."
  fi
  echo
  report server
  echo
  report client
  echo
  echo "Memory (server RSS growth, bytes): 10000 idle streams on one session; 2000 idle sessions."
  echo
  echo "| version | weft per idle stream | Go per idle stream | weft per idle session | Go per idle session |"
  echo "|---|---|---|---|---|"
  for v in $VERSIONS; do
    g() { awk -F'\t' -v w="$1" -v v="$v" -v u="$2" '$1 == w && $2 == v && $3 == u { print $4 }' "$MEM"; }
    echo "| v$v | $(g weft stream) | $(g go stream) | $(g weft session) | $(g go session) |"
  done
  echo
  echo "CPU ms/MB: server side = the server's utime+stime over the run; client side = the client's own. floor = bench-epoll-floor, a raw TCP echo doing no smux work."
} >"$OUT"
cp "$RAW" "${OUT%.md}.tsv"
cat "$OUT"
log "written to $OUT"
