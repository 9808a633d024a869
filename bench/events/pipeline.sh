#!/usr/bin/env bash
# Pipeline latency: GET /api/analytics/revenue-by-category over a store that `cohort demo` filled with ~1M events
# (~10M with BENCH_LARGE=1), per backend, next to the same aggregation written by hand in SQL and run on the same
# store by the backend's own client library (the reference). See README.md.
#   bench/events/pipeline.sh
# Environment (defaults): BENCH_PIPELINE_EVENTS (1000000; 10000000 with BENCH_LARGE=1), BENCH_MONGO_PIPELINE_EVENTS
#   (100000 on the CongoDB test peer, else the same), BENCH_BACKENDS ("sqlite postgres mongo"), BENCH_REQUESTS (20),
#   BENCH_WARMUPS (2), BENCH_FILL_LIMIT_S (1500: a fill still running then is stopped, and the size it reached is
#   measured and reported), BENCH_PROGRESS_S (30), BENCH_PIPELINE_TIMEOUT_MS (600000, Cohort's pipeline time limit
#   for the run; its default is 5000), BENCH_MONGO_URL, BENCH_COHORT_BIN, BENCH_TOOLS_DIR, as in run.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/events/common.sh
source "$ROOT/bench/events/common.sh"

if [[ "${BENCH_LARGE:-0}" == 1 ]]; then DEFAULT_EVENTS=10000000; else DEFAULT_EVENTS=1000000; fi
EVENTS=${BENCH_PIPELINE_EVENTS:-$DEFAULT_EVENTS}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres mongo}
REQUESTS=${BENCH_REQUESTS:-20}
WARMUPS=${BENCH_WARMUPS:-2}
FILL_LIMIT_S=${BENCH_FILL_LIMIT_S:-1500}
PROGRESS_S=${BENCH_PROGRESS_S:-30}
PIPELINE_TIMEOUT_MS=${BENCH_PIPELINE_TIMEOUT_MS:-600000}
EVENTS_PER_USER=56.9 # what `cohort demo --seed 42` generates per user on average
UNTIL=2026-01-01T00:00:00Z
LOG_TAG=bench-pipeline
ROUTE=/api/analytics/revenue-by-category
# The reference: what the route computes, as one plain statement.
REFERENCE_SQL_SQLITE="SELECT category, COUNT(*) AS count, COALESCE(SUM(price * quantity), 0) AS total FROM events
  WHERE type = 'purchase' GROUP BY category ORDER BY total DESC, category"
REFERENCE_SQL_POSTGRES="SELECT category, COUNT(*) AS count, COALESCE(SUM(price * quantity), 0) AS total FROM events
  WHERE type = 'purchase' GROUP BY category ORDER BY total DESC, category COLLATE \"C\""

# The number of events stored so far in the current store, or nothing.
stored_events() {
  case $1 in
    sqlite)
      if command -v sqlite3 >/dev/null; then
        sqlite3 -readonly "$DATA_DIR/cohort.db" "SELECT COALESCE(MAX(seq), 0) FROM events" 2>/dev/null || true
      fi
      ;;
    postgres) psql "$PG_URL" -qAt -c "SELECT COALESCE(MAX(seq), 0) FROM events" 2>/dev/null || true ;;
    mongo) "$TOOLS/raw_insert_bench" mongo-count "$MONGO_URL" 2>/dev/null || true ;;
  esac
}

