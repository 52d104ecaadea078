# shellcheck shell=bash
# Shared helpers for run_echo.sh and run_memory.sh (sourced, not executed).
#
# Expects BUILD to be set. Defines the contender list, server start/stop with
# CPU pinning, free-port selection, and an EXIT trap that kills whatever this
# script started.

SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
LOADGEN="$BUILD/bench/weft-loadgen"

# name | binary | arguments ({PORT} is substituted)
ALL_CONTENDERS=(
  "weft|$BUILD/examples/echo|--listen tcp://127.0.0.1:{PORT} --loops 1 --io epoll"
  "weft-uring|$BUILD/examples/echo|--listen tcp://127.0.0.1:{PORT} --loops 1 --io io_uring"
  "floor|$BUILD/bench/bench-epoll-floor|--port {PORT}"
  "libuv|$BUILD/bench/bench-uv-echo|--port {PORT}"
  "asio|$BUILD/bench/bench-asio-echo|--port {PORT}"
)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/weft-bench.XXXXXX)
SERVER_PID=""
CLIENT_PID=""

cleanup() {
  if [[ -n "$CLIENT_PID" ]]; then kill -KILL "$CLIENT_PID" 2>/dev/null || true; fi
  if [[ -n "$SERVER_PID" ]]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_setup() {
  [[ -x "$LOADGEN" ]] || die "$LOADGEN not found - build the bench targets first (see bench/README.md)"
  command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
  local ncpu; ncpu=$(nproc)
  (( SERVER_CPU < ncpu && CLIENT_CPU < ncpu )) || die "need CPUs $SERVER_CPU and $CLIENT_CPU, have $ncpu"
  local bt
  bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
  [[ "$bt" == Release || "$bt" == RelWithDebInfo ]] ||
    log "WARNING: $BUILD is a '${bt:-unknown}' build; numbers are only meaningful for Release"
}

# Warns if the machine is busy with something else (1 s sample of /proc/stat).
check_quiet() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  local busy
  busy=$(awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.0f", (t > 0) ? 100 * n * (y[1] - x[1]) / t : 0 }')
  if (( busy > ${NOISY_PCT:-10} )); then
    log "WARNING: the machine is not idle (${busy}% of a CPU busy before starting); results will be noisy"
  fi
}

# Fills CONTENDERS with the entries whose binary exists; notes the others.
select_contenders() {
  CONTENDERS=()
  SKIPPED=()
  local c name bin
  for c in "${ALL_CONTENDERS[@]}"; do
    IFS='|' read -r name bin _ <<<"$c"
    if [[ -x "$bin" ]]; then
      CONTENDERS+=("$c")
    else
      SKIPPED+=("$name ($bin not built)")
      log "skipping $name: $bin not found"
    fi
  done
  (( ${#CONTENDERS[@]} > 0 )) || die "no contender binaries found under $BUILD"
}

# median FILE COLUMN: the median of COLUMN over FILE's lines.
median() { sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# spread FILE COLUMN MEDIAN: (max - min) of COLUMN as a share of MEDIAN.
spread() { awk -v c="$2" -v m="$3" 'NR == 1 { lo = hi = $c } { if ($c < lo) lo = $c; if ($c > hi) hi = $c } END { printf "%.0f%%", (hi - lo) * 100 / m }' "$1"; }

# A TCP port nobody listens on, below the ephemeral range.
free_port() {
  local p
  for _ in $(seq 100); do
    p=$(( 20000 + RANDOM % 12000 ))
    if [[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]]; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

# start_server "name|bin|args" -> sets SERVER_PID, SERVER_PORT; returns 1 on failure.
start_server() {
  local name bin args
  IFS='|' read -r name bin args <<<"$1"
  local attempt
  for attempt in 1 2 3; do
    SERVER_PORT=$(free_port)
    local out="$WORK/server-$name.log"
    # shellcheck disable=SC2086  # args are deliberately word-split
    taskset -c "$SERVER_CPU" "$bin" ${args//\{PORT\}/$SERVER_PORT} >"$out" 2>&1 &
    SERVER_PID=$!  # taskset execs the server, so this is the server's pid
    for _ in $(seq 100); do  # up to 5 s
      if grep -q "listening on" "$out" 2>/dev/null; then return 0; fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    log "$name did not come up on port $SERVER_PORT (attempt $attempt): $(tail -n 3 "$out" | tr '\n' ' ')"
    stop_server
  done
  return 1
}

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 40); do  # up to 2 s, then SIGKILL
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# value KEY LINE: the value of KEY=value in a space-separated result line.
value() {
  local kv
  for kv in $2; do
    [[ "$kv" == "$1="* ]] && { echo "${kv#*=}"; return 0; }
  done
  echo "NA"
}

# stats: numbers on stdin -> "median min max"
stats() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "NA NA NA"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    print m, v[1], v[NR] }'
}
# fmt VALUE PRINTF-FORMAT ("NA" -> "n/a")
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "NA") print "n/a"; else printf f, x }'; }

machine_info() {
  local model
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  echo "Host: $(uname -n), $(nproc) CPUs ($model), Linux $(uname -r)"
}
