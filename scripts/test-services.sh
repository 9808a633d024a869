#!/usr/bin/env bash
# Throwaway services for the integration tests, each in its own directory under $COHORT_TEST_SERVICES_DIR
# (default /tmp/cohort-test-services). Every command is idempotent.
#   scripts/test-services.sh start    start every service that is not running yet
#   scripts/test-services.sh env      print `export ...` lines for the tests (eval "$(scripts/test-services.sh env)")
#   scripts/test-services.sh status   say what runs where
#   scripts/test-services.sh stop     stop every service and remove its directory
#   scripts/test-services.sh rabbitmqctl ARGS...  rabbitmqctl against the test broker (stop_app, start_app, ...)
#   scripts/test-services.sh start|stop|env|status SERVICE...   only those (postgres, mongo, redis, rabbitmq)
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

# Prints the postmaster's pid when it runs (a zombie left by a crash does not count).
postmaster_pid() {
  local pid state
  pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r _ _ state _ <"/proc/$pid/stat" 2>/dev/null || return 1
  [[ "$state" != Z ]] || return 1
  echo "$pid"
}

postgres_running() { postmaster_pid >/dev/null; }

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
  local pid
  if pid=$(postmaster_pid); then
    local bin
    bin=$(pg_bin)
    if as_pg_owner "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null ||
      as_pg_owner "$bin/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null; then
      log "postgres: stopped"
    else
      log "postgres: pg_ctl could not stop the server: killing process $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "postgres: not running; removing $PG_DIR"
  fi
  rm -rf "$PG_DIR"
}

postgres_env() {
  postgres_running && [[ -s "$PG_URL_FILE" ]] || die "postgres: not running (scripts/test-services.sh start)"
  echo "export COHORT_TEST_POSTGRES_URL='$(cat "$PG_URL_FILE")'"
}

# ---- MongoDB wire-protocol test peer: CongoDB, NOT mongod -------------------------------------------------------
# Debian has no MongoDB server package, so the tests talk to CongoDB: an in-memory, MongoDB-wire-compatible server
# written in TypeScript that ships, compiled, in the npm package @push.rocks/smartmongo. It is a test peer, not
# mongod: where it differs from MongoDB's documented behaviour, src/store/events/mongo/README.md says so.
# Its declared dependency tree does not resolve on the registry, so the package is unpacked by hand next to the
# dependencies it really needs (pinned to versions seen to work). The result is kept in a cache folder that
# survives the services directory (default /var/cache/cohort/congodb, ~/.cache/cohort/congodb when that is not
# writable; COHORT_CONGODB_CACHE overrides) and is reused when present: a first start (npm pack + install) takes
# about 4 s, later ones about 0.5 s. Node.js and npm come from Debian (scripts/install-deps.sh).
SERVICES+=(mongo)
MONGO_DIR=$BASE_DIR/mongo
MONGO_PID_FILE=$MONGO_DIR/pid
MONGO_URL_FILE=$MONGO_DIR/url
MONGO_LOG=$MONGO_DIR/congodb.log
MONGO_DEFAULT_PORT=${COHORT_TEST_MONGO_PORT:-57017}
MONGO_DATABASE=cohort_test
CONGODB_PACKAGE=@push.rocks/smartmongo@2.2.0
CONGODB_DEPS=(bson@6.10.4 mingo@7.2.7 @push.rocks/smartfs@1.5.0 @push.rocks/smartpath@5.1.0
  @push.rocks/smartpromise@4.2.3 @push.rocks/smartrx@3.0.10)
CONGODB_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/congodb-server.mjs

# Prints the cache folder for this CongoDB version, creating its parent.
congodb_cache_dir() {
  local root=${COHORT_CONGODB_CACHE:-}
  if [[ -z "$root" ]]; then
    root=/var/cache/cohort/congodb
    if ! mkdir -p "$root" 2>/dev/null || [[ ! -w "$root" ]]; then root=${XDG_CACHE_HOME:-$HOME/.cache}/cohort/congodb; fi
  fi
  mkdir -p "$root" || die "mongo: cannot create the cache folder $root"
  echo "$root/smartmongo-2.2.0"
}

