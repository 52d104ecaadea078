#!/usr/bin/env bash
# run_redis.sh [BUILD_DIR=build] [ROUNDS=3] [REQUESTS=200000]
#
# The redis example next to redis-server, driven by redis-benchmark:
# PING_INLINE, PING_MBULK, SET and GET, 50 clients, without pipelining and
# with -P 16. Servers pinned to CPU 0, redis-benchmark to CPU 1; both
# servers run side by side and every test alternates between them (the
# first one rotates each round), so drift hits both alike. Each server's
# CPU time (/proc/PID/task/*/schedstat: utime+stime in ns) is sampled around every
# redis-benchmark run. Prints a Markdown table of medians over rounds and
# saves it under bench/results/.
# Environment: SERVER_CPU (0), CLIENT_CPU (1), CLIENTS (50), RESULTS_DIR,
#              WEFT_IO (auto): weft's --io backend (epoll, io_uring, auto),
#              PIPELINES ("1 16"), TESTS ("ping_inline ping_mbulk set get").
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${2:-3}
REQUESTS=${3:-200000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
CLIENTS=${CLIENTS:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
WEFT_BIN=$BUILD/examples/redis
WEFT_IO=${WEFT_IO:-auto}
read -r -a TESTS <<<"${TESTS:-ping_inline ping_mbulk set get}"
read -r -a PIPELINES <<<"${PIPELINES:-1 16}"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

[[ -x $WEFT_BIN ]] || die "$WEFT_BIN not found: build the redis example (ninja -C $BUILD redis)"
for tool in redis-server redis-benchmark redis-cli taskset python3; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-server redis-tools util-linux python3)"
done
(($(nproc) > SERVER_CPU && $(nproc) > CLIENT_CPU)) || die "need CPUs $SERVER_CPU and $CLIENT_CPU"
bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
# weft's top-level CMakeLists.txt builds RelWithDebInfo when no type is given.
[[ -z $bt && -f $BUILD/CMakeCache.txt ]] && bt=RelWithDebInfo
[[ $bt == Release || $bt == RelWithDebInfo ]] ||
  log "WARNING: $BUILD is a '${bt:-unknown}' build; numbers are only meaningful optimised"

WORK=$(mktemp -d /tmp/weft-redis-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU time of a process in ns, all threads: the sum of sum_exec_runtime in
# /proc/PID/task/*/schedstat (the same time utime+stime count, but in ns
# rather than 10 ms ticks, which are too coarse for a 0.2 s run).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }

wait_ready() {  # port pid
  for _ in $(seq 200); do
    kill -0 "$2" 2>/dev/null || return 1
    [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  return 1
}

# start_servers: fresh servers for a round; sets WEFT_PID/PORT, REDIS_PID/PORT.
start_servers() {
  WEFT_PORT=$(free_port)
  taskset -c "$SERVER_CPU" "$WEFT_BIN" --listen "tcp://127.0.0.1:$WEFT_PORT" --loops 1 \
    --io "$WEFT_IO" >"$WORK/weft.log" 2>&1 &
  WEFT_PID=$!
  PIDS+=("$WEFT_PID")
  REDIS_PORT=$(free_port)
  taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly no --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_ready "$WEFT_PORT" "$WEFT_PID" || die "weft redis did not start: $(tail -3 "$WORK/weft.log")"
  wait_ready "$REDIS_PORT" "$REDIS_PID" || die "redis-server did not start: $(tail -3 "$WORK/redis.log")"
}

stop_servers() {
  kill -TERM "$WEFT_PID" "$REDIS_PID" 2>/dev/null || true
  wait "$WEFT_PID" "$REDIS_PID" 2>/dev/null || true
}

# run_one NAME PORT PID TEST PIPELINE ROUND: one redis-benchmark run; appends
# "name test pipeline round rps cpu_us_per_request" to the raw TSV.
run_one() {
  local name=$1 port=$2 pid=$3 test=$4 p=$5 round=$6 out before after rps
  before=$(cpu_ns "$pid")
  out=$(timeout 300 taskset -c "$CLIENT_CPU" redis-benchmark -p "$port" -t "$test" \
    -n "$REQUESTS" -c "$CLIENTS" -P "$p" -q 2>&1) || die "$name $test -P $p: redis-benchmark failed: $out"
  after=$(cpu_ns "$pid")
  rps=$(tr '\r' '\n' <<<"$out" | sed -n 's/^[A-Z_]*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
  [[ -n $rps ]] || die "$name $test -P $p: no result in: $out"
  kill -0 "$pid" 2>/dev/null || die "$name died during $test -P $p"
  awk -v n="$name" -v t="$test" -v p="$p" -v r="$round" -v rps="$rps" -v d=$((after - before)) \
    -v req="$REQUESTS" \
    'BEGIN { printf "%s\t%s\t%s\t%s\t%s\t%.3f\n", n, t, p, r, rps, d / 1000 / req }' >>"$WORK/raw.tsv"
  log "round $round  $name  ${test^^} -P $p: $rps req/s, $(tail -1 "$WORK/raw.tsv" | cut -f6) CPU us/req"
}

# Other load on the machine skews both servers; say so rather than hide it.
busy_pct() {  # CPU% (of one CPU) busy over one second, whole machine
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ")
    t = y[2] - x[2]; printf "%.0f", (t > 0) ? 100 * n * (y[1] - x[1]) / t : 0 }'
}
IDLE_BUSY=$(busy_pct)
((IDLE_BUSY <= 10)) ||
  log "WARNING: the machine is not idle (${IDLE_BUSY}% of a CPU busy before starting); results will be noisy"

: >"$WORK/raw.tsv"
log "$ROUNDS round(s) x ${#TESTS[@]} tests x ${#PIPELINES[@]} pipelines x 2 servers, $REQUESTS requests each"
for round in $(seq "$ROUNDS"); do
  start_servers
  for p in "${PIPELINES[@]}"; do
    for test in "${TESTS[@]}"; do
      if ((round % 2)); then
        run_one weft "$WEFT_PORT" "$WEFT_PID" "$test" "$p" "$round"
        run_one redis "$REDIS_PORT" "$REDIS_PID" "$test" "$p" "$round"
      else
        run_one redis "$REDIS_PORT" "$REDIS_PID" "$test" "$p" "$round"
        run_one weft "$WEFT_PORT" "$WEFT_PID" "$test" "$p" "$round"
      fi
    done
  done
  stop_servers
done

# ---- report: medians over rounds ------------------------------------------------
report() {
  echo "## redis example vs redis-server $(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),"
  echo "build type ${bt:-unknown}. \`redis-benchmark -t TEST -n $REQUESTS -c $CLIENTS -q [-P 16]\`,"
  echo "servers on CPU $SERVER_CPU (weft: \`--loops 1\`; redis: \`--save '' --appendonly no\`),"
  echo "redis-benchmark on CPU $CLIENT_CPU; median of $ROUNDS round(s). CPU = server CPU time"
  echo "per request over the run (schedstat, ns resolution). Machine busy before start: ${IDLE_BUSY}% of a CPU."
  echo
  echo "| test | pipeline | weft req/s | redis req/s | req/s weft/redis | weft CPU us/req | redis CPU us/req | CPU weft/redis |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  local p test
  for p in "${PIPELINES[@]}"; do
    for test in "${TESTS[@]}"; do
      awk -F'\t' -v t="$test" -v p="$p" '
        function median(a, n,   i, j, x) {
          for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
          return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $2 == t && $3 == p { k = $1; n[k]++; rps[k, n[k]] = $5; cpu[k, n[k]] = $6 }
        END {
          for (s in n) { delete r; delete c
            for (i = 1; i <= n[s]; i++) { r[i] = rps[s, i]; c[i] = cpu[s, i] }
            mr[s] = median(r, n[s]); mc[s] = median(c, n[s]) }
          pl = (p == 1) ? "none" : ("-P " p)
          ratio = (mr["redis"] > 0) ? mr["weft"] / mr["redis"] : 0
          cpu_ratio = (mc["redis"] > 0) ? sprintf("%.2f", mc["weft"] / mc["redis"]) : "n/a"
          printf "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %s |\n", toupper(t), pl,
            mr["weft"], mr["redis"], ratio, mc["weft"], mc["redis"], cpu_ratio
        }' "$WORK/raw.tsv"
    done
  done
}

mkdir -p "$RESULTS_DIR"
stamp=$(date +%Y%m%d-%H%M%S)
report | tee "$RESULTS_DIR/redis-$stamp.md"
cp "$WORK/raw.tsv" "$RESULTS_DIR/redis-$stamp.tsv"
log "saved $RESULTS_DIR/redis-$stamp.md (and .tsv with every run)"
