#!/usr/bin/env bash
# Event ingestion benchmark: POST /api/events batches and `cohort import events` against the backend's own load
# rate for the same rows, measured in the same run (SQLite: prepared INSERTs in one transaction; PostgreSQL: one
# COPY; MongoDB: unordered insert_many). Targets: HTTP >= 0.5x raw, import >= 0.7x raw. See README.md.
#   bench/events/run.sh
# Environment (defaults): BENCH_EVENTS (200000), BENCH_MONGO_EVENTS (50000 on the CongoDB test peer, else
#   BENCH_EVENTS), BENCH_BACKENDS ("sqlite postgres mongo"), BENCH_ROUNDS (3; each figure is the median),
#   BENCH_BATCH (5000 events per request), BENCH_CONNECTIONS (4), BENCH_SEED (42), BENCH_MONGO_URL (a real
#   MongoDB; default: a private CongoDB peer), BENCH_COHORT_BIN and BENCH_TOOLS_DIR (build/release/cohort and
#   build/release/bench, built when not given). PostgreSQL is the test cluster (COHORT_TEST_POSTGRES_URL;
#   scripts/test-services.sh start is run when it is not set), in databases of the bench's own, dropped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/events/common.sh
source "$ROOT/bench/events/common.sh"

EVENTS=${BENCH_EVENTS:-200000}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres mongo}
ROUNDS=${BENCH_ROUNDS:-3}
BATCH=${BENCH_BATCH:-5000}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
SEED=${BENCH_SEED:-42}
HTTP_TARGET=0.5
IMPORT_TARGET=0.7
LOG_TAG=bench-events

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Loads file $2 into a throwaway store of backend $1, untimed: warms the page caches, and the JIT of a JavaScript
# peer, so that the first round is not the odd one out.
warm_up() {
  case $1 in
    sqlite) "$TOOLS/raw_insert_bench" sqlite "$2" "$WORK/raw-sqlite.db" >/dev/null ;;
    postgres)
      pg_create_db warmup
      "$TOOLS/raw_insert_bench" postgres "$2" "$PG_URL" >/dev/null
      ;;
    mongo)
      mongo_db warmup
      "$TOOLS/raw_insert_bench" mongo "$2" "$MONGO_URL" >/dev/null
      ;;
  esac
  rm -f "$WORK"/raw-sqlite.db*
  drop_backend_dbs
}

# One round on backend $1 with file $2: raw load, HTTP, import, each into a fresh store. Appends to the
# round lists RAW, HTTP, IMPORT, HTTP_RATIO, IMPORT_RATIO (to this round's raw rate), P50, MAX, CLIENT_CPU.
measure_round() {
  local backend=$1 file=$2 events raw http out started ended import
  events=$(wc -l <"$file")

  case $backend in
    sqlite) raw=$("$TOOLS/raw_insert_bench" sqlite "$file" "$WORK/raw-sqlite.db") ;;
    postgres)
      pg_create_db raw
      raw=$("$TOOLS/raw_insert_bench" postgres "$file" "$PG_URL")
      ;;
    mongo)
      mongo_db raw
      raw=$("$TOOLS/raw_insert_bench" mongo "$file" "$MONGO_URL")
      ;;
  esac
  rm -f "$WORK"/raw-sqlite.db*
  log "$backend: raw $raw"
  raw=$(field rows_per_s "$raw")
  RAW+=" $raw"

  store_env "$backend" http
  start_cohort "$backend-http"
  http=$("$TOOLS/post_events" "http://127.0.0.1:$COHORT_PORT/api/events" "$file" "$BATCH" "$CONNECTIONS") ||
    die "$backend: POST /api/events failed: $http"
  stop_cohort
  log "$backend: HTTP $http"
  [[ $(field accepted "$http") -eq $events ]] || die "$backend: HTTP accepted $(field accepted "$http") of $events"
  HTTP+=" $(field events_per_s "$http")"
  HTTP_RATIO+=" $(awk -v a="$(field events_per_s "$http")" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')"
  P50+=" $(field p50_ms "$http")"
  MAX+=" $(field max_ms "$http")"
  CLIENT_CPU+=" $(field client_cpu_s "$http")/$(field seconds "$http")"

  store_env "$backend" import
  started=$(date +%s.%N)
  out=$(run_cohort import events "$file" 2>"$WORK/$backend-import.log") || {
    tail -n 20 "$WORK/$backend-import.log" >&2
    die "$backend: cohort import failed"
  }
  ended=$(date +%s.%N)
  [[ "$out" == *" $events events accepted"* ]] || die "$backend: import did not accept all $events events: $out"
  import=$(awk -v n="$events" -v a="$started" -v b="$ended" 'BEGIN { printf "%.0f", n / (b - a) }')
  IMPORT+=" $import"
  IMPORT_RATIO+=" $(awk -v a="$import" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')"
  log "$backend: import $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }') s: $out"

  drop_backend_dbs
  rm -rf "$WORK"/data-*
}