# Fills the current store with `cohort demo`; sets FILLED (events), FILL_S and FILL_NOTE.
fill_store() {
  local backend=$1 users=$2 started now next_report status=0 stored last_stored=""
  started=$SECONDS
  next_report=$((SECONDS + PROGRESS_S))
  FILL_NOTE=""
  cohort_env_args
  env "${COHORT_ENV_ARGS[@]}" "$COHORT_BIN" demo --users "$users" --products 1000 --seed 42 --until "$UNTIL" \
    --data-dir "$DATA_DIR" >"$WORK/demo.out" 2>"$WORK/demo.log" &
  FILL_PID=$!
  while kill -0 "$FILL_PID" 2>/dev/null; do
    sleep 1
    now=$SECONDS
    if ((now - started >= FILL_LIMIT_S)); then
      log "$backend: the fill reached the limit of ${FILL_LIMIT_S} s: stopping it"
      kill -TERM "$FILL_PID" 2>/dev/null || true
      FILL_NOTE="stopped at the ${FILL_LIMIT_S} s limit"
      break
    fi
    if ((now >= next_report)); then
      stored=$(stored_events "$backend")
      if [[ -n "$stored" ]]; then last_stored=$stored; fi
      log "$backend: filling: $((now - started)) s, ${stored:-?} events stored (load $(load_1m))"
      next_report=$((now + PROGRESS_S))
    fi
  done
  wait "$FILL_PID" || status=$?
  FILL_PID=""
  FILL_S=$((SECONDS - started))
  if [[ -z "$FILL_NOTE" ]]; then
    [[ $status -eq 0 ]] || {
      tail -n 20 "$WORK/demo.log" >&2
      if [[ $backend == mongo ]] && mongo_is_congodb && ! congodb_alive; then
        log "the CongoDB peer exited after ${FILL_S} s; it held ${last_stored:-?} events when last counted; its log ends:"
        tail -n 5 "$WORK/congodb.log" >&2
      fi
      die "$backend: cohort demo failed"
    }
    FILLED=$(sed -n 's/.* products and \([0-9]*\) events created.*/\1/p' "$WORK/demo.out")
  else
    FILLED=$(stored_events "$backend")
  fi
  [[ -n "$FILLED" && "$FILLED" -gt 0 ]] || die "$backend: no events stored ($(cat "$WORK/demo.out"))"
  log "$backend: $FILLED events in $FILL_S s ${FILL_NOTE:+($FILL_NOTE)}"
}

# Times GET $ROUTE $2 times on the running server after $1 warm-ups; appends the times (ms) to COHORT_TIMES and
# sets CATEGORIES (rows in the answer).
time_route() {
  local url="http://127.0.0.1:$COHORT_PORT$ROUTE" i out code ms
  for ((i = 0; i < $1 + $2; i++)); do
    out=$(curl -sS -o "$WORK/answer.json" -w '%{http_code} %{time_total}' --max-time 3600 "$url") ||
      die "GET $ROUTE failed"
    read -r code ms <<<"$out"
    [[ $code == 200 ]] || die "GET $ROUTE answered $code: $(head -c 300 "$WORK/answer.json")"
    if ((i >= $1)); then COHORT_TIMES+=" $(awk -v s="$ms" 'BEGIN { printf "%.1f", s * 1000 }')"; fi
  done
  CATEGORIES=$(grep -o '"category"' "$WORK/answer.json" | wc -l)
}

# Runs the reference statement $2 times after $1 warm-ups (sqlite and postgres only); appends to REF_TIMES and
# checks that it gives as many rows as Cohort's answer.
time_reference() {
  local out
  case $BACKEND in
    sqlite) out=$("$TOOLS/raw_insert_bench" query sqlite "$DATA_DIR/cohort.db" "$REFERENCE_SQL_SQLITE" "$1" "$2") ;;
    postgres) out=$("$TOOLS/raw_insert_bench" query postgres "$PG_URL" "$REFERENCE_SQL_POSTGRES" "$1" "$2") ;;
    *) return 0 ;;
  esac
  [[ $(field rows "$out") == "$CATEGORIES" ]] ||
    die "$BACKEND: Cohort answered $CATEGORIES categories, the reference $(field rows "$out")"
  REF_TIMES+=" $(field times_ms "$out" | tr ',' ' ')"
}

# "p50 max" of a list of times, or "- -".
p50_max() {
  if [[ -z "${1// /}" ]]; then echo "- -"; return 0; fi
  tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[NR] }'
}

