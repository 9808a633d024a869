#!/usr/bin/env bash
# HTTP load test of the main request, GET /api/users/{id}/personalized-recommendations, on random users: with a
# warm cache and with caching off, against nginx serving a real answer as a static file on the same machine (the
# reference: what a fixed-response server does here). GET /api/users/{id} is measured the same way. See README.md.
#   bench/http/run.sh          (`make bench-http` installs wrk and nginx first)
# Environment (defaults): BENCH_USERS (100000), BENCH_PRODUCTS (1000), BENCH_DURATION (10s), BENCH_WARMUP (2s),
#   BENCH_THREADS (2), BENCH_CONNECTIONS (64), BENCH_COHORT_BIN (build/release/cohort, built when not given),
#   BENCH_L1_BYTES (2147483648), BENCH_DRAIN_LIMIT (1800 s), BENCH_DATA (none: a temporary directory),
#   BENCH_ASKED_USERS (BENCH_USERS: the load asks for ids u000001..u<this>), BENCH_ROUNDS (3: the rows measured
#   in turn this many times; each row reports its median round).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/common/serve.sh
source "$ROOT/bench/common/serve.sh"
SCRIPT=$ROOT/bench/http/random_users.lua
USERS=${BENCH_USERS:-100000}
ASKED=${BENCH_ASKED_USERS:-$USERS}
PRODUCTS=${BENCH_PRODUCTS:-1000}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ROUNDS=${BENCH_ROUNDS:-3}
# The in-process tier must hold every answer of both routes (about 2 KB and 0.4 KB per user), or a "warm" cache
# still computes the answers it evicted; the default 64 MiB holds about a third of the recommendations of 100k users.
L1_BYTES=${BENCH_L1_BYTES:-2147483648}
DRAIN_LIMIT=${BENCH_DRAIN_LIMIT:-1800}
RECS=/personalized-recommendations
DEFAULT_RECS=10 # RecommendQuery::limit in src/analytics/recommender.hpp
SAMPLE_ID=u000123

WORK=""
DATA=""
COHORT_PID=""
UNCACHED_PID=""
NGINX_PID=""

