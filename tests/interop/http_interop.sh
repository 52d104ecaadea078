#!/usr/bin/env bash
# http_interop.sh BUILD_DIR — the http example (weft::http::App) against
# real HTTP clients: curl (GET, JSON, keep-alive across two URLs, a chunked
# upload echoed back, Expect: 100-continue with 1 MiB, HTTPS with a
# certificate made here by the openssl CLI), wrk (50 connections, then 16
# pipelined requests per write: no socket errors, no non-2xx answers) and
# Python's http.client (100 requests on one keep-alive connection, a POST, a
# HEAD), and Prometheus' promtool linting a scrape of /metrics (plain and
# HTTPS). Everything runs on 127.0.0.1 with timeouts; every server started
# here is killed on exit.
# Exit status 77 (ctest: skipped) when curl, openssl, wrk or
# /usr/bin/python3 is missing.
# PORT_x and PID_x are set by start() through printf -v; /proc/PID/fd names
# are numbers.
# shellcheck disable=SC2154,SC2012
set -euo pipefail

BUILD=${1:?usage: http_interop.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
BIN=$BUILD/examples/http
OUTDIR=$BUILD/http_interop
PY=/usr/bin/python3
[[ -x $BIN ]] || { echo "FAIL - $BIN not built" >&2; exit 1; }
for prog in curl openssl wrk "$PY"; do
  if ! command -v "$prog" >/dev/null; then
    echo "skip - $prog not installed (scripts/install-deps.sh installs it)"
    exit 77
  fi
done

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  cp "$TMP"/*.err "$TMP"/*.out "$OUTDIR"/ 2>/dev/null || true  # server and client logs
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUTDIR"

FAILS=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# show FILE: the end of FILE, indented, for a FAIL.
show() { tail -n 15 "$1" 2>/dev/null | sed 's/^/    /' || true; }
START=$SECONDS

# ---- servers -------------------------------------------------------------------
# start NAME SCHEME ARGS...: runs the example on SCHEME://127.0.0.1:0 (plus
# ARGS); sets PORT_NAME and PID_NAME.
start() {
  local name=$1 scheme=$2 pid port=""
  shift 2
  "$BIN" --listen "$scheme://127.0.0.1:0" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    port=$(sed -n "s|^listening on $scheme://127.0.0.1:\\([0-9]*\\)\$|\\1|p" "$TMP/$name.out" \
      2>/dev/null | head -1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    echo "FAIL - server $name did not start:"
    sed 's/^/    /' "$TMP/$name.out" "$TMP/$name.err"
    exit 1
  fi
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
# alive NAME: the server still runs (else a FAIL line says how it ended).
alive() {
  local pid_var=PID_$1 status=0
  kill -0 "${!pid_var}" 2>/dev/null && return 0
  wait "${!pid_var}" || status=$?
  fail "server $1 (pid ${!pid_var}) exited with status $status; stderr: $(tail -5 "$TMP/$1.err" | tr '\n' ' ')"
  return 1
}
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

start main tcp
URL=http://127.0.0.1:$PORT_main
FD_BASE=$(fds "$PID_main")
echo "# http example on $URL ($FD_BASE descriptors open)"

CURL=(timeout 20 curl --silent --show-error --max-time 15)

# ---- curl ------------------------------------------------------------------------
out=$TMP/get.out
if body=$("${CURL[@]}" -D "$TMP/get.head" "$URL/" 2>"$out") && [[ $body == "Hello, World!" ]] &&
  grep -qi '^content-length: 13' "$TMP/get.head" && grep -qi '^date: ' "$TMP/get.head"; then
  pass "curl GET /: 'Hello, World!' with Content-Length and Date"
else
  fail "curl GET /: got '${body:-}'"; show "$out"; show "$TMP/get.head"
fi

out=$TMP/json.out
if body=$("${CURL[@]}" -D "$TMP/json.head" "$URL/json" 2>"$out") &&
  [[ $body == '{"message":"Hello, World!"}' ]] &&
  grep -qi '^content-type: application/json' "$TMP/json.head"; then
  pass "curl GET /json: the JSON message, Content-Type application/json"
else
  fail "curl GET /json: got '${body:-}'"; show "$out"; show "$TMP/json.head"
fi

out=$TMP/keepalive.out
if "${CURL[@]}" -v "$URL/" "$URL/json" >"$TMP/keepalive.body" 2>"$out" &&
  grep -qi 'Re-using existing connection' "$out" &&
  [[ $(cat "$TMP/keepalive.body") == 'Hello, World!{"message":"Hello, World!"}' ]]; then
  pass "curl keep-alive: two URLs on one command line share the connection"
else
  fail "curl keep-alive: want 'Re-using existing connection' and both bodies"; show "$out"
fi

head -c 300000 /dev/urandom >"$TMP/upload.bin"
out=$TMP/chunked.out
if "${CURL[@]}" -v -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$TMP/upload.bin" "$URL/echo" -o "$TMP/chunked.back" 2>"$out" &&
  grep -qi '^> Transfer-Encoding: chunked' "$out" && cmp -s "$TMP/upload.bin" "$TMP/chunked.back"; then
  pass "curl chunked upload: 300000 bytes echoed back unchanged"
else
  fail "curl chunked upload: the echo differs ($(stat -c %s "$TMP/chunked.back" 2>/dev/null || echo 0) bytes back)"
  show "$out"
fi

head -c 1048576 /dev/urandom >"$TMP/1mib.bin"
out=$TMP/continue.out
if "${CURL[@]}" -v -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$TMP/1mib.bin" "$URL/echo" -o "$TMP/continue.back" 2>"$out" &&
  grep -q '^< HTTP/1.1 100 Continue' "$out" && grep -q '^< HTTP/1.1 200 OK' "$out" &&
  cmp -s "$TMP/1mib.bin" "$TMP/continue.back"; then
  pass "curl Expect: 100-continue: '100 Continue' before the 1 MiB body, then 200 with the echo"
else
  fail "curl Expect: 100-continue: want '< HTTP/1.1 100 Continue', then the 1 MiB echo"
  show "$out"
fi

out=$TMP/toolarge.out
head -c 1048577 /dev/zero >"$TMP/toolarge.bin"
if code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' --data-binary @"$TMP/toolarge.bin" \
  "$URL/echo" 2>"$out") && [[ $code == 413 ]]; then
  pass "curl POST of 1 MiB + 1 byte: 413"
else
  fail "curl POST over the 1 MiB body limit: want 413, got ${code:-nothing}"; show "$out"
fi

out=$TMP/notfound.out
if code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/nope" 2>"$out") && [[ $code == 404 ]] &&
  code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -X DELETE "$URL/json" 2>>"$out") &&
  [[ $code == 405 ]]; then
  pass "curl: 404 for an unknown path, 405 for DELETE /json"
else
  fail "curl 404/405: got ${code:-nothing}"; show "$out"
fi

# ---- HTTPS -----------------------------------------------------------------------
PKI=$TMP/pki
mkdir -p "$PKI"
if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/key.pem" -out "$PKI/cert.pem" \
  -days 30 -sha256 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  >"$TMP/openssl.out" 2>&1; then
  echo "FAIL - could not make the test certificate:"; show "$TMP/openssl.out"
  exit 1
fi
start tls tls --cert "$PKI/cert.pem" --key "$PKI/key.pem"
out=$TMP/https.out
if body=$("${CURL[@]}" -v --cacert "$PKI/cert.pem" --resolve "localhost:$PORT_tls:127.0.0.1" \
  "https://localhost:$PORT_tls/" "https://localhost:$PORT_tls/json" 2>"$out") &&
  [[ $body == 'Hello, World!{"message":"Hello, World!"}' ]] &&
  grep -q 'SSL certificate verify ok' "$out" && grep -qi 'Re-using existing connection' "$out"; then
  pass "curl HTTPS: certificate verified, GET / and /json on one connection"
else
  fail "curl HTTPS: got '${body:-}'"; show "$out"
fi
out=$TMP/https-post.out
if "${CURL[@]}" --cacert "$PKI/cert.pem" --resolve "localhost:$PORT_tls:127.0.0.1" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/upload.bin" \
  "https://localhost:$PORT_tls/echo" -o "$TMP/https.back" 2>"$out" &&
  cmp -s "$TMP/upload.bin" "$TMP/https.back"; then
  pass "curl HTTPS POST: 300000 bytes echoed back unchanged"
else
  fail "curl HTTPS POST: the echo differs"; show "$out"
fi

# ---- wrk ---------------------------------------------------------------------------
# wrk_ok NAME OUT: wrk finished with requests, no socket errors, only 2xx.
wrk_check() {
  local what=$1 out=$2 requests
  requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out" | head -1)
  if [[ -n $requests ]] && ((requests > 0)) && ! grep -q 'Socket errors' "$out" &&
    ! grep -q 'Non-2xx' "$out"; then
    pass "$what: $requests requests, $(sed -n 's/^Requests\/sec: *//p' "$out") req/s, no socket errors, all 2xx"
  else
    fail "$what: want requests > 0, no 'Socket errors' and no 'Non-2xx' lines:"; show "$out"
  fi
}
out=$TMP/wrk.out
timeout 30 wrk -t1 -c50 -d3s "$URL/" >"$out" 2>&1 || true
wrk_check "wrk -t1 -c50 -d3s" "$out"