# Installs CongoDB into the cache unless a complete install is there; prints the path of its entry module.
congodb_install() {
  local dir entry
  dir=$(congodb_cache_dir)
  entry=$dir/node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js
  if [[ -f "$dir/.complete" && -f "$entry" ]]; then
    echo "$entry"
    return 0
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "mongo: node and npm are needed for the CongoDB test peer: run scripts/install-deps.sh"
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [[ "$major" -ge 18 ]] || die "mongo: CongoDB needs Node.js 18 or newer, found $(node --version)"
  (
    # One installer at a time; a second one waits and then finds the install complete.
    flock -w 300 9 || die "mongo: timed out waiting for another CongoDB install ($dir.lock)"
    [[ -f "$dir/.complete" && -f "$entry" ]] && exit 0
    log "mongo: installing CongoDB ($CONGODB_PACKAGE) into $dir"
    local scratch
    scratch=$(mktemp -d "$dir.install.XXXXXX")
    chmod 755 "$scratch"
    trap 'rm -rf "$scratch"' EXIT
    cd "$scratch"
    echo '{"name": "cohort-congodb", "private": true}' >package.json
    if ! npm pack --silent "$CONGODB_PACKAGE" >npm.log 2>&1 ||
      ! npm install --no-audit --no-fund --ignore-scripts --save-exact "${CONGODB_DEPS[@]}" >>npm.log 2>&1; then
      tail -n 20 npm.log >&2
      die "mongo: npm could not fetch CongoDB or its dependencies"
    fi
    mkdir -p node_modules/@push.rocks/smartmongo
    tar -xzf push.rocks-smartmongo-2.2.0.tgz -C node_modules/@push.rocks/smartmongo --strip-components=1
    rm -f push.rocks-smartmongo-2.2.0.tgz
    [[ -f "$scratch/node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js" ]] ||
      die "mongo: $CONGODB_PACKAGE has no dist_ts/congodb/index.js"
    touch .complete
    rm -rf "$dir"
    mv "$scratch" "$dir"
    trap - EXIT
  ) 9>"$dir.lock" || exit 1
  echo "$entry"
}

