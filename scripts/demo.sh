#!/usr/bin/env bash
# index-pilot demo: runs the job locally against a throwaway PostgreSQL cluster.
#
#   1. builds the binary,
#   2. starts a private PostgreSQL on a free loopback port (removed on exit),
#   3. creates a `demo` database with indexes of several access methods,
#   4. records their baselines, bloats half of them, then runs the job in
#      dry-run mode and for real, and shows what it did.
#
# Usage: scripts/demo.sh        (no arguments; safe to run again)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

ROWS=200000

heading() {
    if [[ -t 1 ]]; then
        printf '\n\033[1m==> %s\033[0m\n' "$*"
    else
        printf '\n==> %s\n' "$*"
    fi
}

note() {
    printf '    %s\n' "$*"
}

WORK=""
stop_work_cluster_on_exit

psql_q() {
    psql -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"
}

# SQL for one demo table NAME: the same shape and indexes for "bloated" and "healthy".
table_sql() {
    local t="$1"
    cat <<EOF
CREATE TABLE $t (
    id       integer PRIMARY KEY,   -- btree on integer (${t}_pkey)
    code     text    NOT NULL,      -- btree on text
    tags     integer[] NOT NULL,    -- GIN
    location point   NOT NULL,      -- GiST
    bucket   integer NOT NULL       -- hash
);
INSERT INTO $t (id, code, tags, location, bucket)
SELECT i,
       md5(i::text),
       ARRAY[i, 1000000 + i % 1000],
       point(i % 1000, i / 1000),
       i
FROM generate_series(1, $ROWS) AS i;
CREATE INDEX ${t}_code_btree     ON $t USING btree (code);
CREATE INDEX ${t}_tags_gin       ON $t USING gin   (tags);
CREATE INDEX ${t}_location_gist  ON $t USING gist  (location);
CREATE INDEX ${t}_bucket_hash    ON $t USING hash  (bucket);
EOF
}

INDEX_SIZES_SQL="
SELECT c.relname                                   AS index,
       am.amname                                   AS method,
       pg_size_pretty(pg_relation_size(c.oid))     AS size,
       c.reltuples::bigint                         AS reltuples,
       round(pg_relation_size(c.oid) / greatest(1, c.reltuples)::numeric, 1) AS bytes_per_tuple
FROM pg_class c
JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind = 'i' AND c.relnamespace = 'public'::regnamespace
ORDER BY c.relname;"

# Kept after the demo ends (the cluster's files are not): the function's logs.
LOG_DIR="$INDEX_PILOT_ROOT/target/demo"
LOG="$LOG_DIR/index-pilot.log"

# Run the job with one of the sample events; its readable report on stdout, its
# (JSON) logs appended to $LOG.
invoke() {
    local mode="$1" event="events/$1.json"
    if [[ ! -f $event ]]; then
        die "$event is missing (the sample events live in events/)"
        return 1
    fi
    note "index-pilot invoke --event $event --format text   (logs: $LOG)"
    echo
    if ! AWS_LAMBDA_LOG_FORMAT=JSON target/debug/index-pilot invoke --event "$event" --format text \
        2>>"$LOG" | sed 's/^/    /'; then
        printf '\n--- last lines of %s ---\n' "$LOG" >&2
        tail -n 40 -- "$LOG" >&2 || true
        die "index-pilot invoke --event $event failed"
        return 1
    fi
}

heading "Checking system packages (PostgreSQL, jq, ...)"
ensure_system_packages
note "PostgreSQL binaries: $(pg_bin_dir)"

heading "Building index-pilot (cargo build --bin index-pilot)"
cargo build --bin index-pilot

mkdir -p -- "$LOG_DIR"
: >"$LOG"

heading "Starting a throwaway PostgreSQL cluster"
WORK="$(mktemp -d -t index-pilot-demo.XXXXXX)"
start_throwaway_cluster "$WORK"
note "listening on 127.0.0.1:$PGPORT, files in $WORK (removed on exit)"

heading "Creating databases index_pilot_control (control DB) and demo (target)"
createdb index_pilot_control
createdb demo

heading "Filling demo: tables 'bloated' and 'healthy', $ROWS rows each, with btree, GIN, GiST and hash indexes"
{
    table_sql bloated
    table_sql healthy
    echo "VACUUM ANALYZE;"
} | psql_q -d demo
psql_q -d demo -c "$INDEX_SIZES_SQL"

export INDEX_PILOT_CONTROL_URL="postgresql://postgres@127.0.0.1:$PGPORT/index_pilot_control"
export INDEX_PILOT_TARGETS='[{"name":"demo","url":"postgresql://postgres@127.0.0.1:'"$PGPORT"'/demo"}]'
note "INDEX_PILOT_CONTROL_URL=$INDEX_PILOT_CONTROL_URL"
note "INDEX_PILOT_TARGETS=$INDEX_PILOT_TARGETS"

heading "Recording baselines (mode baseline): each index's bytes per tuple as built"
invoke baseline

heading "Lowering index_size_threshold to 1MB in the control DB (the demo tables are small)"
psql_q -d index_pilot_control -c \
    "INSERT INTO index_pilot.settings (key, value, comment) VALUES ('index_size_threshold', '1MB', 'demo: small tables');"

heading "Bloating table 'bloated': deleting 60% of its rows, then VACUUM ANALYZE"
note "index files keep their size while their tuple count drops: bytes per tuple rise 2.5x"
psql_q -d demo <<'EOF'
DELETE FROM bloated WHERE id % 5 < 3;
VACUUM ANALYZE bloated;
EOF
psql_q -d demo -c "$INDEX_SIZES_SQL"

heading "Dry run (mode dry_run): what would be rebuilt, without touching anything"
invoke dry-run

heading "Run (mode run): REINDEX INDEX CONCURRENTLY on the bloated indexes"
invoke run

heading "Where each index stands, and why (index_pilot.current_bloat in the control DB)"
psql_q -d index_pilot_control -c \
    "SELECT index, access_method, size, estimated_bloat, candidate, why
     FROM index_pilot.current_bloat WHERE index NOT LIKE 'pg_toast.%'"

heading "Reindex history in the control DB (index_pilot.history)"
psql_q -d index_pilot_control -c \
    'SELECT index, access_method, status, estimated_bloat, size_before, size_after, duration
     FROM index_pilot.history'

heading "What it did, per target and day (index_pilot.target_totals)"
psql_q -d index_pilot_control -c \
    'SELECT target, database_name, day, rebuilds_completed, rebuilds_failed, reclaimed, quarantined
     FROM index_pilot.target_totals'

heading "Done. The throwaway cluster is being removed; the logs stay in $LOG"