cat >"$TMP/pipeline.lua" <<'LUA'
-- 16 requests per write: wrk counts each response.
init = function(args)
  local r = {}
  for i = 1, 16 do
    r[i] = wrk.format(nil, i % 2 == 0 and "/json" or "/")
  end
  req = table.concat(r)
end

request = function()
  return req
end
LUA
out=$TMP/wrk-pipeline.out
timeout 30 wrk -t1 -c50 -d3s -s "$TMP/pipeline.lua" "$URL/" >"$out" 2>&1 || true
wrk_check "wrk -t1 -c50 -d3s, 16 pipelined requests per write" "$out"

# ---- Python http.client --------------------------------------------------------------
cat >"$TMP/client.py" <<'PY'
"""http.client against the http example: python3 client.py PORT."""
import http.client
import sys

port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
conn.connect()
sock = conn.sock
for i in range(100):
    conn.request("GET", "/json" if i % 2 else "/")
    res = conn.getresponse()
    body = res.read()
    want = b'{"message":"Hello, World!"}' if i % 2 else b"Hello, World!"
    if res.status != 200 or body != want:
        sys.exit("request %d: %d %r" % (i, res.status, body))
    if res.will_close or conn.sock is not sock:
        sys.exit("request %d: the connection was not kept alive" % i)