# Prints the pid of our CongoDB process when it runs (a zombie or a recycled pid does not count).
congodb_pid() {
  local pid state
  pid=$(cat "$MONGO_PID_FILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || return 1
  [[ "$state" != Z ]] || return 1
  grep -qa congodb-server.mjs "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

mongo_running() { congodb_pid >/dev/null; }

# True while process $1 runs (a zombie, which `kill -0` still finds, does not count).
process_alive() {
  local state
  read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 1
  [[ "$state" != Z ]]
}

mongo_status() {
  if mongo_running; then
    echo "mongo: CongoDB (MongoDB wire-compatible test peer, not mongod) running at $(cat "$MONGO_URL_FILE") (log in $MONGO_LOG)"
  else
    echo "mongo: not running"
  fi
}

mongo_start() {
  if mongo_running && [[ -s "$MONGO_URL_FILE" ]]; then
    log "mongo: already running at $(cat "$MONGO_URL_FILE")"
    return 0
  fi
  (mongo_stop) >/dev/null 2>&1 || true # a stale directory from a crash or a reboot
  local entry
  entry=$(congodb_install) || exit 1
  mkdir -p "$MONGO_DIR"

  # Another process may take the port between the check and the start: then try the next one.
  local port=$MONGO_DEFAULT_PORT attempt pid waited
  for attempt in 1 2 3 4 5; do
    port=$(free_port_from "$port") || die "mongo: no free port from $MONGO_DEFAULT_PORT upwards"
    # Its own session, so that it outlives this script and the job control of whoever started it.
    setsid node "$CONGODB_SCRIPT" "$entry" "$port" >"$MONGO_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$MONGO_PID_FILE"
    for ((waited = 0; waited < 300; waited++)); do # 30 s
      if grep -q "congodb: ready" "$MONGO_LOG" 2>/dev/null && port_in_use "$port"; then break 2; fi
      process_alive "$pid" || break
      sleep 0.1
    done
    if process_alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      tail -n 20 "$MONGO_LOG" >&2 || true
      die "mongo: CongoDB did not answer on port $port within 30 s (log: $MONGO_LOG)"
    fi
    if [[ $attempt -eq 5 ]] || ! grep -q "EADDRINUSE" "$MONGO_LOG" 2>/dev/null; then
      tail -n 20 "$MONGO_LOG" >&2 || true
      die "mongo: CongoDB did not start (log: $MONGO_LOG)"
    fi
    port=$((port + 1))
  done
  echo "mongodb://127.0.0.1:$port/$MONGO_DATABASE?directConnection=true" >"$MONGO_URL_FILE"
  log "mongo: CongoDB (wire-compatible test peer, not mongod) running at $(cat "$MONGO_URL_FILE")"
}

mongo_stop() {
  if [[ ! -d "$MONGO_DIR" ]]; then
    log "mongo: not running"
    return 0
  fi
  local pid waited
  if pid=$(congodb_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((waited = 0; waited < 100; waited++)); do # 10 s
      process_alive "$pid" || break
      sleep 0.1
    done
    if process_alive "$pid"; then
      log "mongo: CongoDB did not stop on SIGTERM: killing process $pid"
      kill -KILL "$pid" 2>/dev/null || true
    else
      log "mongo: stopped"
    fi
  else
    log "mongo: not running; removing $MONGO_DIR"
  fi
  rm -rf "$MONGO_DIR"
}

mongo_env() {
  mongo_running && [[ -s "$MONGO_URL_FILE" ]] || die "mongo: not running (scripts/test-services.sh start)"
  echo "export COHORT_TEST_MONGO_URL='$(cat "$MONGO_URL_FILE")'"
  # Tests skip, naming the reason, the cases where this peer is known to differ from MongoDB.
  echo "export COHORT_TEST_MONGO_PEER=congodb"
}

# ---- Redis ------------------------------------------------------------------------------------------------------
# A throwaway redis-server on 127.0.0.1 (no persistence: --save "" --appendonly no), its pid file, log and working
# directory in $REDIS_DIR. Started daemonized, so it outlives this script.
SERVICES+=(redis)
REDIS_DIR=$BASE_DIR/redis
REDIS_PID_FILE=$REDIS_DIR/redis.pid
REDIS_PORT_FILE=$REDIS_DIR/port
REDIS_LOG=$REDIS_DIR/redis.log
REDIS_DEFAULT_PORT=${COHORT_TEST_REDIS_PORT:-56379}

# Prints the pid of our redis-server when it runs (a zombie or a recycled pid does not count).
redis_pid() {
  local pid state
  pid=$(cat "$REDIS_PID_FILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || return 1
  [[ "$state" != Z ]] || return 1
  grep -qa redis-server "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

redis_running() { redis_pid >/dev/null && [[ -s "$REDIS_PORT_FILE" ]]; }

redis_status() {
  if redis_running; then
    echo "redis: running at redis://127.0.0.1:$(cat "$REDIS_PORT_FILE") (log in $REDIS_LOG)"
  else
    echo "redis: not running"
  fi
}

redis_start() {
  if redis_running; then
    log "redis: already running at redis://127.0.0.1:$(cat "$REDIS_PORT_FILE")"
    return 0
  fi
  (redis_stop) >/dev/null 2>&1 || true # a stale directory from a crash or a reboot
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    die "redis: redis-server or redis-cli not found: run scripts/install-deps.sh"
  mkdir -p "$REDIS_DIR"

  # Another process may take the port between the check and the start: then try the next one.
  local port=$REDIS_DEFAULT_PORT attempt waited
  for attempt in 1 2 3 4 5; do
    port=$(free_port_from "$port") || die "redis: no free port from $REDIS_DEFAULT_PORT upwards"
    rm -f "$REDIS_LOG" "$REDIS_PID_FILE"
    redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$REDIS_DIR" --pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG" >/dev/null || true
    for ((waited = 0; waited < 100; waited++)); do # 10 s
      if [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]] && redis_pid >/dev/null; then
        echo "$port" >"$REDIS_PORT_FILE"
        log "redis: running at redis://127.0.0.1:$port"
        return 0
      fi
      grep -q "Address already in use" "$REDIS_LOG" 2>/dev/null && break
      sleep 0.1
    done
    if [[ $attempt -eq 5 ]] || ! grep -q "Address already in use" "$REDIS_LOG" 2>/dev/null; then
      tail -n 20 "$REDIS_LOG" >&2 || true
      die "redis: the server did not start on port $port (log: $REDIS_LOG)"
    fi
    port=$((port + 1))
  done
}

redis_stop() {
  if [[ ! -d "$REDIS_DIR" ]]; then
    log "redis: not running"
    return 0
  fi
  local pid port waited
  if pid=$(redis_pid); then
    port=$(cat "$REDIS_PORT_FILE" 2>/dev/null || true)
    [[ -n "$port" ]] && redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    for ((waited = 0; waited < 100; waited++)); do # 10 s
      process_alive "$pid" || break
      sleep 0.1
    done
    if process_alive "$pid"; then
      log "redis: the server did not stop: killing process $pid"
      kill -KILL "$pid" 2>/dev/null || true
    else
      log "redis: stopped"
    fi
  else
    log "redis: not running; removing $REDIS_DIR"
  fi
  rm -rf "$REDIS_DIR"
}

redis_env() {
  redis_running || die "redis: not running (scripts/test-services.sh start)"
  echo "export COHORT_TEST_REDIS_URL='redis://127.0.0.1:$(cat "$REDIS_PORT_FILE")'"
}

# ---- RabbitMQ ---------------------------------------------------------------------------------------------------
# A node of its own (cohort-test@localhost) with everything in $RABBIT_DIR: data (RABBITMQ_MNESIA_BASE), logs
# (RABBITMQ_LOG_BASE), config, plugin list (empty: no management plugin) and the Erlang cookie ($HOME is set to
# $RABBIT_DIR for the node and for rabbitmqctl, so that ~/.erlang.cookie is ours). Three ports, each the first
# free one from the last: AMQP (from 55672, on 127.0.0.1, so that the `guest` user may log in), Erlang
# distribution (RABBITMQ_DIST_PORT, the default NODE_PORT + 20000 would be out of range) and a private epmd
# (ERL_EPMD_PORT): the node starts that epmd itself, so stopping it (`epmd -port P -kill`) never touches an epmd
# that another broker on this machine relies on. Everything listens on 127.0.0.1 only. The node runs as the
# invoking user (root included: Erlang does not mind), not through Debian's /usr/sbin wrappers, which switch to
# the `rabbitmq` user and its /var/lib/rabbitmq.
# A test stops and starts the broker with `$COHORT_TEST_RABBITMQ_CTL stop_app` / `start_app` (the variable is
# exported by `env`: `scripts/test-services.sh rabbitmqctl`, which runs rabbitmqctl against this node with the
# environment it needs). stop_app closes every client connection and the AMQP listener, keeps the node and its
# durable queues and persistent messages; start_app opens them again and returns once the broker serves.
SERVICES+=(rabbitmq)
RABBIT_DIR=$BASE_DIR/rabbitmq
RABBIT_ENV_FILE=$RABBIT_DIR/env
RABBIT_LOG=$RABBIT_DIR/startup.log
RABBIT_DEFAULT_PORT=${COHORT_TEST_RABBITMQ_PORT:-55672}
RABBIT_NODE=cohort-test@localhost
RABBIT_BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
RABBIT_CTL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

# Runs rabbitmqctl against our node, in a subshell that carries the node's environment.
rabbitmq_ctl() {
  [[ -s "$RABBIT_ENV_FILE" ]] || die "rabbitmq: not running (scripts/test-services.sh start)"
  (
    # shellcheck source=/dev/null
    source "$RABBIT_ENV_FILE"
    exec "$RABBIT_BIN/rabbitmqctl" -n "$RABBIT_NODE" "$@"
  )
}

# Prints the pid of our node's Erlang VM when it runs (a zombie or a recycled pid does not count).
rabbitmq_pid() {
  local pid state
  pid=$(cat "$RABBIT_DIR/pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || return 1
  [[ "$state" != Z ]] || return 1
  # The node's name is not on its command line; its home directory ($RABBIT_DIR) is.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-home $RABBIT_DIR " || return 1
  echo "$pid"
}

rabbitmq_port() { sed -n 's/^export RABBITMQ_NODE_PORT=//p' "$RABBIT_ENV_FILE" 2>/dev/null; }

rabbitmq_running() { rabbitmq_pid >/dev/null && [[ -n "$(rabbitmq_port)" ]]; }

rabbitmq_status() {
  if rabbitmq_running; then
    local app=serving
    rabbitmq_ctl status >/dev/null 2>&1 && port_in_use "$(rabbitmq_port)" || app="node up, broker stopped (stop_app)"
    echo "rabbitmq: $RABBIT_NODE running at amqp://127.0.0.1:$(rabbitmq_port)/, $app (data and logs in $RABBIT_DIR)"
  else
    echo "rabbitmq: not running"
  fi
}

rabbitmq_start() {
  if rabbitmq_running; then
    log "rabbitmq: already running at amqp://127.0.0.1:$(rabbitmq_port)/"
    return 0
  fi
  (rabbitmq_stop) >/dev/null 2>&1 || true # a stale directory from a crash or a reboot
  [[ -x "$RABBIT_BIN/rabbitmq-server" && -x "$RABBIT_BIN/rabbitmqctl" ]] ||
    die "rabbitmq: $RABBIT_BIN/rabbitmq-server not found: run scripts/install-deps.sh"
  command -v epmd >/dev/null || die "rabbitmq: epmd not found: run scripts/install-deps.sh"
  mkdir -p "$RABBIT_DIR/mnesia" "$RABBIT_DIR/log"
  echo '[].' >"$RABBIT_DIR/enabled_plugins"
  : >"$RABBIT_DIR/rabbitmq-env.conf" # instead of /etc/rabbitmq/rabbitmq-env.conf

  # Another process may take a port between the check and the start: then try the next ones.
  local port=$RABBIT_DEFAULT_PORT dist_port epmd_port attempt pid deadline
  for attempt in 1 2 3 4 5; do
    port=$(free_port_from "$port") || die "rabbitmq: no free port from $RABBIT_DEFAULT_PORT upwards"
    dist_port=$(free_port_from $((port + 1))) || die "rabbitmq: no free port after $port"
    epmd_port=$(free_port_from $((dist_port + 1))) || die "rabbitmq: no free port after $dist_port"
    cat >"$RABBIT_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
log.file.level = info
log.console = false
CONF
    cat >"$RABBIT_ENV_FILE" <<ENV
export HOME=$RABBIT_DIR
export RABBITMQ_NODENAME=$RABBIT_NODE
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$dist_port
export ERL_EPMD_PORT=$epmd_port
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export RABBITMQ_CONF_ENV_FILE=$RABBIT_DIR/rabbitmq-env.conf
export RABBITMQ_CONFIG_FILE=$RABBIT_DIR/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$RABBIT_DIR/enabled_plugins
export RABBITMQ_MNESIA_BASE=$RABBIT_DIR/mnesia
export RABBITMQ_LOG_BASE=$RABBIT_DIR/log
export RABBITMQ_PID_FILE=$RABBIT_DIR/pid
ENV
    rm -f "$RABBIT_DIR/pid" "$RABBIT_LOG"
    # Its own session, so that it outlives this script and the job control of whoever started it.
    (
      source "$RABBIT_ENV_FILE"
      cd "$RABBIT_DIR"
      exec setsid "$RABBIT_BIN/rabbitmq-server" >"$RABBIT_LOG" 2>&1 </dev/null
    ) &
    pid=$!
    # About 5 s on an idle machine; a minute and more on a loaded one (each rabbitmqctl starts an Erlang VM).
    deadline=$((SECONDS + 180))
    while ((SECONDS < deadline)); do
      if rabbitmq_ctl await_startup --timeout 5 >/dev/null 2>&1 && port_in_use "$port"; then
        log "rabbitmq: $RABBIT_NODE running at amqp://127.0.0.1:$port/"
        return 0
      fi
      process_alive "$pid" || break
      sleep 0.25
    done
    if process_alive "$pid"; then
      (rabbitmq_stop) >/dev/null 2>&1 || true
      die "rabbitmq: the broker did not start within 180 s (log: $RABBIT_DIR/log)"
    fi
    if [[ $attempt -eq 5 ]] || ! grep -rqi "eaddrinuse" "$RABBIT_LOG" "$RABBIT_DIR/log" 2>/dev/null; then
      tail -n 20 "$RABBIT_LOG" >&2 || true
      die "rabbitmq: the broker did not start (logs: $RABBIT_LOG, $RABBIT_DIR/log)"
    fi
    port=$((epmd_port + 1))
  done
}

rabbitmq_stop() {
  if [[ ! -d "$RABBIT_DIR" ]]; then
    log "rabbitmq: not running"
    return 0
  fi
  local pid waited epmd_port
  epmd_port=$(sed -n 's/^export ERL_EPMD_PORT=//p' "$RABBIT_ENV_FILE" 2>/dev/null || true)
  if pid=$(rabbitmq_pid); then
    # `shutdown` waits for the VM to exit; a node that does not answer gets signals.
    if rabbitmq_ctl shutdown --timeout 30 >/dev/null 2>&1 || ! process_alive "$pid"; then
      log "rabbitmq: stopped"
    else
      kill -TERM "$pid" 2>/dev/null || true
      for ((waited = 0; waited < 100; waited++)); do # 10 s
        process_alive "$pid" || break
        sleep 0.1
      done
      if process_alive "$pid"; then
        log "rabbitmq: the node did not stop: killing process $pid"
        kill -KILL "$pid" 2>/dev/null || true
      else
        log "rabbitmq: stopped"
      fi
    fi
  else
    log "rabbitmq: not running; removing $RABBIT_DIR"
  fi
  # The epmd on that port was started by our node (the port was free when it started): it serves nobody else.
  if [[ "$epmd_port" =~ ^[0-9]+$ ]] && port_in_use "$epmd_port"; then
    ERL_EPMD_PORT=$epmd_port epmd -kill >/dev/null 2>&1 || true
  fi
  rm -rf "$RABBIT_DIR"
}

rabbitmq_env() {
  rabbitmq_running || die "rabbitmq: not running (scripts/test-services.sh start)"
  echo "export COHORT_TEST_AMQP_URL='amqp://guest:guest@127.0.0.1:$(rabbitmq_port)/'"
  # The services folder is named so that the command reaches this node, not the default one.
  echo "export COHORT_TEST_RABBITMQ_CTL='env COHORT_TEST_SERVICES_DIR=$BASE_DIR $RABBIT_CTL rabbitmqctl'"
}

# ---- commands --------------------------------------------------------------------------------------------------
usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

main() {
  [[ $# -ge 1 ]] || usage
  local command=$1 service
  shift
  if [[ "$command" == rabbitmqctl ]]; then
    rabbitmq_ctl "$@"
    return
  fi
  # Service names after the command select some: a test starts a private instance of one this way, with
  # COHORT_TEST_SERVICES_DIR and the service's COHORT_TEST_*_PORT of its own.
  local selected=("${SERVICES[@]}")
  if [[ $# -gt 0 ]]; then
    for service in "$@"; do
      [[ " ${SERVICES[*]} " == *" $service "* ]] || die "unknown service '$service' (known: ${SERVICES[*]})"
    done
    selected=("$@")
  fi
  case "$command" in
  start)
    mkdir -p "$BASE_DIR"
    chmod 755 "$BASE_DIR"
    local started=()
    for service in "${selected[@]}"; do
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
    for service in "${selected[@]}"; do ("${service}_stop") || status=1; done
    rmdir "$BASE_DIR" 2>/dev/null || true
    exit "$status"
    ;;
  env)
    for service in "${selected[@]}"; do "${service}_env"; done
    ;;
  status)
    for service in "${selected[@]}"; do "${service}_status"; done
    ;;
  *) usage ;;
  esac
}

main "$@"
