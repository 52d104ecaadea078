#!/usr/bin/env bash
# run_proxy.sh BUILD_DIR [ROUNDS] — HTTP reverse proxies side by side:
# weft's examples/proxy (http::App + http::Client, one loop) and nginx
# (worker_processes 1, proxy_pass to an upstream block with keepalive), each
# pinned to SERVER_CPU, in front of the same upstream nginx ("Hello, World!"
# from memory) which shares CLIENT_CPU with the load (wrk -t1, CONNS kept-
# alive connections, SECONDS_PER_RUN). Contenders alternate within every
# round. Reported: median and spread of requests/s and of the proxy's CPU
# time per request (utime+stime from /proc/PID/stat over the run), and the
# ratios weft / nginx.
#   Environment: CONNS (50), SECONDS_PER_RUN (5), SERVER_CPU (0), CLIENT_CPU (1).
set -euo pipefail

BUILD=${1:?usage: run_proxy.sh BUILD_DIR [ROUNDS]}
BUILD=$(cd "$BUILD" && pwd)
ROUNDS=${2:-5}
CONNS=${CONNS:-50}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# log, die, free_port, median, spread, WORK (removed on exit), SERVER_PID and CLIENT_PID (killed on exit), SERVER_CPU, CLIENT_CPU
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PROXY="$BUILD/examples/proxy"

[[ -x $PROXY ]] || die "$PROXY not found - ninja -C $BUILD proxy"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v "$NGINX" >/dev/null || die "nginx not found (apt-get install nginx-light)"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"

# nginx_conf NAME PORT SERVER_BLOCK: a one-process nginx config; prints its path.
nginx_conf() {
  local dir="$WORK/$1"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log stderr crit;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  types { }
  $3
}
EOF
  echo "$dir/nginx.conf"
}
wait_http() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.05
  done
  die "nothing answers at $1"
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

UP_PORT=$(free_port)
conf=$(nginx_conf upstream "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { default_type text/plain; return 200 \"Hello, World!\"; } }")
taskset -c "$CLIENT_CPU" "$NGINX" -c "$conf" -p "$(dirname "$conf")" -e stderr 2>"$WORK/upstream.err" &
CLIENT_PID=$!  # the upstream: common.sh kills it on exit
export CLIENT_PID
wait_http "http://127.0.0.1:$UP_PORT/"
HZ=$(getconf CLK_TCK)
log "upstream nginx on :$UP_PORT (CPU $CLIENT_CPU, with wrk); proxies on CPU $SERVER_CPU; $CONNS connections, ${SECONDS_PER_RUN}s per run, $ROUNDS rounds"

# run NAME: starts that proxy, measures one wrk run through it, stops it;
# appends "rps cpu_us_per_req" to $WORK/NAME.
run() {
  local name=$1 port out="$WORK/$1.wrk" t0 t1 requests seconds
  port=$(free_port)
  case $name in
    weft)
      taskset -c "$SERVER_CPU" "$PROXY" --listen "tcp://127.0.0.1:$port" --loops 1 \
        --upstream "http://127.0.0.1:$UP_PORT" >"$WORK/weft.out" 2>&1 &
      ;;
    nginx)
      local c
      c=$(nginx_conf "proxy-$port" "$port" "upstream up { server 127.0.0.1:$UP_PORT; keepalive 256; }
  server { listen 127.0.0.1:$port; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }")
      taskset -c "$SERVER_CPU" "$NGINX" -c "$c" -p "$(dirname "$c")" -e stderr 2>"$WORK/nginx.err" &
      ;;
  esac
  SERVER_PID=$!
  export SERVER_PID
  wait_http "http://127.0.0.1:$port/"
  t0=$(ticks "$SERVER_PID")
  taskset -c "$CLIENT_CPU" wrk -t1 -c "$CONNS" -d "${SECONDS_PER_RUN}s" "http://127.0.0.1:$port/" >"$out" 2>&1
  t1=$(ticks "$SERVER_PID")
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  grep -q "Non-2xx\|Socket errors" "$out" && die "$name: errors under load: $(cat "$out")"
  requests=$(awk '/requests in/ { print $1 }' "$out")
  seconds=$(awk '/requests in/ { sub(/s,$/, "", $4); print $4 }' "$out")
  awk -v r="$requests" -v s="$seconds" -v t="$((t1 - t0))" -v hz="$HZ" \
    'BEGIN { printf "%.0f %.2f\n", r / s, t * 1e6 / hz / r }' >>"$WORK/$name"
  log "  $name: $(tail -1 "$WORK/$name" | awk '{ printf "%s req/s, %s us proxy CPU per request", $1, $2 }')"
}

for round in $(seq "$ROUNDS"); do
  log "round $round"
  if ((round % 2)); then order=(nginx weft); else order=(weft nginx); fi
  for name in "${order[@]}"; do run "$name"; done
done


echo
printf "%-6s %12s %8s %20s %8s\n" proxy "req/s" spread "proxy CPU us/req" spread
for name in nginx weft; do
  r=$(median "$WORK/$name" 1)
  c=$(median "$WORK/$name" 2)
  printf "%-6s %12.0f %8s %20.2f %8s\n" "$name" "$r" "$(spread "$WORK/$name" 1 "$r")" "$c" "$(spread "$WORK/$name" 2 "$c")"
done
awk -v a="$(median "$WORK/weft" 1)" -v b="$(median "$WORK/nginx" 1)" \
  -v c="$(median "$WORK/weft" 2)" -v d="$(median "$WORK/nginx" 2)" \
  'BEGIN { printf "weft / nginx: req/s %.2f, proxy CPU per request %.2f\n", a / b, c / d }'
