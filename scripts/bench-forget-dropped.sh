#!/usr/bin/env bash
# Times the statement that forgets dropped indexes (src/control/sql/forget_dropped_indexes.sql)
# on a throwaway PostgreSQL cluster: ROWS rows of index_state for one database against
# as many oids seen by the scan (1 % of the rows dropped, as many new indexes seen).
#
# The statement runs as a generic plan (a PREPAREd statement under
# plan_cache_mode = force_generic_plan): the oid array is then a parameter, not a
# constant, so no server version can hash `<> ALL ($3)`, which is what PostgreSQL 13
# and 14 do with every plan (14 hashes only `= ANY`, 15 also `<> ALL`, and only over a
# constant array).
#
# Usage: scripts/bench-forget-dropped.sh [SQL_FILE...]
#        (default: src/control/sql/forget_dropped_indexes.sql; ROWS=100000 REPEAT=3;
#        PLAN_CACHE_MODE=force_custom_plan plans with the oids known, as index-pilot's
#        own one-off statements are planned)
# To compare with an earlier form of the statement:
#        git show REV:src/control/sql/forget_dropped_indexes.sql >/tmp/before.sql
#        scripts/bench-forget-dropped.sh /tmp/before.sql src/control/sql/forget_dropped_indexes.sql
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${ROWS:-100000}"
REPEAT="${REPEAT:-3}"
PLAN_CACHE_MODE="${PLAN_CACHE_MODE:-force_generic_plan}"
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=("$INDEX_PILOT_ROOT/src/control/sql/forget_dropped_indexes.sql")
for file in "${files[@]}"; do
    [[ -r $file ]] || die "cannot read $file"
done

WORK=""
stop_work_cluster_on_exit

psql_q() {
    psql -X -q -v ON_ERROR_STOP=1 -P pager=off -d control "$@"
}

# Short: the cluster's unix socket lives in it.
WORK="$(mktemp -d /tmp/ip-bench.XXXXXX)"
log_step "Starting a throwaway PostgreSQL cluster in $WORK"
start_throwaway_cluster "$WORK"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE control'
log_info "$(psql_q -Atc 'SELECT version()')"

log_step "Control schema from src/control/migrations, $ROWS rows of index_state"
{
    echo 'BEGIN; CREATE SCHEMA index_pilot;'
    cat "$INDEX_PILOT_ROOT"/src/control/migrations/*.sql
    echo 'COMMIT;'
} | psql_q
psql_q -v rows="$ROWS" <<'SQL'
INSERT INTO index_pilot.index_state (target, database_name, database_oid, index_oid,
    schema_name, table_name, index_name, access_method, size_bytes, reltuples, ratio, best_ratio)
SELECT 'bench', 'app', 16384, 100000 + i, 'public', 't' || i / 10, 'i' || i, 'btree',
       8192 * i, i, 8192, 8192
FROM generate_series(1, :rows) AS i;
VACUUM ANALYZE index_pilot.index_state;
SQL

# Prepares the statement in FILE as `forget`, under PLAN_CACHE_MODE; then the seen
# oids as the psql variable `seen`: every row's oid but each 100th, and as many new ones.
setup_sql() {
    cat <<SQL
SET plan_cache_mode = $PLAN_CACHE_MODE;
PREPARE forget(text, oid, oid[]) AS
$(cat -- "$1")
SELECT array_agg(o)::text AS seen
FROM (SELECT 100000 + i AS o FROM generate_series(1, $ROWS) AS i WHERE i % 100 <> 0
      UNION ALL
      SELECT 100000 + $ROWS + i FROM generate_series(1, $ROWS / 100) AS i) AS s \gset
SQL
}

for file in "${files[@]}"; do
    log_step "$file"
    sed 's/^/    /' -- "$file" >&2
    # A custom plan spells out the 100,000 oids: long lines are cut.
    log_step "EXPLAIN (ANALYZE, TIMING OFF) under plan_cache_mode = $PLAN_CACHE_MODE"
    {
        setup_sql "$file"
        cat <<'SQL'
BEGIN;
EXPLAIN (ANALYZE, TIMING OFF) EXECUTE forget('bench', 16384, :'seen');
ROLLBACK;
SQL
    } | psql_q | awk '{ if (length($0) > 200) print substr($0, 1, 200) " …"; else print }'
    log_step "Wall time of EXECUTE (each rolled back), $REPEAT runs"
    {
        setup_sql "$file"
        for _ in $(seq "$REPEAT"); do
            cat <<'SQL'
BEGIN;
\timing on
EXECUTE forget('bench', 16384, :'seen');
\timing off
ROLLBACK;
SQL
        done
    } | psql_q | grep '^Time:' >&2
done
