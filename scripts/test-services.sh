#!/usr/bin/env bash
# Throwaway services for the integration tests, each in its own directory under $COHORT_TEST_SERVICES_DIR
# (default /tmp/cohort-test-services). Every command is idempotent.
#   scripts/test-services.sh start    start every service that is not running yet
#   scripts/test-services.sh env      print `export ...` lines for the tests (eval "$(scripts/test-services.sh env)")
#   scripts/test-services.sh status   say what runs where
#   scripts/test-services.sh stop     stop every service and remove its directory
#
# Each service is a set of functions <service>_start, <service>_stop, <service>_env and <service>_status; to add
# one (Redis, RabbitMQ, a MongoDB wire-protocol peer), write the four and append its name to SERVICES.
set -euo pipefail

SERVICES=(postgres)
BASE_DIR=${COHORT_TEST_SERVICES_DIR:-/tmp/cohort-test-services}

log() { echo "test-services: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints the first port from $1 upwards (at most 100 tried) that nothing listens on.
free_port_from() {
  local port
  for ((port = $1; port < $1 + 100; port++)); do
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# ---- PostgreSQL ------------------------------------------------------------------------------------------------
# A cluster of its own (initdb, trust auth, superuser `cohort`, fsync off) on 127.0.0.1, database cohort_test.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
PG_DIR=$BASE_DIR/postgres
PG_DATA=$PG_DIR/data
PG_SOCKETS=$PG_DIR/sockets
PG_LOG=$PG_DIR/postgres.log
PG_URL_FILE=$PG_DIR/url
PG_DEFAULT_PORT=${COHORT_TEST_PG_PORT:-55432}
PG_DATABASE=cohort_test
PG_USER=cohort

pg_bin() {
  local dir
  for dir in ${PG_BIN:-} /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      echo "$dir"
      return 0
    fi
  done
  die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: run scripts/install-deps.sh"
}

# Runs a command as the owner of the cluster: `postgres` when we are root, ourselves otherwise.
as_pg_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    # From / so that the postgres user is not left in a directory it may not read.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

postgres_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && as_pg_owner "$(pg_bin)/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

postgres_status() {
  if postgres_running; then
    echo "postgres: running at $(cat "$PG_URL_FILE") (data and log in $PG_DIR)"
  else
    echo "postgres: not running"
  fi
}

postgres_start() {
  if postgres_running && [[ -s "$PG_URL_FILE" ]]; then
    log "postgres: already running at $(cat "$PG_URL_FILE")"
    return 0
  fi
  (postgres_stop) >/dev/null 2>&1 || true # a stale directory from a crash or a reboot
  local bin
  bin=$(pg_bin)
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "postgres: there is no postgres user to run the server as: run scripts/install-deps.sh"
  fi

  mkdir -p "$PG_SOCKETS"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$PG_DIR"; fi
  log "postgres: initdb in $PG_DATA"
  if ! as_pg_owner "$bin/initdb" -D "$PG_DATA" --auth=trust -U "$PG_USER" --encoding=UTF8 --locale=C --no-sync \
    >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    die "postgres: initdb failed"
  fi

  # Another process may take the port between the check and the start: then try the next one.
  local port=$PG_DEFAULT_PORT attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port_from "$port") || die "postgres: no free port from $PG_DEFAULT_PORT upwards"
    rm -f "$PG_LOG"
    if as_pg_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-p $port -k $PG_SOCKETS -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    if [[ $attempt -eq 5 ]] || ! grep -q "could not bind\|already in use" "$PG_LOG" 2>/dev/null; then
      tail -n 20 "$PG_LOG" >&2 || true
      die "postgres: the server did not start (log: $PG_LOG)"
    fi
    port=$((port + 1))
  done

  if ! "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$PG_DATABASE"; then
    die "postgres: could not create database $PG_DATABASE on port $port"
  fi
  echo "postgresql://$PG_USER@127.0.0.1:$port/$PG_DATABASE" >"$PG_URL_FILE"
  log "postgres: running at $(cat "$PG_URL_FILE")"
}

postgres_stop() {
  if [[ ! -d "$PG_DIR" ]]; then
    log "postgres: not running"
    return 0
  fi
  if postgres_running; then
    as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || die "postgres: pg_ctl stop failed"
    log "postgres: stopped"
  fi
  rm -rf "$PG_DIR"
}

postgres_env() {
  postgres_running && [[ -s "$PG_URL_FILE" ]] || die "postgres: not running (scripts/test-services.sh start)"
  echo "export COHORT_TEST_POSTGRES_URL='$(cat "$PG_URL_FILE")'"
}

# ---- commands --------------------------------------------------------------------------------------------------
usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

main() {
  [[ $# -eq 1 ]] || usage
  local service
  case "$1" in
  start)
    mkdir -p "$BASE_DIR"
    chmod 755 "$BASE_DIR"
    local started=()
    for service in "${SERVICES[@]}"; do
      if ! ("${service}_start"); then
        log "starting $service failed: stopping what this run started"
        for service in "${started[@]}"; do "${service}_stop" || true; done
        exit 1
      fi
      started+=("$service")
    done
    ;;
  stop)
    local status=0
    for service in "${SERVICES[@]}"; do ("${service}_stop") || status=1; done
    rmdir "$BASE_DIR" 2>/dev/null || true
    exit "$status"
    ;;
  env)
    for service in "${SERVICES[@]}"; do "${service}_env"; done
    ;;
  status)
    for service in "${SERVICES[@]}"; do "${service}_status"; done
    ;;
  *) usage ;;
  esac
}

main "$@"
