#!/usr/bin/env bash
# redis_interop.sh BUILD_DIR — the redis example against the real Redis
# clients: redis-cli checks replies byte for byte (--no-raw shows their
# types), python3 sends what redis-cli cannot (malformed, trickled and
# large requests), and redis-benchmark must run pipelined to the end.
# When redis-server is installed, the same commands also run against it
# and the replies must match.
# Raw requests below are Python bytes literals in single quotes: their '$'
# is RESP, not a shell expansion.
# shellcheck disable=SC2016
set -uo pipefail

BUILD=${1:?usage: redis_interop.sh BUILD_DIR}
BIN=$BUILD/examples/redis
[[ -x $BIN ]] || { echo "FAIL: $BIN not built" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "FAIL: redis-cli not installed (redis-tools)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 not installed" >&2; exit 1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok   $*"; }

# Start on port 0 and read the real port from "listening on": no race for
# a free port.
"$BIN" --listen tcp://127.0.0.1:0 >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do
  grep -q '^listening on ' "$TMP/server.out" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.05
done
PORT=$(sed -n 's|^listening on tcp://127.0.0.1:\([0-9]*\)$|\1|p' "$TMP/server.out" | head -1)
if [[ -z $PORT ]]; then
  echo "FAIL: server did not start:" >&2
  cat "$TMP/server.out" "$TMP/server.err" >&2
  exit 1
fi
echo "redis example on port $PORT (pid $SERVER)"

cli() { redis-cli --no-raw -p "$PORT" "$@" 2>&1; }

# check NAME EXPECTED ARGS...: one redis-cli command, output compared exactly.
check() {
  local name=$1 want=$2
  shift 2
  local got
  got=$(cli "$@")
  if [[ $got == "$want" ]]; then pass "$name"; else fail "$name: '$*' gave '$got', want '$want'"; fi
}

# ---- commands through redis-cli ----------------------------------------------
check "PING" "PONG" PING
check "PING msg" '"hello"' PING hello
check "ECHO" '"a b"' ECHO "a b"
check "SET" "OK" SET greeting hello
check "GET" '"hello"' GET greeting
check "GET missing" "(nil)" GET nosuchkey
check "SET NX on existing" "(nil)" SET greeting x NX
check "SET XX" "OK" SET greeting world XX
check "GET after XX" '"world"' GET greeting
check "INCR new" "(integer) 1" INCR counter
check "INCRBY" "(integer) 11" INCRBY counter 10
check "DECR" "(integer) 10" DECR counter
check "INCR non-integer" "(error) ERR value is not an integer or out of range" INCR greeting
check "MSET" "OK" MSET k1 v1 k2 v2 k3 v3
check "MGET" $'1) "v1"\n2) (nil)\n3) "v3"' MGET k1 missing k3
check "EXISTS" "(integer) 3" EXISTS k1 k2 k1 nope
check "DEL" "(integer) 2" DEL k1 k2 nope
check "EXISTS after DEL" "(integer) 0" EXISTS k1 k2
check "unknown command" "(error) ERR unknown command 'foo', with args beginning with: 'bar' 'baz' " foo bar baz
check "wrong arity" "(error) ERR wrong number of arguments for 'get' command" GET
check "wrong arity (mset)" "(error) ERR wrong number of arguments for 'mset' command" MSET a
check "SET syntax" "(error) ERR syntax error" SET a b NX XX
check "SET bad EX" "(error) ERR invalid expire time in 'set' command" SET a b EX 0
check "SELECT 0" "OK" SELECT 0
check "CONFIG GET save" $'1) "save"\n2) ""' CONFIG GET save
check "COMMAND" "(empty array)" COMMAND DOCS

# Expiry: lazy on access.
check "SET PX" "OK" SET shortlived v PX 300
check "GET before expiry" '"v"' GET shortlived
sleep 0.5
check "GET after expiry" "(nil)" GET shortlived
check "SET EX" "OK" SET longlived v EX 100
check "TTL" "(integer) 100" TTL longlived

# Expiry: the periodic sweep removes keys nobody reads again.
check "FLUSHALL" "OK" FLUSHALL
{
  for i in $(seq 200); do echo "SET sweep:$i v PX 1500"; done
  for i in $(seq 50); do echo "SET keep:$i v"; done
} | redis-cli -p "$PORT" >/dev/null
check "DBSIZE before sweep" "(integer) 250" DBSIZE
swept=no
for _ in $(seq 60); do
  sleep 0.1
  [[ $(cli DBSIZE) == "(integer) 50" ]] && { swept=yes; break; }
done
if [[ $swept == yes ]]; then
  pass "sweep deletes expired keys unread"
else
  fail "sweep: DBSIZE is $(cli DBSIZE), want 50"
fi

# ---- raw protocol through python3 ----------------------------------------------
# raw NAME WANT INPUT [close|trickle]: WANT and INPUT are Python bytes
# expressions. Sends INPUT (one byte per packet with "trickle"), reads the
# reply; with "close", the server must then close the connection.
raw() {
  local name=$1 want=$2 input=$3 mode=${4:-}
  local out
  if out=$(python3 - "$PORT" "$mode" <<PY 2>&1
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
want = $want
data = $input
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if mode == "trickle":
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(0.002)
else:
    s.sendall(data)
got = b""
while len(got) < len(want):
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    got += chunk
if got != want:
    print("reply %r, want %r" % (got[:200], want[:200]))
    sys.exit(1)
if mode == "close":
    try:
        extra = s.recv(1)
    except ConnectionResetError:
        extra = b""
    if extra:
        print("connection still open, got %r" % extra)
        sys.exit(1)
PY
  ); then
    pass "$name"
  else
    fail "$name: $out"
  fi
}

raw "protocol error: multibulk length" \
  'b"-ERR Protocol error: invalid multibulk length\r\n"' 'b"*abc\r\n"' close
raw "protocol error: bulk length" \
  'b"-ERR Protocol error: invalid bulk length\r\n"' 'b"*1\r\n$-5\r\n"' close
raw "protocol error after a good command" \
  'b"+PONG\r\n-ERR Protocol error: expected \x27$\x27, got \x27x\x27\r\n"' \
  'b"PING\r\n*1\r\nx\r\nPING\r\n"' close
raw "protocol error: missing CRLF after bulk" \
  'b"-ERR Protocol error: expected CRLF after bulk\r\n"' 'b"*1\r\n$3\r\nfooXY"' close
raw "protocol error: unbalanced quotes" \
  'b"-ERR Protocol error: unbalanced quotes in request\r\n"' 'b"SET \"a b\r\n"' close
raw "protocol error: too big inline request" \
  'b"-ERR Protocol error: too big inline request\r\n"' 'b"x" * 70000' close
raw "QUIT replies then closes" 'b"+OK\r\n"' 'b"QUIT\r\nPING\r\n"' close
raw "inline commands (telnet)" 'b"+OK\r\n$3\r\na b\r\n"' 'b"SET q \"a b\"\r\nGET q\n"'
raw "pipelined mixed batch" 'b":0\r\n:1\r\n:2\r\n+PONG\r\n$1\r\n2\r\n"' \
  'b"DEL pc\r\nINCR pc\r\n*2\r\n$4\r\nINCR\r\n$2\r\npc\r\nPING\r\n*2\r\n$3\r\nGET\r\n$2\r\npc\r\n"'
raw "command trickled one byte per packet" 'b"+OK\r\n$5\r\nhello\r\n"' \
  'b"*3\r\n$3\r\nSET\r\n$2\r\ntk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$2\r\ntk\r\n"' trickle
# 6 MiB: above weft's default pktSizeLimit, which the example raises as Redis does.
raw "6 MiB value round trip" 'b"+OK\r\n$6291456\r\n" + b"z" * 6291456 + b"\r\n"' \
  'b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$6291456\r\n" + b"z" * 6291456 + b"\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"'
# One batch whose replies are 20 MiB: replies leave in pieces, in order.
raw "20 pipelined GETs of a 1 MiB value" \
  'b"+OK\r\n" + (b"$1048576\r\n" + b"y" * 1048576 + b"\r\n") * 20' \
  'b"*3\r\n$3\r\nSET\r\n$2\r\nmb\r\n$1048576\r\n" + b"y" * 1048576 + b"\r\n" + b"GET mb\r\n" * 20'
raw "20000 pipelined commands in one write" 'b"+PONG\r\n" * 20000' 'b"PING\r\n" * 10000 + b"*1\r\n$4\r\nPING\r\n" * 10000'
check "server still serving" "PONG" PING

# ---- redis-benchmark -----------------------------------------------------------
if command -v redis-benchmark >/dev/null; then
  if out=$(timeout 60 redis-benchmark -p "$PORT" -t ping,set,get -n 20000 -c 20 -P 16 -q 2>&1); then
    tests=$(grep -c 'requests per second' <<<"$out")
    if [[ $tests == 4 ]]; then
      pass "redis-benchmark -P 16: $(tr '\r' '\n' <<<"$out" | grep -o '[A-Z_]*: [0-9.]* requests per second' | sed 's/ requests per second/ rps/' | paste -sd ' ')"
    else
      fail "redis-benchmark finished $tests of 4 tests: $out"
    fi
  else
    fail "redis-benchmark failed or hung: $out"
  fi
else
  fail "redis-benchmark not installed (redis-tools)"
fi

# ---- differential: the same commands against redis-server ----------------------
if command -v redis-server >/dev/null; then
  sock=$TMP/redis.sock
  redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
    --logfile "$TMP/redis-server.log" &
  PIDS+=("$!")
  for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
  cli_ref() { redis-cli --no-raw -s "$sock" "$@" 2>&1; }
  cli FLUSHALL >/dev/null
  cli_ref FLUSHALL >/dev/null
  same=0
  args=()
  while IFS= read -r line; do
    eval "args=($line)"
    a=$(cli "${args[@]}")
    b=$(cli_ref "${args[@]}")
    if [[ $a == "$b" ]]; then
      same=$((same + 1))
    else
      fail "differs from redis-server: $line: weft '$a', redis '$b'"
    fi
  done <<'CMDS'
PING
PING "x y"
PING a b
ECHO ""
SET k v
SET k v2 GET
SET k v3 NX GET
SET k v4 XX KEEPTTL
SET k v EX
SET k v EX -1
SET k v PX abc
SET k v EX 10 PX 10
SET k v KEEPTTL EX 10
SET k v FOO
GET k
GET
GET a b
INCR k
SET n 9223372036854775807
INCR n
DECRBY n -9223372036854775808
INCRBY n 1x
DECR fresh
MSET a 1 b 2 c
MSET a 1 b 2
MGET a b nope
EXISTS a a b nope
DEL a nope b
DBSIZE
SELECT 0
SELECT abc
FLUSHDB bogus
FLUSHALL ASYNC
CONFIG GET appendonly
CONFIG GET
CONFIG
CONFIG NOPE
COMMAND COUNT x
nosuchcommand
nosuchcommand a "b c"
TTL nope
SET t v EX 100
TTL t
PTTL nope
CMDS
  pass "$same commands reply exactly as redis-server $(redis-server --version | grep -o 'v=[0-9.]*')"
  # Raw requests, malformed ones included: same bytes back, same close.
  if out=$(python3 - "$PORT" "$sock" <<'PY' 2>&1
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
inputs = [b"*abc\r\n", b"*1\r\n$-5\r\n", b"*1\r\n$x\r\n", b"PING\r\n*1\r\nx\r\nPING\r\n",
          b"*1\r\n\r\n", b"SET \"a b\r\n", b"SET 'a'b\r\n", b"x" * 70000, b"*" + b"1" * 70000,
          b"*1\r\n$" + b"1" * 70000, b"*1\r\n$536870913\r\n", b"*-1\r\n*0\r\n\r\n  \nPING\r\n",
          b"ECHO \"\\x41\\n\\t\" 'a\\'b' c\"d\"\r\n", b"QUIT\r\nPING\r\n"]
def exchange(addr, family, data):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(0.5)
    s.connect(addr)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got + b" <closed>"
            got += chunk
    except (socket.timeout, ConnectionResetError):
        return got + b" <open>"
bad = 0
for data in inputs:
    a = exchange(("127.0.0.1", port), socket.AF_INET, data)
    b = exchange(path, socket.AF_UNIX, data)
    if a != b:
        print("input %r: weft %r, redis %r" % (data[:40], a[:200], b[:200]))
        bad += 1
print(len(inputs))
sys.exit(bad)
PY
  ); then
    pass "$(tail -1 <<<"$out") raw requests (malformed too) answered exactly as by redis-server"
  else
    fail "raw requests differ from redis-server: $out"
  fi
fi

# ---- several loops: one keyspace, sharded -----------------------------------------
"$BIN" --listen tcp://127.0.0.1:0 --loops 2 >"$TMP/server2.out" 2>"$TMP/server2.err" &
SERVER2=$!
PIDS+=("$SERVER2")
for _ in $(seq 100); do grep -q '^listening on ' "$TMP/server2.out" 2>/dev/null && break; sleep 0.05; done
PORT2=$(sed -n 's|^listening on tcp://127.0.0.1:\([0-9]*\)$|\1|p' "$TMP/server2.out" | head -1)
if [[ -z $PORT2 ]]; then
  fail "--loops 2: server did not start: $(cat "$TMP/server2.err")"
else
  redis-cli -p "$PORT2" SET shared 42 >/dev/null
  seen=0
  # Each redis-cli is a new connection; with two loops they land on both.
  for _ in $(seq 20); do [[ $(redis-cli -p "$PORT2" GET shared) == 42 ]] && seen=$((seen + 1)); done
  if [[ $seen == 20 ]]; then
    pass "--loops 2: every connection sees the same keyspace"
  else
    fail "--loops 2: GET shared matched on $seen of 20 connections"
  fi
  if timeout 60 redis-benchmark -p "$PORT2" -t set,get,incr,mset -n 20000 -c 20 -P 16 -r 1000 -q \
    >"$TMP/bench2.out" 2>&1 && [[ $(tr '\r' '\n' <"$TMP/bench2.out" | grep -c 'requests per second') == 4 ]]; then
    pass "--loops 2: redis-benchmark set,get,incr,mset"
  else
    fail "--loops 2: redis-benchmark: $(tail -3 "$TMP/bench2.out")"
  fi
fi

# ---- graceful stop -------------------------------------------------------------
kill -TERM "$SERVER"
for _ in $(seq 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$SERVER" 2>/dev/null; then
  fail "server still running 5 s after SIGTERM"
else
  wait "$SERVER"
  rc=$?
  if [[ $rc == 0 ]]; then
    pass "SIGTERM: clean exit"
  else
    fail "SIGTERM: exit status $rc ($(tail -3 "$TMP/server.err"))"
  fi
fi

if ((FAILS > 0)); then
  echo "redis interop: $FAILS check(s) FAILED" >&2
  exit 1
fi
echo "redis interop: all checks passed"