main() {
  build_tools
  WORK=$(mktemp -d /tmp/cohort-bench-events-XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  services_for "$BACKENDS"

  local file=$WORK/events.ndjson
  "$TOOLS/raw_insert_bench" generate "$EVENTS" "$SEED" "$file"
  local mongo_events=${BENCH_MONGO_EVENTS:-}
  if [[ -z "$mongo_events" ]]; then
    if mongo_is_congodb; then mongo_events=$((EVENTS < 50000 ? EVENTS : 50000)); else mongo_events=$EVENTS; fi
  fi
  head -n "$mongo_events" "$file" >"$WORK/events-mongo.ndjson"

  local load_before lines=() backend round backend_file load1
  load_before=$(uptime)
  for backend in $BACKENDS; do
    backend_file=$file
    if [[ $backend == mongo ]]; then backend_file=$WORK/events-mongo.ndjson; fi
    RAW="" HTTP="" IMPORT="" HTTP_RATIO="" IMPORT_RATIO="" P50="" MAX="" CLIENT_CPU=""
    if [[ $backend == postgres ]]; then ensure_postgres; fi
    log "$backend: warm-up (a raw load, not counted)"
    warm_up "$backend" "$backend_file"
    load1=$(load_1m)
    for ((round = 1; round <= ROUNDS; round++)); do
      log "$backend: round $round of $ROUNDS ($(wc -l <"$backend_file") events; load $(load_1m))"
      measure_round "$backend" "$backend_file"
    done
    load1="$load1-$(load_1m)"
    log "$backend rounds: raw$RAW | HTTP$HTTP (x raw$HTTP_RATIO) | import$IMPORT (x raw$IMPORT_RATIO) |" \
      "client CPU s / wall s$CLIENT_CPU"
    lines+=("$backend $(wc -l <"$backend_file") $(median <<<"$RAW") $(median <<<"$HTTP") $(median <<<"$HTTP_RATIO") \
$(median <<<"$IMPORT") $(median <<<"$IMPORT_RATIO") $(median <<<"$P50") $(median <<<"$MAX") $load1")
  done

  echo
  echo "Event ingestion, $(date -u +%Y-%m-%dT%H:%MZ), medians of $ROUNDS rounds (x raw: median of each round's" \
    "ratio to that round's raw rate): POST /api/events as NDJSON," \
    "$BATCH events per request over $CONNECTIONS keep-alive connections, and \`cohort import events\`, each into" \
    "a fresh store; cohort serve with its default $(nproc) threads; $(nproc) cores shared by client, server," \
    "database and whatever else runs."
  echo "raw = the backend alone, same rows, same table and indexes: SQLite prepared INSERTs in one transaction" \
    "(WAL, synchronous=NORMAL, as Cohort); PostgreSQL one COPY FROM STDIN in one transaction; MongoDB" \
    "unordered insert_many of $BATCH."
  echo "load before: $load_before"
  printf "%-9s %7s %10s %13s %6s %6s %15s %6s %6s %9s %9s %11s\n" backend events "raw rows/s" "HTTP events/s" \
    "x raw" ">=0.5x" "import events/s" "x raw" ">=0.7x" "POST p50" "POST max" "load1"
  local line events raw http import p50 max http_ratio import_ratio
  for line in "${lines[@]}"; do
    read -r backend events raw http http_ratio import import_ratio p50 max load1 <<<"$line"
    printf "%-9s %7s %10s %13s %6s %6s %15s %6s %6s %9s %9s %11s\n" "$backend" "$events" "$raw" "$http" \
      "$http_ratio" "$(meets "$http_ratio" "$HTTP_TARGET")" "$import" "$import_ratio" \
      "$(meets "$import_ratio" "$IMPORT_TARGET")" "${p50}ms" "${max}ms" "$load1"
  done
  echo "load after:  $(uptime)"
  echo "load1: the 1-minute load average when the backend's rounds began and ended (2 cores: above 2 means waiting)."
  if [[ " $BACKENDS " == *" mongo "* ]]; then echo "mongo: $MONGO_KIND; measured at $mongo_events events."; fi
  if [[ " $BACKENDS " == *" postgres "* ]]; then echo "postgres: the test cluster of scripts/test-services.sh ($(pg_settings))."; fi
}

main "$@"