log() { echo "bench-http: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
load1() { cut -d' ' -f1 /proc/loadavg; }

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
  local port
  for _ in $(seq 1 100); do
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

# Prefix of every cohort command: the default store (SQLite) and open access, whatever the environment says.
COHORT_ENV=(env -u COHORT_POSTGRES_URL -u COHORT_MONGO_URL -u COHORT_API_KEYS -u COHORT_AMQP_URL -u COHORT_REDIS_URL)

# Fills $DATA with the demo data set and trains the models (`make run` does the same), unless BENCH_DATA names
# a directory filled by an earlier run.
prepare_data() {
  if [[ -f "$DATA/cohort.db" ]]; then
    DATA_NOTE="reused $DATA (demo and training not run)"
    log "$DATA_NOTE"
    return 0
  fi
  mkdir -p "$DATA"
  log "cohort demo: $USERS users, $PRODUCTS products (load $(load1))"
  local started=$SECONDS
  "${COHORT_ENV[@]}" "$BENCH_COHORT_BIN" demo --data-dir "$DATA" --users "$USERS" --products "$PRODUCTS" --seed 42 \
    >"$WORK/demo.log" 2>&1 || {
    tail -n 30 "$WORK/demo.log" >&2
    die "cohort demo failed"
  }
  local demo_s=$((SECONDS - started)) demo_load
  demo_load=$(load1)
  tail -n 1 "$WORK/demo.log" >&2
  log "cohort train (load $demo_load)"
  started=$SECONDS
  "${COHORT_ENV[@]}" "$BENCH_COHORT_BIN" train --data-dir "$DATA" >"$WORK/train.log" 2>&1 || {
    tail -n 30 "$WORK/train.log" >&2
    die "cohort train failed"
  }
  local train_s=$((SECONDS - started))
  grep -E "^(read|saved model)" "$WORK/train.log" >&2 || true
  DATA_NOTE="demo ${demo_s} s (load $demo_load), train ${train_s} s (load $(load1))"
  log "$DATA_NOTE"
}

# serve_cohort NAME DATA_DIR [VAR=value...]: starts `cohort serve` on DATA_DIR; sets SERVED_PID and SERVED_PORT.
serve_cohort() {
  local name=$1 data=$2 port_file=$WORK/$1.port
  shift 2
  "${COHORT_ENV[@]}" "$@" "$BENCH_COHORT_BIN" serve --data-dir "$data" --host 127.0.0.1 --port 0 \
    --port-file "$port_file" >"$WORK/$name.log" 2>&1 &
  SERVED_PID=$!
  SERVED_PORT=$(wait_for_port_file "$SERVED_PID" "$port_file" "$WORK/$name.log" "cohort serve ($name)")
  wait_for_http "$SERVED_PORT" /healthz "$SERVED_PID" "$WORK/$name.log"
  log "cohort serve ($name) on port $SERVED_PORT"
}

# Each server gets its own copy of the data: in the embedded layout a server relays and consumes the messages of
# its data directory (a recommendation.served per answer), and with one shared queue the idle server would do
# part of the busy one's work. A BENCH_DATA directory is copied for both, so that a run on it starts from the state
# the run that filled it left (the counters and processed-message records of each run would otherwise add up).
start_cohort() {
  local cached_data=$DATA
  if [[ -n "${BENCH_DATA:-}" ]]; then
    cached_data=$WORK/data-cached
    log "copying the data for the cached server"
    cp -r "$DATA" "$cached_data"
  fi
  log "copying the data for the uncached server"
  cp -r "$DATA" "$WORK/data-nocache"
  serve_cohort cached "$cached_data" COHORT_CACHE_L1_MAX_BYTES="$L1_BYTES"
  COHORT_PID=$SERVED_PID
  COHORT_PORT=$SERVED_PORT
  # The same data served with caching off: every request reads the database and runs the analytics.
  serve_cohort uncached "$WORK/data-nocache" COHORT_CACHE_ENABLED=false
  UNCACHED_PID=$SERVED_PID
  UNCACHED_PORT=$SERVED_PORT
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

# Waits until both servers' outbox and queues are empty. They relay and consume messages in the background (the
# demo's user.created and event.ingested, then one recommendation.served per answer), and a backlog left by one
# step would otherwise be paid for by the next; an event.ingested consumed after warming would also evict that
# user's answers.
drain_messages() { # label
  local started=$SECONDS last_report=$SECONDS body port pending waiting
  while true; do
    pending=0
    waiting=0
    for port in "$COHORT_PORT" "$UNCACHED_PORT"; do
      body=$(curl -fsS --max-time 30 "http://127.0.0.1:$port/api/admin/queues") || die "GET /api/admin/queues failed"
      pending=$((pending + $(grep -oE '"pending":[0-9]+' <<<"$body" | cut -d: -f2 |
        awk '{ s += $1 } END { print s + 0 }')))
      waiting=$((waiting + $(grep -oE '"(ready|in_flight|retrying)":-?[0-9]+' <<<"$body" | cut -d: -f2 |
        awk '$1 > 0 { s += $1 } END { print s + 0 }')))
    done
    if [[ $pending -eq 0 && $waiting -eq 0 ]]; then break; fi
    if ((SECONDS - started > DRAIN_LIMIT)); then
      log "warning: $1: $pending messages still in the outbox and $waiting in the queues after $DRAIN_LIMIT s"
      return 0
    fi
    if ((SECONDS - last_report >= 30)); then
      log "$1: draining messages: $pending in the outbox, $waiting in the queues (load $(load1))"
      last_report=$SECONDS
    fi
    sleep 1
  done
  log "$1: messages drained in $((SECONDS - started)) s"
}

# The reference answers, saved for nginx: the answers of the uncached server (so the cached one stays cold
# until it is warmed) for the first user from $SAMPLE_ID on whose recommendation list has the default length.
save_reference_answers() {
  local www=$1 n=${SAMPLE_ID#u} id code count
  for ((n = 10#$n; n <= ASKED; n++)); do
    id=$(printf 'u%06d' "$n")
    code=$(curl -sS -o "$www/recommendations.json" -w '%{http_code}' \
      "http://127.0.0.1:$UNCACHED_PORT/api/users/$id$RECS") || die "GET /api/users/$id$RECS failed"
    [[ "$code" == 200 ]] || die "GET /api/users/$id$RECS answered $code: $(head -c 500 "$www/recommendations.json")"
    count=$(grep -o '"product_id":' "$www/recommendations.json" | wc -l)
    if [[ $count -eq $DEFAULT_RECS ]]; then break; fi
  done
  [[ $count -eq $DEFAULT_RECS ]] || die "no user from $SAMPLE_ID on has $DEFAULT_RECS recommendations"
  code=$(curl -sS -o "$www/user.json" -w '%{http_code}' "http://127.0.0.1:$UNCACHED_PORT/api/users/$id") ||
    die "GET /api/users/$id failed"
  [[ "$code" == 200 ]] || die "GET /api/users/$id answered $code: $(head -c 500 "$www/user.json")"
  REFERENCE_ID=$id
  RECS_BYTES=$(stat -c %s "$www/recommendations.json")
  USER_BYTES=$(stat -c %s "$www/user.json")
}

# nginx serves the saved recommendations answer for every .../personalized-recommendations path, the saved user
# for every other path.
start_nginx() {
  local www=$WORK/www ngx=$WORK/nginx
  mkdir -p "$www" "$ngx/tmp"
  save_reference_answers "$www"

  local user_line=""
  if [[ $(id -u) -eq 0 ]]; then
    user_line="user nobody nogroup;" # workers drop root; they only need to read $www
    chmod 755 "$WORK" "$www"
    chmod 644 "$www"/*.json
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
    location ~ $RECS\$ { try_files /recommendations.json =404; }
    location / { try_files /user.json =404; }
  }
}
CONF
  nginx -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf" >"$ngx/stdout.log" 2>&1 &
  NGINX_PID=$!
  wait_for_http "$NGINX_PORT" "/api/users/$SAMPLE_ID$RECS" "$NGINX_PID" "$ngx/error.log"
  [[ $(curl -sS "http://127.0.0.1:$NGINX_PORT/api/users/$SAMPLE_ID$RECS" | wc -c) -eq $RECS_BYTES ]] ||
    die "nginx does not serve the saved recommendations answer"
  log "nginx on port $NGINX_PORT: $RECS_BYTES bytes for $RECS, $USER_BYTES bytes otherwise (answers for $REFERENCE_ID)"
}

# Asks the cached server once for the recommendations and profile of every user the load asks for (ids
# u000001..u$ASKED, each once, $CONNECTIONS at a time), so that every request of the measured runs can be a hit.
warm_cache() {
  local list=$WORK/warm.curl started=$SECONDS failed
  awk -v n="$ASKED" -v base="http://127.0.0.1:$COHORT_PORT/api/users/u" -v recs="$RECS" 'BEGIN {
    for (i = 1; i <= n; i++) {
      printf "url = \"%s%06d%s\"\noutput = \"/dev/null\"\n", base, i, recs
      printf "url = \"%s%06d\"\noutput = \"/dev/null\"\n", base, i
    }
  }' >"$list"
  log "warming the cache: $((2 * ASKED)) requests, $CONNECTIONS at a time (load $(load1))"
  curl --no-progress-meter --parallel --parallel-max "$CONNECTIONS" -w '%{http_code}\n' -K "$list" \
    >"$WORK/warm.codes" 2>"$WORK/warm.err" || {
    tail -n 5 "$WORK/warm.err" >&2
    die "warming the cache failed"
  }
  failed=$(grep -vc '^200$' "$WORK/warm.codes" || true)
  [[ $(wc -l <"$WORK/warm.codes") -eq $((2 * ASKED)) && $failed -eq 0 ]] ||
    die "warming the cache: $failed of $(wc -l <"$WORK/warm.codes") answers were not 200"
  WARM_S=$((SECONDS - started))
  log "cache warmed in $WARM_S s"
}

computes() { # the cached server's count of answers computed because no tier held them
  curl -fsS --max-time 30 "http://127.0.0.1:$COHORT_PORT/metrics" | awk '/^cohort_cache_computes_total/ { print $2 }'
}

rss_mib() { awk -v what="$2" '$1 == what ":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# The pid $1 and the pids of its child processes: a Cohort server, or nginx's master and its workers. After the
# command name (which may hold spaces), the parent pid is the 2nd field of /proc/PID/stat.
family() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v parent="$1" '{ pid = $1; sub(/^.*\) /, "") } pid == parent || $2 == parent { print pid }'
}

# The CPU time (user and system, all threads) that the processes PID... have used, in clock ticks: the 12th and
# 13th fields of /proc/PID/stat after the command name.
cpu_ticks() {
  local p
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }'
}

# The bytes that the processes PID... have had read from storage (read_bytes of /proc/PID/io): what they read from
# the disk rather than from the page cache.
disk_bytes() {
  local p
  for p in "$@"; do cat "/proc/$p/io" 2>/dev/null || true; done |
    awk '$1 == "read_bytes:" { s += $2 } END { print s + 0 }'
}

# measure NAME URL SUFFIX PID [cached]: wrk against URL (a warm-up, then the measurement); prints "requests/s p50_ms
# p99_ms errors load hit% cpu_us drain_us disk_b". hit% (of a cached server's row, else "-") is the share of the
# measured requests answered without computing, from the server's cohort_cache_computes_total before and after; cpu_us
# is the CPU time that the server PID (with its child processes) used during the measurement, in microseconds per
# request; drain_us (Cohort's rows, else "-") the CPU time it used after the measurement until the messages of the row
# were consumed, per request of the row: the consumers run as SCHED_IDLE, and under wrk's load most of their work waits;
# disk_b the bytes it had read from storage during the measurement, per request (0: all from the page cache).
measure() {
  local name=$1 url=$2 suffix=$3 pid=$4 cached=${5:-} out before="" after="" ticks_before ticks_after drained=""
  local disk_before disk_after procs
  mapfile -t procs < <(family "$pid")  # the server's processes, found once for every reading below
  log "$name: warm-up $WARMUP, then $DURATION (load $(load1))"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$SCRIPT" "$url" -- "$ASKED" "$suffix" >/dev/null
  if [[ -n "$cached" ]]; then before=$(computes); fi
  disk_before=$(disk_bytes "${procs[@]}")
  ticks_before=$(cpu_ticks "${procs[@]}")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$SCRIPT" "$url" -- "$ASKED" "$suffix")
  ticks_after=$(cpu_ticks "${procs[@]}")
  disk_after=$(disk_bytes "${procs[@]}")
  if [[ -n "$cached" ]]; then after=$(computes); fi
  if [[ $pid != "$NGINX_PID" ]]; then
    drain_messages "after $name" >&2
    drained=$(($(cpu_ticks "${procs[@]}") - ticks_after))
  fi
  echo "$out" >"$WORK/wrk-$name.txt"
  awk -v load="$(load1)" -v before="$before" -v after="$after" -v ticks="$((ticks_after - ticks_before))" \
    -v drained="$drained" -v hz="$(getconf CLK_TCK)" -v disk="$((disk_after - disk_before))" '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /requests in / { requests = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    END {
      hits = "-"
      if (before != "" && requests > 0) hits = sprintf("%.1f", 100 * (1 - (after - before) / requests))
      cpu = requests > 0 ? ticks * 1e6 / hz / requests : 0
      drain = drained == "" ? "-" : sprintf("%.1f", requests > 0 ? drained * 1e6 / hz / requests : 0)
      per_request = requests > 0 ? disk / requests : 0
      printf "%.0f %.3f %.3f %d %s %s %.1f %s %.0f\n", rps, p50, p99, errors, load, hits, cpu, drain, per_request
    }
  ' <<<"$out"
}

main() {
  require_tools
  build_cohort
  WORK=$(mktemp -d /tmp/cohort-bench-XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  DATA=${BENCH_DATA:-$WORK/data}

  prepare_data
  local events="?"
  if command -v sqlite3 >/dev/null; then events=$(sqlite3 "$DATA/cohort.db" "SELECT COUNT(*) FROM events"); fi
  start_cohort
  drain_messages "after start"
  start_nginx
  warm_cache
  drain_messages "after warming"
  local cached_rss
  cached_rss="$(rss_mib "$COHORT_PID" VmRSS) MiB"

  # The rows are measured in turn, round after round, and each row reports its median round: this machine's
  # speed drifts by tens of percent over minutes, and a reference measured next to its rows drifts with them.
  declare -A result
  local round
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS"
    result[a.$round]=$(measure nginx-recs-$round "http://127.0.0.1:$NGINX_PORT" "$RECS" "$NGINX_PID")
    result[b.$round]=$(measure cohort-recs-$round "http://127.0.0.1:$COHORT_PORT" "$RECS" "$COHORT_PID" cached)
    result[c.$round]=$(measure cohort-recs-nocache-$round "http://127.0.0.1:$UNCACHED_PORT" "$RECS" "$UNCACHED_PID")
    result[ua.$round]=$(measure nginx-user-$round "http://127.0.0.1:$NGINX_PORT" "" "$NGINX_PID")
    result[ub.$round]=$(measure cohort-user-$round "http://127.0.0.1:$COHORT_PORT" "" "$COHORT_PID" cached)
    result[uc.$round]=$(measure cohort-user-nocache-$round "http://127.0.0.1:$UNCACHED_PORT" "" "$UNCACHED_PID")
  done

  echo
  echo "Cohort HTTP benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores shared by wrk, nginx and both servers"
  echo "data: $USERS users, $PRODUCTS products, $events events (cohort demo --seed 42), SQLite; $DATA_NOTE"
  echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency after a $WARMUP warm-up, ids drawn uniformly from" \
    "u000001..u$(printf '%06d' "$ASKED")"
  echo "warm cache: the recommendations and profile of every one of those users requested once before measuring" \
    "($((2 * ASKED)) requests in $WARM_S s, all 200); hit % = measured requests answered without computing"
  echo "reference: nginx serving $REFERENCE_ID's answers as static files: $RECS_BYTES bytes (recommendations," \
    "$DEFAULT_RECS items), $USER_BYTES bytes (user)"
  echo
  printf "%-40s %10s %9s %9s %6s %7s %7s %13s %6s %7s %8s %7s\n" row requests/s "p50 ms" "p99 ms" errors "hit %" \
    "vs ref" range load "cpu us" "drain us" "disk B"
  local key label reference line ratios errors median_ratio rps p50 p99 load hits cpu drain disk self range sorted
  declare -A median
  for key in a b c ua ub uc; do
    case $key in
      a) label="(a) nginx, static answer ($RECS_BYTES B)" reference=a ;;
      b) label="(b) recommendations, warm cache" reference=a ;;
      c) label="(c) recommendations, cache off" reference=a ;;
      ua) label="    nginx, static user ($USER_BYTES B)" reference=ua ;;
      ub) label="    GET /api/users/{id}, warm cache" reference=ua ;;
      *) label="    GET /api/users/{id}, cache off" reference=ua ;;
    esac
    # Each round's ratio to the reference measured just before it; the row shows its median-ratio round (the
    # reference rows, whose ratio is always 1, their median by requests/s).
    ratios=""
    self=0
    if [[ $key == "$reference" ]]; then self=1; fi
    for ((round = 1; round <= ROUNDS; round++)); do
      ratios+="$(awk -v r="${result[$key.$round]%% *}" -v n="${result[$reference.$round]%% *}" -v self="$self" \
        'BEGIN { printf "%.3f", (self ? r : n > 0 ? r / n : 0) }') $round"$'\n'
    done
    sorted=$(sort -n <<<"${ratios%$'\n'}")
    read -r median_ratio round < <(sed -n "$(((ROUNDS + 1) / 2))p" <<<"$sorted")
    if ((self)); then median_ratio=1.000; fi
    median[$key]=$median_ratio
    line=${result[$key.$round]}
    errors=$(for ((r = 1; r <= ROUNDS; r++)); do echo "${result[$key.$r]}"; done | awk '{ s += $4 } END { print s }')
    read -r rps p50 p99 _ load hits cpu drain disk <<<"$line"
    range=$(awk -v self="$self" 'NR == 1 { lo = $1 } { hi = $1 } END { printf(self ? "%.0f-%.0f" : "%s-%s", lo, hi) }' \
      <<<"$sorted")
    printf "%-40s %10s %9s %9s %6s %7s %7s %13s %6s %7s %8s %7s\n" "$label" "$rps" "$p50" "$p99" "$errors" \
      "$hits" "$median_ratio" "$range" "$load" "$cpu" "$drain" "$disk"
    if [[ $errors -ne 0 ]]; then log "warning: $label had $errors failed requests; its numbers are not comparable"; fi
  done
  echo
  echo "each row: its median of $ROUNDS rounds by the ratio to the reference measured just before it; range: the" \
    "rounds' ratios (of the reference rows: their requests/s); errors: all rounds; cpu us: the server's CPU time" \
    "(user and system, every thread; nginx: its master and workers) per request of that round; drain us: the" \
    "server's CPU time per request of that round after it, until its messages were consumed (the consumers run" \
    "as SCHED_IDLE: under the load most of their work waits); disk B: the bytes per request of that round that" \
    "the server read from storage, not from the page cache"
  awk -v b="${median[b]}" -v c="${median[c]}" 'BEGIN {
    printf "targets: (b)/(a) = %.3f (>= 0.8: %s), (c)/(a) = %.3f (>= 0.25: %s)\n",
      b, (b >= 0.8 ? "met" : "missed"), c, (c >= 0.25 ? "met" : "missed")
  }'
  echo "memory: cached server RSS $cached_rss after warming, $(rss_mib "$COHORT_PID" VmRSS) MiB at the end" \
    "(peak $(rss_mib "$COHORT_PID" VmHWM) MiB, L1 bound $((L1_BYTES / 1048576)) MiB); uncached server" \
    "$(rss_mib "$UNCACHED_PID" VmRSS) MiB (peak $(rss_mib "$UNCACHED_PID" VmHWM) MiB)"
}

main "$@"