payload = bytes(range(256)) * 1000
conn.request("POST", "/echo", body=payload, headers={"Content-Type": "application/octet-stream"})
res = conn.getresponse()
body = res.read()
if res.status != 200 or body != payload:
    sys.exit("POST /echo: %d, %d bytes back" % (res.status, len(body)))
conn.request("HEAD", "/")
res = conn.getresponse()
body = res.read()
if res.status != 200 or body != b"" or res.getheader("Content-Length") != "13":
    sys.exit("HEAD /: %d Content-Length %r body %r" % (res.status, res.getheader("Content-Length"), body))
conn.request("GET", "/")  # the HEAD left nothing behind on the connection
res = conn.getresponse()
if res.read() != b"Hello, World!" or conn.sock is not sock:
    sys.exit("GET after HEAD failed")
conn.close()
print("100 keep-alive GETs on one connection, POST of %d bytes echoed, HEAD without a body"
      % len(payload))
PY
if out=$(timeout 60 "$PY" "$TMP/client.py" "$PORT_main" 2>&1); then
  pass "python http.client: $out"
else
  fail "python http.client: $(tail -3 <<<"$out")"
fi

# ---- Prometheus: /metrics scraped and linted by promtool ------------------------------
# metric_sum FILE METRIC: the sum of METRIC's samples over every loop (and label).
metric_sum() { awk -v m="$2" 'index($0, m "{") == 1 { s += $NF } END { printf "%.0f", s }' "$1"; }
if ! command -v promtool >/dev/null; then
  fail "promtool not installed (scripts/install-deps.sh installs Debian's prometheus)"
