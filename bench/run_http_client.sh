#!/usr/bin/env bash
# run_http_client.sh BUILD_DIR [ROUNDS] — weft's HTTP client (weft-http-load,
# on http::Client) against wrk as HTTP load generators: the same nginx
# (worker_processes 1, "Hello, World!" from memory, keep-alive) pinned to
# SERVER_CPU, the client pinned to CLIENT_CPU, CONNS requests in flight over
# kept-alive connections for SECONDS, one thread each. Contenders alternate
# within every round (who goes first alternates). Reported per contender:
# the median and spread of requests/s and of the client's CPU time per
# request (utime+stime of the whole process, from /usr/bin/time), and the
# ratios weft / wrk.
#   Environment: CONNS (50), SECONDS_PER_RUN (5), SERVER_CPU (0), CLIENT_CPU (1).
set -euo pipefail

BUILD=${1:?usage: run_http_client.sh BUILD_DIR [ROUNDS]}
BUILD=$(cd "$BUILD" && pwd)
ROUNDS=${2:-5}
CONNS=${CONNS:-50}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
# log, die, free_port, median, spread, WORK (removed on exit), SERVER_PID (killed on exit), SERVER_CPU, CLIENT_CPU
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
LOAD="$BUILD/bench/weft-http-load"

[[ -x $LOAD ]] || die "$LOAD not found - ninja -C $BUILD weft-http-load"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v "$NGINX" >/dev/null || die "nginx not found (apt-get install nginx-light)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"

PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $WORK/nginx/nginx.pid;
error_log stderr crit;
events { worker_connections 1024; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  types { }
  server {
    listen 127.0.0.1:$PORT;
    location = / { default_type text/plain; return 200 "Hello, World!"; }
  }
}
EOF
taskset -c "$SERVER_CPU" "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e stderr \
  2>"$WORK/nginx.err" &
SERVER_PID=$!  # common.sh kills it on exit
export SERVER_PID
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.05
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || die "nginx did not start: $(cat "$WORK/nginx.err")"
URL="http://127.0.0.1:$PORT/"
log "nginx on $URL (CPU $SERVER_CPU); clients on CPU $CLIENT_CPU; $CONNS in flight, ${SECONDS_PER_RUN}s per run, $ROUNDS rounds"

# run NAME: one measured run; appends "rps cpu_us_per_req" to $WORK/NAME.
run() {
  local name=$1 out="$WORK/$1.out" cpu_file="$WORK/$1.time" requests seconds rps cpu
  case $name in
    wrk)
      /usr/bin/time -f "%U %S" -o "$cpu_file" taskset -c "$CLIENT_CPU" \
        wrk -t1 -c "$CONNS" -d "${SECONDS_PER_RUN}s" "$URL" >"$out" 2>&1
      requests=$(awk '/requests in/ { print $1 }' "$out")
      seconds=$(awk '/requests in/ { sub(/s,$/, "", $4); print $4 }' "$out")
      ;;
    weft)
      /usr/bin/time -f "%U %S" -o "$cpu_file" taskset -c "$CLIENT_CPU" \
        "$LOAD" -c "$CONNS" -d "$SECONDS_PER_RUN" "$URL" >"$out" 2>&1
      requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$out")
      seconds=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$out")
      ;;
  esac
  [[ -n $requests && $requests -gt 0 ]] || die "$name produced no requests: $(cat "$out")"
  rps=$(awk -v r="$requests" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }')
  cpu=$(awk -v r="$requests" '{ printf "%.2f", ($1 + $2) * 1e6 / r }' "$cpu_file")
  echo "$rps $cpu" >>"$WORK/$name"
  log "  $name: $rps req/s, $cpu us CPU per request"
}

for round in $(seq "$ROUNDS"); do
  log "round $round"
  if ((round % 2)); then order=(wrk weft); else order=(weft wrk); fi
  for name in "${order[@]}"; do run "$name"; done
done


echo
printf "%-6s %12s %8s %16s %8s\n" client "req/s" spread "CPU us/request" spread
for name in wrk weft; do
  r=$(median "$WORK/$name" 1)
  c=$(median "$WORK/$name" 2)
  printf "%-6s %12.0f %8s %16.2f %8s\n" "$name" "$r" "$(spread "$WORK/$name" 1 "$r")" "$c" "$(spread "$WORK/$name" 2 "$c")"
done
awk -v a="$(median "$WORK/weft" 1)" -v b="$(median "$WORK/wrk" 1)" \
  -v c="$(median "$WORK/weft" 2)" -v d="$(median "$WORK/wrk" 2)" \
  'BEGIN { printf "weft / wrk: req/s %.2f, CPU per request %.2f\n", a / b, c / d }'
