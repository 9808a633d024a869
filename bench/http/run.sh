#!/usr/bin/env bash
# HTTP load test: Cohort's GET /api/users/{id} on random ids, against nginx serving a static answer of the same
# size on the same machine (the reference: what a fixed-response server does here). See README.md.
#   bench/http/run.sh          (`make bench-http` installs wrk and nginx first)
# Environment (defaults): BENCH_USERS (100000), BENCH_PRODUCTS (1000), BENCH_DURATION (10s), BENCH_WARMUP (2s),
#   BENCH_THREADS (2), BENCH_CONNECTIONS (64), BENCH_COHORT_BIN (build/release/cohort, built when not given).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPT=$ROOT/bench/http/random_users.lua
USERS=${BENCH_USERS:-100000}
PRODUCTS=${BENCH_PRODUCTS:-1000}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
SAMPLE_ID=u000123

WORK=""
COHORT_PID=""
UNCACHED_PID=""
NGINX_PID=""

log() { echo "bench-http: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

stop_process() { # pid
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

cleanup() {
  stop_process "$NGINX_PID"
  stop_process "$COHORT_PID"
  stop_process "$UNCACHED_PID"
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local port attempt
  for attempt in $(seq 1 100); do
    port=$((20000 + RANDOM % 30000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

require_tools() {
  local tool
  for tool in wrk nginx curl; do
    command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh --bench (or make bench-http)"
  done
}

build_cohort() {
  if [[ -n "${BENCH_COHORT_BIN:-}" ]]; then
    [[ -x "$BENCH_COHORT_BIN" ]] || die "BENCH_COHORT_BIN=$BENCH_COHORT_BIN is not executable"
    return 0
  fi
  log "building the release binary"
  (
    cd "$ROOT"
    if [[ ! -f build/release/build.ninja ]]; then cmake --preset release; fi
    cmake --build --preset release
  ) >&2 || die "the release build failed"
  BENCH_COHORT_BIN=$ROOT/build/release/cohort
  [[ -x "$BENCH_COHORT_BIN" ]] || die "the release build left no binary at $BENCH_COHORT_BIN"
}

# Waits until GET http://127.0.0.1:$1$2 answers 200, while process $3 runs; $4 is its log for failures.
wait_for_http() {
  local port=$1 path=$2 pid=$3 log_file=$4 i
  for ((i = 0; i < 300; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port$path" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log_file" >&2 || true
      die "the process behind port $port exited (log above)"
    fi
    sleep 0.1
  done
  tail -n 30 "$log_file" >&2 || true
  die "nothing answered 200 on http://127.0.0.1:$port$path within 30 s"
}

start_cohort() {
  local data=$WORK/data
  mkdir -p "$data"
  # The default store (SQLite), open access: the environment must not switch either.
  log "cohort demo: $USERS users, $PRODUCTS products"
  local started=$SECONDS
  env -u COHORT_POSTGRES_URL -u COHORT_API_KEYS \
    "$BENCH_COHORT_BIN" demo --data-dir "$data" --users "$USERS" --products "$PRODUCTS" --seed 42 >"$WORK/demo.log" 2>&1 ||
    {
      tail -n 30 "$WORK/demo.log" >&2
      die "cohort demo failed"
    }
  log "cohort demo took $((SECONDS - started)) s"
  serve_cohort cached
  COHORT_PID=$SERVED_PID
  COHORT_PORT=$SERVED_PORT
  # The same data served with caching off: every request reads the database.
  serve_cohort uncached COHORT_CACHE_ENABLED=false
  UNCACHED_PID=$SERVED_PID
  UNCACHED_PORT=$SERVED_PORT
}

# serve_cohort NAME [VAR=value...]: starts `cohort serve` on $WORK/data; sets SERVED_PID and SERVED_PORT.
serve_cohort() {
  local name=$1 port_file=$WORK/$1.port i
  shift
  env -u COHORT_POSTGRES_URL -u COHORT_API_KEYS "$@" \
    "$BENCH_COHORT_BIN" serve --data-dir "$WORK/data" --host 127.0.0.1 --port 0 --port-file "$port_file" \
    >"$WORK/$name.log" 2>&1 &
  SERVED_PID=$!
  for ((i = 0; i < 300; i++)); do
    if [[ -s "$port_file" ]]; then break; fi
    if ! kill -0 "$SERVED_PID" 2>/dev/null; then
      tail -n 30 "$WORK/$name.log" >&2 || true
      die "cohort serve ($name) exited (log above)"
    fi
    sleep 0.1
  done
  [[ -s "$port_file" ]] || die "cohort serve ($name) wrote no port file within 30 s"
  SERVED_PORT=$(cat "$port_file")
  wait_for_http "$SERVED_PORT" /healthz "$SERVED_PID" "$WORK/$name.log"
  log "cohort serve ($name) on port $SERVED_PORT"
}

# The reference answer: Cohort's own answer for one user, served as a static file by nginx for every path.
start_nginx() {
  local www=$WORK/www ngx=$WORK/nginx code
  mkdir -p "$www" "$ngx/tmp"
  code=$(curl -sS -o "$www/user.json" -w '%{http_code}' "http://127.0.0.1:$COHORT_PORT/api/users/$SAMPLE_ID") ||
    die "GET /api/users/$SAMPLE_ID failed"
  [[ "$code" == 200 ]] || die "GET /api/users/$SAMPLE_ID answered $code: $(head -c 500 "$www/user.json")"
  RESPONSE_BYTES=$(stat -c %s "$www/user.json")

  local user_line=""
  if [[ $(id -u) -eq 0 ]]; then
    user_line="user nobody nogroup;" # workers drop root; they only need to read $www
    chmod 755 "$WORK" "$www"
    chmod 644 "$www/user.json"
  fi
  NGINX_PORT=$(free_port)
  cat >"$ngx/nginx.conf" <<CONF
$user_line
worker_processes auto;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $ngx/tmp/client_body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  types { }
  default_type application/json;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $www;
    location / { try_files /user.json =404; }
  }
}
CONF
  nginx -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf" >"$ngx/stdout.log" 2>&1 &
  NGINX_PID=$!
  wait_for_http "$NGINX_PORT" /api/users/$SAMPLE_ID "$NGINX_PID" "$ngx/error.log"
  log "nginx on port $NGINX_PORT serving $RESPONSE_BYTES bytes"
}

# Runs wrk against $2 (a warm-up, then the measurement); prints "requests/s p50_ms p99_ms errors".
measure() {
  local name=$1 url=$2 out
  log "$name: warm-up $WARMUP, then $DURATION"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$SCRIPT" "$url" -- "$USERS" >/dev/null
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$SCRIPT" "$url" -- "$USERS")
  echo "$out" >"$WORK/wrk-$name.txt"
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, errors }
  ' <<<"$out"
}

main() {
  require_tools
  build_cohort
  WORK=$(mktemp -d /tmp/cohort-bench-XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  start_cohort
  start_nginx

  local nginx_result cohort_result uncached_result
  nginx_result=$(measure nginx "http://127.0.0.1:$NGINX_PORT")
  cohort_result=$(measure cohort "http://127.0.0.1:$COHORT_PORT")
  uncached_result=$(measure cohort-nocache "http://127.0.0.1:$UNCACHED_PORT")

  echo
  echo "GET /api/users/{random id of $USERS}: wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after $WARMUP warm-up)," \
    "$(nproc) cores shared by client and servers, answer $RESPONSE_BYTES bytes"
  printf "%-15s %12s %10s %10s %8s\n" target requests/s "p50 ms" "p99 ms" errors
  local name rps p50 p99 errors
  for name in nginx cohort cohort-nocache; do
    case $name in
      nginx) read -r rps p50 p99 errors <<<"$nginx_result" ;;
      cohort) read -r rps p50 p99 errors <<<"$cohort_result" ;;
      *) read -r rps p50 p99 errors <<<"$uncached_result" ;;
    esac
    printf "%-15s %12s %10s %10s %8s\n" "$name" "$rps" "$p50" "$p99" "$errors"
    if [[ $errors -ne 0 ]]; then log "warning: $name had $errors failed requests; its numbers are not comparable"; fi
  done
  awk -v c="${cohort_result%% *}" -v n="${nginx_result%% *}" \
    'BEGIN { if (n > 0) printf "cohort/nginx requests/s ratio: %.3f\n", c / n }'
  awk -v c="${cohort_result%% *}" -v u="${uncached_result%% *}" \
    'BEGIN { if (u > 0) printf "cache on/off requests/s ratio: %.3f\n", c / u }'
}

main "$@"