else
  out=$TMP/metrics.out
  lint=""
  if "${CURL[@]}" -D "$TMP/metrics.head" "$URL/metrics" -o "$TMP/metrics.txt" 2>"$out" &&
    grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/metrics.head" &&
    lint=$(promtool check metrics <"$TMP/metrics.txt" 2>&1) &&
    (($(metric_sum "$TMP/metrics.txt" weft_connections_accepted_total) >= 50)) &&
    (($(metric_sum "$TMP/metrics.txt" weft_received_bytes_total) > 1048576)) &&
    (($(metric_sum "$TMP/metrics.txt" weft_connections_open) >= 1)); then
    pass "prometheus: /metrics is text format 0.0.4, promtool finds nothing to lint, counters saw the traffic" \
      "($(metric_sum "$TMP/metrics.txt" weft_connections_accepted_total) accepted)"
  else
    fail "prometheus: /metrics: ${lint:-scrape failed or counters too low}"
    show "$out"; show "$TMP/metrics.head"; show "$TMP/metrics.txt"
  fi
  out=$TMP/metrics-tls.out
  lint=""
  if "${CURL[@]}" --cacert "$PKI/cert.pem" --resolve "localhost:$PORT_tls:127.0.0.1" \
    "https://localhost:$PORT_tls/metrics" -o "$TMP/metrics-tls.txt" 2>"$out" &&
    lint=$(promtool check metrics <"$TMP/metrics-tls.txt" 2>&1) &&
    (($(metric_sum "$TMP/metrics-tls.txt" weft_tls_handshakes_total) >= 2)) &&
    grep -q '^# TYPE weft_ktls_fallbacks_total counter$' "$TMP/metrics-tls.txt"; then
    pass "prometheus over HTTPS: the TLS and kTLS families, promtool finds nothing to lint" \
      "($(metric_sum "$TMP/metrics-tls.txt" weft_tls_handshakes_total) handshakes)"
  else
    fail "prometheus over HTTPS: ${lint:-scrape failed or no TLS handshakes counted}"
    show "$out"; show "$TMP/metrics-tls.txt"
  fi
fi

# ---- the servers are still there and gave every descriptor back -------------------------
if alive main; then
  n=0
  for _ in $(seq 50); do
    n=$(fds "$PID_main")
    ((n <= FD_BASE)) && break
    sleep 0.1
  done
  if ((n == FD_BASE)); then
    pass "descriptors: back to $FD_BASE in the plain server after all clients"
  else
    fail "descriptors: $n open in the plain server, $FD_BASE after startup"
    ls -l "/proc/$PID_main/fd" | sed 's/^/    /'
  fi
fi
alive tls || true

# SIGTERM stops each server gracefully: exit status 0, and (sanitizer
# builds) no report on its stderr.
for name in main tls; do
  pid_var=PID_$name
  kill -0 "${!pid_var}" 2>/dev/null || continue
  kill -TERM "${!pid_var}"
  status=0
  timeout 15 tail --pid="${!pid_var}" -f /dev/null || kill -KILL "${!pid_var}" 2>/dev/null || true
  wait "${!pid_var}" || status=$?
  if ((status == 0)) && ! grep -q 'Sanitizer' "$TMP/$name.err"; then
    pass "server $name: SIGTERM, exit status 0, nothing reported"
  else
    fail "server $name: exit status $status after SIGTERM; stderr:"
    grep -v ' weft info: ' "$TMP/$name.err" | head -30 | sed 's/^/    /'
  fi
done

echo "# http interop: $CHECKS checks, $FAILS failed, $((SECONDS - START)) s"
((FAILS == 0))
