# Shared by bench/events/run.sh and pipeline.sh (sourced, not run): building, the services, fresh stores of the
# bench's own (a temporary folder, PostgreSQL and MongoDB databases named cohort_bench_<pid>_*, dropped on exit),
# and starting and stopping `cohort serve`. The caller sets LOG_TAG and ROOT.
#
# MongoDB: BENCH_MONGO_URL when given (a real mongod). Otherwise a private CongoDB process (the in-memory
# JavaScript wire-protocol TEST PEER of scripts/test-services.sh, not mongod), started from the same install on
# a free port and stopped on exit, so that the bench neither fills nor blocks the peer that others' tests use.
# shellcheck shell=bash

# shellcheck source=bench/common/serve.sh disable=SC2153 # the caller sets ROOT
source "$ROOT/bench/common/serve.sh"

WORK=""
COHORT_PID=""
COHORT_PORT=""
PG_DBS=()     # PostgreSQL databases created by this run
MONGO_DBS=()  # MongoDB databases created by this run
STORE_ENV=()  # COHORT_* settings of the store in use (store_env)
MONGO_BASE_URL=""  # the MongoDB server in use (mongo_setup); its database part is replaced per store
MONGO_KIND=""      # what it is, for the printed notes
CONGODB_PID=""     # the private CongoDB peer, when this run started one
DATA_DIR=""
COHORT_EXTRA_ENV=()  # further COHORT_* settings for every cohort command
FILL_PID=""          # a `cohort demo` running in the background (pipeline.sh)
BENCH_ID=cohort_bench_$$

log() { echo "${LOG_TAG:-bench}: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# The value of NAME in a "name=value name=value" line.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
load_1m() { cut -d' ' -f1 /proc/loadavg; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "yes" : "NO") }'; }

build_tools() {
  if [[ -n "${BENCH_COHORT_BIN:-}" && -n "${BENCH_TOOLS_DIR:-}" ]]; then
    COHORT_BIN=$BENCH_COHORT_BIN
    TOOLS=$BENCH_TOOLS_DIR
  else
    log "building the release binary and the bench tools"
    (
      cd "$ROOT"
      if [[ ! -f build/release/build.ninja ]]; then cmake --preset release; fi
      cmake --build --preset release
    ) >&2 || die "the release build failed"
    COHORT_BIN=${BENCH_COHORT_BIN:-$ROOT/build/release/cohort}
    TOOLS=${BENCH_TOOLS_DIR:-$ROOT/build/release/bench}
  fi
  [[ -x "$COHORT_BIN" ]] || die "no cohort binary at $COHORT_BIN"
  [[ -x "$TOOLS/raw_insert_bench" && -x "$TOOLS/post_events" ]] || die "no bench tools in $TOOLS"
  command -v curl >/dev/null || die "curl is missing"
}

start_test_services() {
  log "starting the test services (scripts/test-services.sh start)"
  "$ROOT/scripts/test-services.sh" start >&2 || die "the test services did not start"
  eval "$("$ROOT/scripts/test-services.sh" env)"
}

# Makes the servers of the backends in $1 available: PostgreSQL from the test services (started, never stopped:
# others use them, when COHORT_TEST_POSTGRES_URL is not set), MongoDB from mongo_setup.
services_for() {
  if [[ " $1 " == *" postgres "* ]]; then
    command -v psql >/dev/null || die "psql is missing"
    ensure_postgres
  fi
  if [[ " $1 " == *" mongo "* ]]; then mongo_setup; fi
}

# Starts the test services when PostgreSQL does not answer (someone's `make test` stops them when it ends).
ensure_postgres() {
  if [[ -n "${COHORT_TEST_POSTGRES_URL:-}" ]] && pg_admin -c "SELECT 1" >/dev/null 2>&1; then return 0; fi
  start_test_services
  pg_admin -c "SELECT 1" >/dev/null || die "PostgreSQL does not answer at $COHORT_TEST_POSTGRES_URL"
}

mongo_is_congodb() { [[ -n "$CONGODB_PID" ]]; }

