#!/usr/bin/env bash
# Times index-pilot at fleet scale on throwaway PostgreSQL clusters (the system's
# PostgreSQL, as `nobody` when run as root), against the statements it stands on:
#
#   fleets       databases of 42,000 and 117,000 small indexes (7 per table, TOAST
#                indexes included; nothing to rebuild): the bare catalog query
#                (psql), `dry_run`, and an idle `run` (after one warm-up run, the
#                control database knows every index), interleaved round by round;
#   cold start   a database of one index, dry_run, sslmode prefer (the default;
#                the server has no TLS) and disable, beside `psql -c 'SELECT 1'`;
#   rebuild      `REINDEX INDEX CONCURRENTLY` through psql against mode `reindex`,
#                on identical bloated copies of one table, alternating the copies;
#   concurrency  20 databases on 2 clusters as 20 targets of one invocation,
#                dry_run and idle run, INDEX_PILOT_PARALLEL_TARGETS=8 against 1.
#
# It reports medians (wall time, CPU of the measured process, server CPU: what the
# backends used, and peak RSS) as Markdown, printed and written to BENCH_OUT, with
# index-pilot's statements that took a second or more (from the server logs). Beside
# it: the raw measurements (measurements.tsv), the slow statements
# (slow-statements.tsv), what went wrong (problems.txt) and each measure's last
# output and log (last/). Takes about 15 minutes on 2 vCPUs with the defaults (at
# dac560c, nearly 10 of them in the first run over 117,000 indexes).
#
# Usage: scripts/bench.sh        (no arguments; every knob is an environment variable)
#   ROUNDS=5                rounds of each interleaved measure
#   FLEETS=42k,117k         fleets to time, by index count: NNk gives NN,000 / 7
#                           tables rounded to 100 (empty: none)
#   REBUILD_ROWS=1800000    rows of each bloated copy (its index: about 100 MB)
#   CONC_DATABASES=10       databases per cluster for the concurrency phase
#   CONC_TABLES=300         tables (x 7 indexes) in each of them
#   ANALYZE_CONTROL=1       ANALYZE the control database after each warm-up run (0:
#                           time idle runs on the statistics it happens to have)
#   SKIP_COLD_START=1, SKIP_REBUILD=1, SKIP_CONCURRENCY=1   leave a phase out
#   INDEX_PILOT_BIN=PATH    the binary to time (default: cargo build --release)
#   BENCH_OUT=target/bench/summary.md
#   BENCH_DIR=DIR KEEP=1    build the clusters in DIR and keep them; a later run with
#                           BENCH_DIR=DIR starts them again and builds only what is
#                           missing (a directory that held clusters is always kept)
set -euo pipefail
export LC_ALL=C

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench-lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/bench-lib.sh"
cd -- "$INDEX_PILOT_ROOT"

ROUNDS="${ROUNDS:-5}"
FLEETS="${FLEETS-42k,117k}"
REBUILD_ROWS="${REBUILD_ROWS:-1800000}"
CONC_DATABASES="${CONC_DATABASES:-10}"
CONC_TABLES="${CONC_TABLES:-300}"
ANALYZE_CONTROL="${ANALYZE_CONTROL:-1}"
BENCH_OUT="${BENCH_OUT:-$INDEX_PILOT_ROOT/target/bench/summary.md}"
for knob in ROUNDS REBUILD_ROWS CONC_DATABASES CONC_TABLES; do
    [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, not '${!knob}'"
done
for spec in ${FLEETS//,/ }; do
    [[ $spec =~ ^[1-9][0-9]*k$ ]] || die "FLEETS: '$spec' is not a count like 42k"
done

# Only what this script sets reaches the binary.
for var in $(compgen -e); do
    case "$var" in
        INDEX_PILOT_BIN | INDEX_PILOT_PG_BIN | INDEX_PILOT_ROOT) ;;
        INDEX_PILOT_*) unset "$var" ;;
    esac
done

OUT_DIR="$(dirname -- "$BENCH_OUT")"
LAST_DIR="$OUT_DIR/last"
MEASUREMENTS="$OUT_DIR/measurements.tsv"
PROBLEMS="$OUT_DIR/problems.txt"
SLOW="$OUT_DIR/slow-statements.tsv"
mkdir -p -- "$LAST_DIR"
: >"$MEASUREMENTS"
: >"$PROBLEMS"
: >"$SLOW"
ROUND=0
BENCH_POSTMASTERS=()
PHASES=()
SCRIPT_T0=$EPOCHREALTIME

