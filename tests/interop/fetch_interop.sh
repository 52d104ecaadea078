#!/usr/bin/env bash
# fetch_interop.sh BUILD_DIR — weft's HTTP client (http::fetch, through
# examples/fetch) against real servers, each answer compared byte for byte
# with what curl gets from the same URL:
#   nginx: a 1 MiB file (Content-Length), the same text gzip'd on the fly
#   (chunked), HEAD, a 301, a 404 page, 20 URLs at once, 20 one after another
#   over one kept-alive connection; HTTPS with a
#   certificate made here by the openssl CLI, verified with --ca and refused
#   without it;
#   Python's http.server: HTTP/1.0 answers, a file and a directory listing,
#   connections never reused;
#   openssl s_server -WWW: a body that ends when the TLS connection does;
#   examples/proxy (http::App + http::Client) in front of nginx: curl through
#   it gets nginx's own status and bytes, and wrk through it sees no error.
# Everything runs on 127.0.0.1 with timeouts; every server started here is
# stopped on exit. Exit status 77 (ctest: skipped) when curl, openssl, nginx,
# wrk or python3 is missing.
set -euo pipefail

BUILD=${1:?usage: fetch_interop.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
FETCH=$BUILD/examples/fetch
OUTDIR=$BUILD/fetch_interop
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PY=/usr/bin/python3
[[ -x $FETCH ]] || { echo "FAIL - $FETCH not built" >&2; exit 1; }
for prog in curl openssl wrk "$NGINX" "$PY"; do
  if ! command -v "$prog" >/dev/null; then
    echo "skip - $prog not installed (scripts/install-deps.sh installs it)"
    exit 77
  fi
done

TMP=$(mktemp -d)
chmod 755 "$TMP"  # nginx's worker runs as nobody: it must read the files
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  mkdir -p "$OUTDIR"
  cp "$TMP"/*.err "$OUTDIR"/ 2>/dev/null || true  # server and client logs
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILS=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
show() { tail -n 15 "$1" 2>/dev/null | sed 's/^/    /' || true; }

# free_port: a port nobody listens on right now.
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# fetch_vs_curl WHAT STATUS FETCH_ARGS... -- CURL_ARGS... URL: curl gets
# STATUS, and fetch the same body.
fetch_vs_curl() {
  local what=$1 status=$2 fetch_args=() curl_args=() url code
  shift 2
  while [[ $1 != -- ]]; do fetch_args+=("$1"); shift; done
  shift
  while (($# > 1)); do curl_args+=("$1"); shift; done
  url=$1
  local name=${what//[^a-zA-Z0-9]/_}
  code=$(timeout 20 curl -s "${curl_args[@]}" -w '%{http_code}' -o "$TMP/$name.curl" "$url" || true)
  if [[ $code != "$status" ]]; then
    fail "$what: curl got status '$code', want $status"
  elif timeout 20 "$FETCH" "${fetch_args[@]}" "$url" >"$TMP/$name.fetch" 2>"$TMP/$name.err" &&
    cmp -s "$TMP/$name.fetch" "$TMP/$name.curl"; then
    pass "$what: $status, $(stat -c %s "$TMP/$name.fetch") bytes, the same as curl's"
  else
    fail "$what: fetch and curl differ (fetch $(stat -c %s "$TMP/$name.fetch" 2>/dev/null || echo -) bytes, curl $(stat -c %s "$TMP/$name.curl" 2>/dev/null || echo -))"
    show "$TMP/$name.err"
  fi
}

# ---- content and a certificate -------------------------------------------------------
WWW=$TMP/www
mkdir -p "$WWW/dir"
head -c 1048576 /dev/urandom >"$WWW/big.bin"
seq 1 200000 >"$WWW/numbers.txt"  # ~1.2 MB of text: gzip'd on the fly, chunked
echo "small file" >"$WWW/small.txt"
echo "inside" >"$WWW/dir/a.txt"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl-req.err"

# ---- nginx ----------------------------------------------------------------------------
NGX_PORT=$(free_port)
NGX_TLS_PORT=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log stderr error;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  types { text/plain txt; application/octet-stream bin; }
  gzip on;
  gzip_types text/plain;
  gzip_min_length 0;
  server {
    listen 127.0.0.1:$NGX_PORT;
    listen 127.0.0.1:$NGX_TLS_PORT ssl;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    root $WWW;
    location = /moved { return 301 /small.txt; }
  }
}
EOF
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -e stderr 2>"$TMP/nginx.err" &
PIDS+=($!)
if ! wait_port "$NGX_PORT"; then
  fail "nginx did not start"; show "$TMP/nginx.err"
else
  N=http://127.0.0.1:$NGX_PORT
  fetch_vs_curl "nginx 1 MiB file" 200 -- "$N/big.bin"
  fetch_vs_curl "nginx gzip'd text" 200 -H "Accept-Encoding: gzip" -- -H "Accept-Encoding: gzip" "$N/numbers.txt"
  fetch_vs_curl "nginx 404 page" 404 -- "$N/nowhere"
  fetch_vs_curl "nginx by host name" 200 -- "http://localhost:$NGX_PORT/small.txt"

  if timeout 20 "$FETCH" -i -H "Accept-Encoding: gzip" "$N/numbers.txt" >"$TMP/gzip-head.out" 2>"$TMP/gzip-head.err" &&
    grep -qi "^Transfer-Encoding: chunked" "$TMP/gzip-head.out" &&
    grep -qi "^Content-Encoding: gzip" "$TMP/gzip-head.out"; then
    pass "nginx gzip'd text came chunked (Transfer-Encoding: chunked, Content-Encoding: gzip)"
  else
    fail "nginx gzip'd text: want a chunked, gzip'd answer"; show "$TMP/gzip-head.out"
  fi

  if timeout 20 "$FETCH" -i -X HEAD "$N/big.bin" >"$TMP/head.out" 2>"$TMP/head.err" &&
    grep -q "^HTTP/1.1 200" "$TMP/head.out" && grep -qi "^Content-Length: 1048576" "$TMP/head.out" &&
    [[ $(sed '1,/^\r$/d' "$TMP/head.out" | wc -c) == 0 ]]; then
    pass "nginx HEAD: 200 with Content-Length 1048576 and no body read"
  else
    fail "nginx HEAD: want 200, Content-Length: 1048576, no body"; show "$TMP/head.out"; show "$TMP/head.err"
  fi

  if timeout 20 "$FETCH" -i "$N/moved" >"$TMP/moved.out" 2>"$TMP/moved.err" &&
    grep -q "^HTTP/1.1 301" "$TMP/moved.out" && grep -qi "^Location: .*/small.txt" "$TMP/moved.out"; then
    pass "nginx 301: returned as it is, with its Location"
  else
    fail "nginx 301: want the 301 itself"; show "$TMP/moved.out"
  fi

  URLS=()
  for i in $(seq 20); do URLS+=("$N/small.txt?n=$i"); done
  if timeout 20 "$FETCH" "${URLS[@]}" >"$TMP/many.out" 2>"$TMP/many.err" &&
    [[ $(grep -c "^small file$" "$TMP/many.out") == 20 ]]; then
    pass "nginx: 20 URLs fetched at once, 20 answers"
  else
    fail "nginx 20 at once: want 20 answers"; show "$TMP/many.err"
  fi

  if timeout 20 "$FETCH" -v --sequential "${URLS[@]}" >"$TMP/keepalive.out" 2>"$TMP/keepalive.err" &&
    [[ $(grep -c "^small file$" "$TMP/keepalive.out") == 20 ]] &&
    grep -q "^fetch: 20 requests, 1 connections$" "$TMP/keepalive.err"; then
    pass "nginx keep-alive: 20 URLs one after another over 1 connection (http::Client)"
  else
    fail "nginx keep-alive: want 20 answers over 1 connection"; show "$TMP/keepalive.err"
  fi

  S=https://localhost:$NGX_TLS_PORT
  fetch_vs_curl "nginx HTTPS 1 MiB file, verified" 200 --ca "$TMP/cert.pem" -- --cacert "$TMP/cert.pem" "$S/big.bin"
  fetch_vs_curl "nginx HTTPS gzip'd text" 200 --ca "$TMP/cert.pem" -H "Accept-Encoding: gzip" -- \
    --cacert "$TMP/cert.pem" -H "Accept-Encoding: gzip" "$S/numbers.txt"
  if timeout 20 "$FETCH" "$S/small.txt" >"$TMP/unverified.out" 2>"$TMP/unverified.err"; then
    fail "nginx HTTPS without the CA: want a refusal, got an answer"
  elif grep -q "could not connect" "$TMP/unverified.err" && [[ ! -s $TMP/unverified.out ]]; then
    pass "nginx HTTPS without the CA: refused ($(grep -m1 "could not connect" "$TMP/unverified.err" | cut -c1-140))"
  else
    fail "nginx HTTPS without the CA: want 'could not connect' and no body"; show "$TMP/unverified.err"
  fi
fi

# ---- examples/proxy in front of nginx: curl through it gets what curl gets direct ----------
PROXY=$BUILD/examples/proxy
if [[ ! -x $PROXY ]]; then
  fail "$PROXY not built"
elif wait_port "$NGX_PORT"; then
  "$PROXY" --listen tcp://127.0.0.1:0 --upstream "http://127.0.0.1:$NGX_PORT" >"$TMP/proxy.out" 2>"$TMP/proxy.err" &
  PIDS+=($!)
  PROXY_PORT=""
  for _ in $(seq 100); do
    PROXY_PORT=$(sed -n 's|^listening on tcp://127.0.0.1:\([0-9]*\),.*|\1|p' "$TMP/proxy.out")
    [[ -n $PROXY_PORT ]] && break
    sleep 0.05
  done
  if [[ -z $PROXY_PORT ]]; then
    fail "proxy did not start"; show "$TMP/proxy.err"
  else
    # via_proxy WHAT PATH [CURL_ARGS...]: status and body through the proxy equal nginx's own.
    via_proxy() {
      local what=$1 path=$2 name direct_code proxied_code
      shift 2
      name=${what//[^a-zA-Z0-9]/_}
      direct_code=$(timeout 20 curl -s "$@" -w '%{http_code}' -o "$TMP/$name.direct" "http://127.0.0.1:$NGX_PORT$path" || true)
      proxied_code=$(timeout 20 curl -s "$@" -w '%{http_code}' -o "$TMP/$name.proxied" "http://127.0.0.1:$PROXY_PORT$path" || true)
      if [[ $direct_code == "$proxied_code" ]] && cmp -s "$TMP/$name.direct" "$TMP/$name.proxied"; then
        pass "proxy, $what: $proxied_code and $(stat -c %s "$TMP/$name.proxied") bytes, as nginx answers directly"
      else
        fail "proxy, $what: direct $direct_code ($(stat -c %s "$TMP/$name.direct" 2>/dev/null || echo -) bytes), through the proxy $proxied_code ($(stat -c %s "$TMP/$name.proxied" 2>/dev/null || echo -) bytes)"
        show "$TMP/proxy.err"
      fi
    }
    via_proxy "1 MiB file" /big.bin
    via_proxy "gzip'd text (chunked upstream)" /numbers.txt -H "Accept-Encoding: gzip"
    via_proxy "404 page" /nowhere
    via_proxy "POST to a static file (405)" /small.txt -d "data"
    via_proxy "a query string" "/small.txt?a=1&b=2"
    if timeout 20 curl -s -D "$TMP/proxy-gzip.head" -o /dev/null -H "Accept-Encoding: gzip" \
      "http://127.0.0.1:$PROXY_PORT/numbers.txt" &&
      grep -qi "^Content-Encoding: gzip" "$TMP/proxy-gzip.head" &&
      ! grep -qi "^Transfer-Encoding" "$TMP/proxy-gzip.head"; then
      pass "proxy: nginx's end-to-end headers passed on (Content-Encoding), its framing not (Transfer-Encoding)"
    else
      fail "proxy headers: want Content-Encoding: gzip and no Transfer-Encoding"; show "$TMP/proxy-gzip.head"
    fi
    if timeout 60 wrk -t1 -c20 -d2s "http://127.0.0.1:$PROXY_PORT/small.txt" >"$TMP/proxy-wrk.out" 2>&1 &&
      ! grep -q "Non-2xx\|Socket errors" "$TMP/proxy-wrk.out"; then
      pass "proxy under wrk (20 connections, 2 s): $(sed -n 's/^Requests\/sec: *//p' "$TMP/proxy-wrk.out") req/s, all 2xx, no socket errors"
    else
      fail "proxy under wrk: errors or non-2xx answers"; show "$TMP/proxy-wrk.out"
    fi
  fi
fi

# ---- Python's http.server (HTTP/1.0) ----------------------------------------------------
PY_PORT=$(free_port)
(cd "$WWW" && exec "$PY" -m http.server --bind 127.0.0.1 "$PY_PORT") >"$TMP/python.err" 2>&1 &
PIDS+=($!)
if ! wait_port "$PY_PORT"; then
  fail "python http.server did not start"; show "$TMP/python.err"
else
  P=http://127.0.0.1:$PY_PORT
  fetch_vs_curl "python HTTP/1.0 file" 200 -- "$P/big.bin"
  fetch_vs_curl "python directory listing" 200 -- "$P/dir/"
  fetch_vs_curl "python 404 page" 404 -- "$P/nowhere"
  # HTTP/1.0 without keep-alive: every request needs its own connection.
  if timeout 20 "$FETCH" -v --sequential "$P/small.txt" "$P/small.txt" "$P/small.txt" \
    >"$TMP/py-seq.out" 2>"$TMP/py-seq.err" &&
    [[ $(grep -c "^small file$" "$TMP/py-seq.out") == 3 ]] &&
    grep -q "^fetch: 3 requests, 3 connections$" "$TMP/py-seq.err"; then
    pass "python HTTP/1.0: 3 requests one after another, 3 connections (none reused)"
  else
    fail "python HTTP/1.0 sequential: want 3 answers over 3 connections"; show "$TMP/py-seq.err"
  fi
fi

# ---- openssl s_server -WWW: the body ends with the connection ------------------------------
SSL_PORT=$(free_port)
(cd "$WWW" && exec openssl s_server -quiet -WWW -accept "$SSL_PORT" -cert "$TMP/cert.pem" -key "$TMP/key.pem") \
  >"$TMP/s_server.err" 2>&1 &
PIDS+=($!)
if ! wait_port "$SSL_PORT"; then
  fail "openssl s_server did not start"; show "$TMP/s_server.err"
else
  fetch_vs_curl "openssl s_server -WWW, until close over TLS" 200 --ca "$TMP/cert.pem" -- \
    --cacert "$TMP/cert.pem" "https://localhost:$SSL_PORT/big.bin"
fi

echo "$((CHECKS - FAILS)) passed, $FAILS failed"
((FAILS == 0))