# The entry module of the CongoDB install that scripts/test-services.sh keeps in its cache, if there is one.
congodb_entry() {
  local root entry
  for root in ${COHORT_CONGODB_CACHE:-} /var/cache/cohort/congodb "${XDG_CACHE_HOME:-$HOME/.cache}/cohort/congodb"; do
    entry=$root/smartmongo-2.2.0/node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js
    if [[ -f "$root/smartmongo-2.2.0/.complete" && -f "$entry" ]]; then
      echo "$entry"
      return 0
    fi
  done
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mongo_setup() {
  if [[ -n "${BENCH_MONGO_URL:-}" ]]; then
    MONGO_BASE_URL=$BENCH_MONGO_URL
    MONGO_KIND="MongoDB at BENCH_MONGO_URL"
    return 0
  fi
  local entry port i
  if ! entry=$(congodb_entry); then
    start_test_services # installs CongoDB into its cache
    entry=$(congodb_entry) || die "no CongoDB install found after scripts/test-services.sh start"
  fi
  command -v node >/dev/null || die "node is missing (CongoDB runs on Node.js)"
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + RANDOM % 30000))
    if ! port_in_use "$port"; then break; fi
  done
  node "$ROOT/scripts/congodb-server.mjs" "$entry" "$port" >"$WORK/congodb.log" 2>&1 </dev/null &
  CONGODB_PID=$!
  for ((i = 0; i < 300; i++)); do
    if grep -q "congodb: ready" "$WORK/congodb.log" 2>/dev/null; then break; fi
    kill -0 "$CONGODB_PID" 2>/dev/null || die "CongoDB did not start: $(tail -n 5 "$WORK/congodb.log")"
    sleep 0.1
  done
  grep -q "congodb: ready" "$WORK/congodb.log" || die "CongoDB did not start within 30 s"
  # Cohort's 10 s socket timeout is too short for the JavaScript peer on a loaded machine: `cohort demo` sends
  # insert commands of ~20 MB, which it reads more slowly than that. 600 s is BENCH_PIPELINE_TIMEOUT_MS's default.
  MONGO_BASE_URL="mongodb://127.0.0.1:$port/cohort_bench?directConnection=true&socketTimeoutMS=600000"
  MONGO_KIND="CongoDB, the in-memory JavaScript MongoDB wire-protocol TEST PEER of scripts/test-services.sh (not mongod; one Node.js process, V8 heap limit $(node -p 'Math.round(require("v8").getHeapStatistics().heap_size_limit / 1048576)') MiB), a private instance of this run"
  log "mongo: private CongoDB peer on port $port (pid $CONGODB_PID)"
}

# True while the private CongoDB peer runs (a zombie, which `kill -0` still finds, does not count).
congodb_alive() {
  local state
  read -r _ _ state _ 2>/dev/null <"/proc/$CONGODB_PID/stat" || return 1
  [[ "$state" != Z ]]
}

# Resident memory of the private CongoDB peer, in MiB.
congodb_rss_mib() { ps -o rss= -p "$CONGODB_PID" | awk '{ printf "%.0f", $1 / 1024 }'; }