# phase_done NAME T0: records how long a phase took, and what the servers logged.
phase_done() {
    local took
    took="$(elapsed_since "$2")"
    scan_server_logs "$1"
    PHASES+=("$1|$took|$(cut -d ' ' -f 1 /proc/loadavg)")
    log_info "$1: $took s"
}

log_step "System packages"
extra=()
[[ -x /usr/bin/time ]] || extra+=(time)
ensure_system_packages "${extra[@]}"

if [[ -n ${INDEX_PILOT_BIN:-} ]]; then
    PILOT="$(realpath -- "$INDEX_PILOT_BIN")"
    BUILT_BY="given by INDEX_PILOT_BIN"
else
    log_step "Building index-pilot (cargo build --release)"
    t0=$EPOCHREALTIME
    cargo build --release --bin index-pilot
    PILOT="$(realpath -- "${CARGO_TARGET_DIR:-$INDEX_PILOT_ROOT/target}/release/index-pilot")"
    BUILT_BY="cargo build --release"
    phase_done "cargo build --release" "$t0"
fi
[[ -x $PILOT ]] || die "$PILOT is not an executable"
REV="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
SRC_REV="$(git log -1 --format=%h --abbrev=12 -- src Cargo.toml Cargo.lock 2>/dev/null || true)"
[[ -z $SRC_REV || $SRC_REV == "$REV" ]] || REV="$REV (src/ last changed in $SRC_REV)"
if [[ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
    REV="$REV (with uncommitted changes)"
fi

# --- clusters -------------------------------------------------------------------

KEEP_DIR=0
MADE_DIR=0
if [[ -n ${BENCH_DIR:-} ]]; then
    mkdir -p -- "$BENCH_DIR"
    [[ -e $BENCH_DIR/c1/data ]] && KEEP_DIR=1
else
    # Short: the clusters' unix sockets live in it.
    BENCH_DIR="$(mktemp -d /tmp/ip-bench.XXXXXX)"
    MADE_DIR=1
fi
[[ ${KEEP:-0} == 1 ]] && KEEP_DIR=1
BENCH_DIR="$(cd -- "$BENCH_DIR" && pwd -P)"
chmod 755 "$BENCH_DIR"   # the cluster owner (nobody, under root) must get in
CLUSTERS=()

stop_clusters() {
    local rc=$? dir
    trap - EXIT INT TERM
    for dir in "${CLUSTERS[@]}"; do
        if (( KEEP_DIR )); then
            cluster_stop "$dir" || true
        else
            stop_throwaway_cluster "$dir" || true
        fi
    done
    if (( KEEP_DIR )); then
        log_info "clusters kept in $BENCH_DIR: rerun with BENCH_DIR=$BENCH_DIR"
    elif (( MADE_DIR )); then
        rmdir -- "$BENCH_DIR" 2>/dev/null || true
    fi
    exit "$rc"
}
trap stop_clusters EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log_step "PostgreSQL cluster in $BENCH_DIR/c1"
CLUSTERS+=("$BENCH_DIR/c1")
cluster_up "$BENCH_DIR/c1"
C1_PORT="$PGPORT"
BENCH_POSTMASTERS+=("$(cluster_postmaster "$BENCH_DIR/c1")")
PG_VERSION="$(pq "$C1_PORT" postgres -Atc 'SHOW server_version')"
log_info "PostgreSQL $PG_VERSION on 127.0.0.1:$C1_PORT"

export INDEX_PILOT_CONTROL_URL="postgresql://postgres@127.0.0.1:$C1_PORT/control"
export INDEX_PILOT_BUDGET=10m

# Every phase starts with an empty control database (index-pilot migrates it).
fresh_control() {
    pq "$C1_PORT" postgres -c 'DROP DATABASE IF EXISTS control WITH (FORCE)' -c 'CREATE DATABASE control'
}

# After the warm-up run: the statistics autovacuum gives the control database between
# two scheduled runs (without them, the planner takes the new rows for none).
analyze_control() {
    [[ $ANALYZE_CONTROL == 1 ]] || return 0
    pq "$C1_PORT" control -c 'ANALYZE'
}

# target_json NAME PORT DATABASE
target_json() {
    jq -nc --arg name "$1" --arg url "postgresql://postgres@127.0.0.1:$2/$3" '[{name: $name, url: $url}]'
}

# pilot PHASE LABEL TARGETS EVENT [VAR=VALUE...]: one timed `index-pilot invoke`.
pilot() {
    local phase="$1" label="$2" targets="$3" event="$4"
    shift 4
    local file="$LAST_DIR/$phase.$label.event.json"
    printf '%s\n' "$event" >"$file"
    measure "$phase" "$label" env INDEX_PILOT_TARGETS="$targets" "$@" "$PILOT" invoke --event "$file"
}

FLOOR_SQL='select x.indexrelid, pg_relation_size(x.indexrelid), c.reltuples from pg_index x join pg_class c on c.oid = x.indexrelid'
declare -A FLEET_INFO=()

# --- fleets ---------------------------------------------------------------------

for spec in ${FLEETS//,/ }; do
    count="${spec%k}"
    hundreds=$(( (count * 20 + 7) / 14 ))   # count * 1000 / 7 / 100, rounded
    tables=$(( hundreds * 100 ))
    db="fleet$spec"
    log_step "Fleet $db: $tables tables x 7 indexes"
    t0=$EPOCHREALTIME
    if fleet_is_built "$C1_PORT" "$db" "$tables"; then
        log_info "reusing $db from $BENCH_DIR"
    else
        build_fleet "$C1_PORT" "$db" "$tables"
    fi
    phase_done "build $db" "$t0"
    read -r total user toast min_size max_size < <(fleet_counts "$C1_PORT" "$db")
    log_info "pg_index: $total rows, $user on the fleet's tables ($toast TOAST), each $min_size to $max_size bytes"
    (( user == tables * 7 )) || die "$db has $user indexes on its tables, expected $(( tables * 7 ))"
    FLEET_INFO[$db]="$tables tables; pg_index: $total rows, $user of them on the fleet's tables ($toast TOAST indexes), each $(( min_size / 1024 )) to $(( max_size / 1024 )) kB"

    t0=$EPOCHREALTIME
    fresh_control
    targets="$(target_json bench "$C1_PORT" "$db")"
    ROUND=-1
    pilot "$db" first_run "$targets" '{"mode":"run"}'
    check_report "$LAST_DIR/$db.first_run.out" run 1 "$user" 0 0
    log_info "warm-up run (the control database learns every index): $(last_wall "$db" first_run)"
    analyze_control
    ROUND=0
    measure "$db" floor psql -X -At -h 127.0.0.1 -p "$C1_PORT" -U postgres -d "$db" -o /dev/null -c "$FLOOR_SQL"
    pilot "$db" dry_run "$targets" '{"mode":"dry_run"}'
    for (( ROUND = 1; ROUND <= ROUNDS; ROUND++ )); do
        measure "$db" floor psql -X -At -h 127.0.0.1 -p "$C1_PORT" -U postgres -d "$db" -o /dev/null -c "$FLOOR_SQL"
        pilot "$db" dry_run "$targets" '{"mode":"dry_run"}'
        check_report "$LAST_DIR/$db.dry_run.out" dry_run 1 "$user" 0 0
        pilot "$db" idle_run "$targets" '{"mode":"run"}'
        check_report "$LAST_DIR/$db.idle_run.out" run 1 "$user" 0 0
        log_info "round $ROUND: floor $(last_wall "$db" floor), dry_run $(last_wall "$db" dry_run), idle run $(last_wall "$db" idle_run)"
    done
    phase_done "time $db" "$t0"
done

# --- cold start -----------------------------------------------------------------

if [[ ${SKIP_COLD_START:-0} != 1 ]]; then
    log_step "Cold start: one database of one index"
    t0=$EPOCHREALTIME
    if ! fleet_is_built "$C1_PORT" tiny 1; then
        pq "$C1_PORT" postgres -c 'DROP DATABASE IF EXISTS tiny' -c 'CREATE DATABASE tiny'
        pq "$C1_PORT" tiny -c 'CREATE TABLE one (id int PRIMARY KEY)' -c 'INSERT INTO one VALUES (1)' -c 'VACUUM ANALYZE one'
        pq "$C1_PORT" postgres -c "COMMENT ON DATABASE tiny IS '$(fleet_marker 1)'"
    fi
    fresh_control
    targets="$(target_json tiny "$C1_PORT" tiny)"
    for (( ROUND = 0; ROUND <= ROUNDS; ROUND++ )); do   # round 0: the warm-up
        measure cold psql psql -X -At -h 127.0.0.1 -p "$C1_PORT" -U postgres -d tiny -o /dev/null -c 'SELECT 1'
        pilot cold prefer "$targets" '{"mode":"dry_run"}'
        check_report "$LAST_DIR/cold.prefer.out" dry_run 1 1 0 0
        pilot cold disable "$targets" '{"mode":"dry_run"}' INDEX_PILOT_SSLMODE=disable
        check_report "$LAST_DIR/cold.disable.out" dry_run 1 1 0 0
        log_info "round $ROUND: psql $(last_wall cold psql), prefer $(last_wall cold prefer), disable $(last_wall cold disable)"
    done
    phase_done "cold start" "$t0"
fi

# --- rebuild --------------------------------------------------------------------

if [[ ${SKIP_REBUILD:-0} != 1 ]]; then
    copies=$(( 2 * ROUNDS ))
    log_step "Rebuild: $copies identical bloated copies of $REBUILD_ROWS rows"
    t0=$EPOCHREALTIME
    # Rebuilt by the last run: always made again.
    pq "$C1_PORT" postgres -c 'DROP DATABASE IF EXISTS rebuild WITH (FORCE)' -c 'CREATE DATABASE rebuild'
    pq "$C1_PORT" rebuild <<'SQL'
-- One bloated copy: the index built over every row, then 2 rows in 3 deleted. The
-- same statements in the same order give the same pages; no autovacuum in between.
CREATE FUNCTION bloated_copy(name text, nrows int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (id int NOT NULL, t text NOT NULL) WITH (autovacuum_enabled = off)', name);
    EXECUTE format('INSERT INTO %I SELECT i, md5(i::text) FROM generate_series(1, %s) AS i', name, nrows);
    EXECUTE format('CREATE INDEX %I ON %I (t)', name || '_idx', name);
    EXECUTE format('DELETE FROM %I WHERE id %% 3 <> 0', name);
END
$$;
SQL
    for (( k = 1; k <= copies; k++ )); do
        pq "$C1_PORT" rebuild -o /dev/null -c "SELECT bloated_copy('rb_$k', $REBUILD_ROWS)" -c "VACUUM ANALYZE rb_$k"
    done
    read -r distinct_sizes rb_size rb_table < <(pq "$C1_PORT" rebuild -AtF ' ' -c "
        SELECT count(DISTINCT pg_relation_size(indexrelid)), max(pg_relation_size(indexrelid)),
               max(pg_relation_size(indrelid))
        FROM pg_index WHERE indexrelid::regclass::text LIKE 'rb\_%\_idx'")
    (( distinct_sizes == 1 )) || log_info "warning: the copies' indexes differ in size"
    REBUILD_INFO="$copies copies of $REBUILD_ROWS rows (int, md5 text), a third left: index $(( rb_size / 1048576 )) MiB, table $(( rb_table / 1048576 )) MiB each"
    log_info "$REBUILD_INFO (built in $(elapsed_since "$t0") s)"
    fresh_control
    targets="$(target_json rb "$C1_PORT" rebuild)"
    : >"$OUT_DIR/rebuild-ms.txt"
    ROUND=0
    pilot rebuild warmup "$targets" '{"mode":"dry_run"}'
    for (( ROUND = 1; ROUND <= ROUNDS; ROUND++ )); do
        # Odd rounds: psql first, on the odd copy; even rounds: index-pilot first.
        for turn in 1 2; do
            idx="rb_$(( 2 * ROUND - 2 + turn ))_idx"
            if (( (ROUND + turn) % 2 == 0 )); then
                raw_idx="$idx"
                measure rebuild raw psql -X -q -h 127.0.0.1 -p "$C1_PORT" -U postgres -d rebuild \
                    -c "REINDEX INDEX CONCURRENTLY $idx"
                raw_after="$(pq "$C1_PORT" rebuild -Atc "SELECT pg_relation_size('$idx')")"
            else
                pilot_idx="$idx"
                pilot rebuild pilot "$targets" \
                    "{\"mode\":\"reindex\",\"targets\":[\"rb\"],\"index\":\"public.$idx\",\"force\":true}"
                check_report "$LAST_DIR/rebuild.pilot.out" reindex 1 -1 -1 1
                jq -s '.[0].targets[0].reindexed[0].duration_ms' "$LAST_DIR/rebuild.pilot.out" >>"$OUT_DIR/rebuild-ms.txt"
            fi
        done
        log_info "round $ROUND: psql on $raw_idx $(last_wall rebuild raw) (-> $(( raw_after / 1048576 )) MiB)," \
            "index-pilot on $pilot_idx $(last_wall rebuild pilot)" \
            "(-> $(jq -s '.[0].targets[0].reindexed[0].size_after / 1048576 | floor' "$LAST_DIR/rebuild.pilot.out") MiB)"
    done
    REBUILD_MS="$(sort -n "$OUT_DIR/rebuild-ms.txt" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    phase_done "rebuild" "$t0"
fi

# --- concurrency ----------------------------------------------------------------

if [[ ${SKIP_CONCURRENCY:-0} != 1 ]]; then
    log_step "Concurrency: 2 clusters x $CONC_DATABASES databases of $CONC_TABLES tables"
    t0=$EPOCHREALTIME
    CLUSTERS+=("$BENCH_DIR/c2")
    cluster_up "$BENCH_DIR/c2"
    C2_PORT="$PGPORT"
    BENCH_POSTMASTERS+=("$(cluster_postmaster "$BENCH_DIR/c2")")
    for port in "$C1_PORT" "$C2_PORT"; do
        fleet_is_built "$port" conc_template "$CONC_TABLES" || build_fleet "$port" conc_template "$CONC_TABLES"
        for (( i = 1; i <= CONC_DATABASES; i++ )); do
            db="$(printf 'conc_%02d' "$i")"
            fleet_is_built "$port" "$db" "$CONC_TABLES" && continue
            pq "$port" postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE conc_template" \
                -c "COMMENT ON DATABASE $db IS '$(fleet_marker "$CONC_TABLES")'"
        done
    done
    # Both clusters' databases in turn: c1/conc_01, c2/conc_01, c1/conc_02, ...
    targets="$(jq -nc --argjson n "$CONC_DATABASES" --arg p1 "$C1_PORT" --arg p2 "$C2_PORT" '
        [range(1; $n + 1) as $i | ($i | tostring | if length < 2 then "0" + . else . end) as $d
         | ({name: "c1_\($d)", url: "postgresql://postgres@127.0.0.1:\($p1)/conc_\($d)"},
            {name: "c2_\($d)", url: "postgresql://postgres@127.0.0.1:\($p2)/conc_\($d)"})]')"
    conc_targets=$(( 2 * CONC_DATABASES ))
    conc_indexes=$(( conc_targets * CONC_TABLES * 7 ))
    CONC_INFO="$conc_targets targets (databases) on 2 clusters, $CONC_TABLES tables x 7 indexes each: $conc_indexes indexes"
    log_info "$CONC_INFO (ready in $(elapsed_since "$t0") s)"
    phase_done "build concurrency databases" "$t0"
    t0=$EPOCHREALTIME
    fresh_control
    ROUND=-1
    pilot conc first_run "$targets" '{"mode":"run"}'
    check_report "$LAST_DIR/conc.first_run.out" run "$conc_targets" "$conc_indexes" 0 0
    analyze_control
    ROUND=0
    pilot conc dry_p8 "$targets" '{"mode":"dry_run"}' INDEX_PILOT_PARALLEL_TARGETS=8
    for (( ROUND = 1; ROUND <= ROUNDS; ROUND++ )); do
        for par in 8 1; do
            pilot conc "dry_p$par" "$targets" '{"mode":"dry_run"}' INDEX_PILOT_PARALLEL_TARGETS=$par
            check_report "$LAST_DIR/conc.dry_p$par.out" dry_run "$conc_targets" "$conc_indexes" 0 0
        done
        for par in 8 1; do
            pilot conc "run_p$par" "$targets" '{"mode":"run"}' INDEX_PILOT_PARALLEL_TARGETS=$par
            check_report "$LAST_DIR/conc.run_p$par.out" run "$conc_targets" "$conc_indexes" 0 0
        done
        log_info "round $ROUND: dry_run 8 $(last_wall conc dry_p8), 1 $(last_wall conc dry_p1);" \
            "idle run 8 $(last_wall conc run_p8), 1 $(last_wall conc run_p1)"
    done
    phase_done "time concurrency" "$t0"
fi

# --- summary --------------------------------------------------------------------

phase_done "whole script" "$SCRIPT_T0"
write_summary >"$BENCH_OUT"
log_step "Summary (also in $BENCH_OUT; measurements in $MEASUREMENTS)"
cat -- "$BENCH_OUT"