main() {
  build_tools
  WORK=$(mktemp -d /tmp/cohort-bench-pipeline-XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  services_for "$BACKENDS"
  # Every request must run the pipeline: the response cache, where the binary has one, is switched off.
  COHORT_EXTRA_ENV=("COHORT_PIPELINE_TIMEOUT_MS=$PIPELINE_TIMEOUT_MS" "COHORT_CACHE_ENABLED=false")
  CACHE_NOTE=", response cache off (COHORT_CACHE_ENABLED=false)"
  STORE_ENV=()
  DATA_DIR=$WORK/probe
  mkdir -p "$DATA_DIR"
  if ! run_cohort migrate >/dev/null 2>&1; then # a binary without a cache refuses the setting
    COHORT_EXTRA_ENV=("COHORT_PIPELINE_TIMEOUT_MS=$PIPELINE_TIMEOUT_MS")
    CACHE_NOTE=""
  fi
  rm -rf "$DATA_DIR"

  local lines=() backend target users load1 p50 max ref_p50 ref_max ratio memory first second
  for backend in $BACKENDS; do
    target=$EVENTS
    if [[ $backend == mongo ]]; then
      if mongo_is_congodb; then target=${BENCH_MONGO_PIPELINE_EVENTS:-100000}; else target=${BENCH_MONGO_PIPELINE_EVENTS:-$EVENTS}; fi
    fi
    users=$(awk -v e="$target" -v r="$EVENTS_PER_USER" 'BEGIN { printf "%d", e / r + 0.5 }')
    load1=$(load_1m)
    log "$backend: cohort demo --users $users (~$target events; load $load1)"
    if [[ $backend == postgres ]]; then ensure_postgres; fi
    store_env "$backend" pipeline
    fill_store "$backend" "$users"

    # Two blocks, Cohort then the reference each time, so that a change of load weighs on both alike.
    BACKEND=$backend COHORT_TIMES="" REF_TIMES=""
    first=$((REQUESTS / 2)) second=$((REQUESTS - REQUESTS / 2))
    log "$backend: GET $ROUTE, $WARMUPS warm-ups, then $REQUESTS timed, with the reference in between"
    start_cohort "$backend-pipeline"
    time_route "$WARMUPS" "$first"
    time_reference "$WARMUPS" "$first"
    time_route 0 "$second"
    time_reference 1 "$second"
    stop_cohort
    memory=""
    if [[ $backend == mongo ]] && mongo_is_congodb; then memory=$(congodb_rss_mib); fi
    read -r p50 max <<<"$(p50_max "$COHORT_TIMES")"
    read -r ref_p50 ref_max <<<"$(p50_max "$REF_TIMES")"
    ratio=-
    if [[ $ref_p50 != - ]]; then ratio=$(awk -v a="$p50" -v b="$ref_p50" 'BEGIN { printf "%.2f", a / b }'); fi
    log "$backend: cohort ms:$COHORT_TIMES; reference ms:${REF_TIMES:- -}"
    log "$backend: $FILLED events (filled in $FILL_S s): cohort p50 $p50 ms, max $max ms; reference p50 $ref_p50 ms," \
      "max $ref_max ms; x ref $ratio"
    lines+=("$backend $target $FILLED $FILL_S $p50 $max $ref_p50 $ref_max $ratio $load1-$(load_1m) ${memory:--} ${FILL_NOTE// /_}")
    drop_backend_dbs
    rm -rf "$DATA_DIR"
  done

  echo
  echo "GET $ROUTE, $(date -u +%Y-%m-%dT%H:%MZ): $WARMUPS warm-ups, then $REQUESTS requests one after another" \
    "in two blocks, p50 and max of those; store filled by \`cohort demo --seed 42 --until $UNTIL\` (users = events / $EVENTS_PER_USER);" \
    "pipeline time limit ${PIPELINE_TIMEOUT_MS} ms for this run (default 5000)$CACHE_NOTE."
  echo "reference = the same aggregation as one hand-written SQL statement on the same store, by sqlite3 / libpq" \
    "directly, timed the same way in blocks between Cohort's; x ref = Cohort p50 / reference p50."
  printf "%-9s %9s %9s %7s %10s %10s %10s %10s %6s %11s %s\n" backend target events "fill s" "p50 ms" "max ms" \
    "ref p50" "ref max" "x ref" load1 note
  local line events fill note
  for line in "${lines[@]}"; do
    read -r backend target events fill p50 max ref_p50 ref_max ratio load1 memory note <<<"$line"
    note=${note//_/ }
    if [[ $memory != - ]]; then note="CongoDB RSS ${memory} MiB after the fill${note:+; $note}"; fi
    if awk -v p="$p50" 'BEGIN { exit !(p > 5000) }'; then note="past the default 5000 ms limit (504)${note:+; $note}"; fi
    printf "%-9s %9s %9s %7s %10s %10s %10s %10s %6s %11s %s\n" "$backend" "$target" "$events" "$fill" "$p50" \
      "$max" "$ref_p50" "$ref_max" "$ratio" "$load1" "$note"
  done
  echo "load after: $(uptime)"
  if [[ " $BACKENDS " == *" mongo "* ]]; then echo "mongo: $MONGO_KIND; no indexes are used by it (metadata only), every aggregation scans in JavaScript."; fi
  if [[ " $BACKENDS " == *" postgres "* ]]; then echo "postgres: the test cluster of scripts/test-services.sh ($(pg_settings))."; fi
}

main "$@"