# URL $1 with its database (the path) replaced by $2; the query string is kept.
url_with_db() {
  local url=$1 db=$2
  [[ "$url" =~ ^([a-z]+://[^/?]*)(/[^?]*)?(\?.*)?$ ]] || die "cannot read the URL $url"
  echo "${BASH_REMATCH[1]}/$db${BASH_REMATCH[3]}"
}

pg_admin() { PGOPTIONS="-c client_min_messages=warning" psql "$COHORT_TEST_POSTGRES_URL" -qAt -v ON_ERROR_STOP=1 "$@"; }
pg_settings() {
  pg_admin -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync') ||
    ', synchronous_commit=' || current_setting('synchronous_commit') || ', shared_buffers=' ||
    current_setting('shared_buffers')"
}

# Creates an empty database cohort_bench_<pid>_$1; sets PG_URL to it.
pg_create_db() {
  local db=${BENCH_ID}_$1
  pg_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  PG_DBS+=("$db")
  PG_URL=$(url_with_db "$COHORT_TEST_POSTGRES_URL" "$db")
}

# Sets MONGO_URL to a database cohort_bench_<pid>_$1 (MongoDB creates it on the first write).
mongo_db() {
  local db=${BENCH_ID}_$1
  MONGO_DBS+=("$db")
  MONGO_URL=$(url_with_db "$MONGO_BASE_URL" "$db")
}

drop_backend_dbs() {
  local db
  for db in "${PG_DBS[@]}"; do pg_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; done
  for db in "${MONGO_DBS[@]}"; do
    "$TOOLS/raw_insert_bench" mongo-drop "$(url_with_db "$MONGO_BASE_URL" "$db")" || true
  done
  PG_DBS=()
  MONGO_DBS=()
}

# A fresh, empty store for backend $1 (sqlite, postgres or mongo), named for purpose $2: sets DATA_DIR and
# STORE_ENV. MongoDB holds only the events; the users stay in SQLite, as in production.
store_env() {
  DATA_DIR=$WORK/data-$1-$2
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  STORE_ENV=()
  case $1 in
    sqlite) ;;
    postgres)
      pg_create_db "$2"
      STORE_ENV=("COHORT_POSTGRES_URL=$PG_URL")
      ;;
    mongo)
      mongo_db "$2"
      STORE_ENV=("COHORT_MONGO_URL=$MONGO_URL")
      ;;
    *) die "unknown backend $1" ;;
  esac
}

# Sets COHORT_ENV_ARGS, the arguments of `env` that run cohort on the current store with no other COHORT_*
# setting from the caller's environment (the binary refuses unknown ones, and a stray COHORT_POSTGRES_URL would
# switch stores). `env` then execs cohort, so that a background job's $! is cohort's own pid.
cohort_env_args() {
  local name
  COHORT_ENV_ARGS=()
  for name in $(compgen -e); do
    if [[ $name == COHORT_* && $name != COHORT_TEST_* ]]; then COHORT_ENV_ARGS+=(-u "$name"); fi
  done
  COHORT_ENV_ARGS+=("${STORE_ENV[@]}" "${COHORT_EXTRA_ENV[@]}")
}

run_cohort() {
  cohort_env_args
  env "${COHORT_ENV_ARGS[@]}" "$COHORT_BIN" "$@" --data-dir "$DATA_DIR"
}

# Starts `cohort serve` on the current store, on a free port; sets COHORT_PID and COHORT_PORT. $1 names the log.
start_cohort() {
  local name=$1 port_file=$WORK/$1.port i
  rm -f "$port_file"
  cohort_env_args
  env "${COHORT_ENV_ARGS[@]}" "$COHORT_BIN" serve --host 127.0.0.1 --port 0 --port-file "$port_file" \
    --data-dir "$DATA_DIR" >"$WORK/$name.log" 2>&1 &
  COHORT_PID=$!
  COHORT_PORT=$(wait_for_port_file "$COHORT_PID" "$port_file" "$WORK/$name.log" "cohort serve")
  for ((i = 0; i < 300; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$COHORT_PORT/healthz" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "cohort serve did not answer /healthz on port $COHORT_PORT"
}

# Stops the server (SIGTERM: it finishes what is in flight) and makes sure that nothing answers on its port.
stop_cohort() {
  local pid=$COHORT_PID i
  COHORT_PID=""
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -n "$COHORT_PORT" ]]; then
    for ((i = 0; i < 100; i++)); do
      if ! port_in_use "$COHORT_PORT"; then break; fi
      sleep 0.1
    done
    if port_in_use "$COHORT_PORT"; then die "something still answers on port $COHORT_PORT after cohort serve stopped"; fi
  fi
}

cleanup() {
  stop_cohort
  if [[ -n "$FILL_PID" ]]; then
    kill -TERM "$FILL_PID" 2>/dev/null || true
    wait "$FILL_PID" 2>/dev/null || true
  fi
  if [[ -n "${TOOLS:-}" ]]; then drop_backend_dbs; fi
  if [[ -n "$CONGODB_PID" ]]; then
    kill -TERM "$CONGODB_PID" 2>/dev/null || true
    wait "$CONGODB_PID" 2>/dev/null || true
  fi
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
}
