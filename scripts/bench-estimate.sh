#!/usr/bin/env bash
# How right index-pilot is about bloat it has never seen: a throwaway cluster with
# indexes of every kind (btree on int, bigint, uuid, text, several columns, partial,
# expression, with NULLs and with repeated keys; GIN; GiST; hash) bloated from 1.0x
# to 5x by deletes, updates and random inserts. For each index:
#
#   estimate   what a dry run with no history says (initial_baseline = estimate,
#              nothing confirmed), and how the baseline was made;
#   confirmed  the same with every candidate confirmed (confirm_size_threshold 1MB:
#              pgstatindex for btree, ANALYZE where statistics are stale);
#   truth      the index's size over its size after REINDEX.
#
# A decision is right when "a candidate" says what "true bloat >= threshold" says. It prints a Markdown summary (and writes it to BENCH_OUT) with
# every index, the share of right decisions, and the btree estimates' errors.
#
# Then scripts/bench-estimate-vector.sh does the same for pgvector's HNSW and IVFFlat
# on a server with pgvector (its own summary, in BENCH_OUT's directory).
#
# Usage: scripts/bench-estimate.sh     (no arguments; knobs are environment variables)
#   ROWS=300000       rows of each table
#   THRESHOLD=2       index_rebuild_scale_factor
#   VECTOR=1          0: leave out the pgvector indexes
#   INDEX_PILOT_BIN   the binary (default: cargo build, target/debug/index-pilot)
#   BENCH_OUT=target/bench/estimate.md
set -euo pipefail
export LC_ALL=C

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

ROWS="${ROWS:-300000}"
THRESHOLD="${THRESHOLD:-2}"
BENCH_OUT="${BENCH_OUT:-$INDEX_PILOT_ROOT/target/bench/estimate.md}"
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive integer, not '$ROWS'"
[[ $THRESHOLD =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "THRESHOLD must be a number, not '$THRESHOLD'"
VECTOR="${VECTOR:-1}"
[[ $VECTOR == 0 || $VECTOR == 1 ]] || die "VECTOR must be 0 or 1, not '$VECTOR'"

# Each treatment is a database holding the same table and indexes.
TREATMENTS=(fresh random_inserts delete_40 update_30 delete_60 update_all_twice delete_80)

psql_q() {
    psql -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"
}

# The table and its indexes. INSERT_ORDER: the rows go in by id (the indexes are then
# built over them), or in random order into the indexes already made (their pages
# split as inserts arrive, as an OLTP table's do).
table_sql() {
    local insert_order="$1"
    local rows="SELECT g, g::bigint * 7919, md5(g::text)::uuid, md5(g::text),
       repeat('x', g % 40) || g, g % 100,
       CASE WHEN g % 4 = 0 THEN NULL ELSE g END,
       point(random() * 1000, random() * 1000), int4range(g, g + 1 + g % 50),
       ARRAY[g % 50, g % 77, g % 13],
       to_tsvector('simple', 'w' || (g % 1000) || ' x' || (g % 37) || ' y' || g)
FROM generate_series(1, $ROWS) AS s(g)"
    cat <<EOF
CREATE EXTENSION pgstattuple;
CREATE TABLE t (
    id int NOT NULL, big bigint NOT NULL, u uuid NOT NULL, code text NOT NULL,
    name text NOT NULL, grp int NOT NULL, maybe int, p point NOT NULL,
    r int4range NOT NULL, tags int[] NOT NULL, doc tsvector NOT NULL
);
EOF
    [[ $insert_order == by_id ]] && echo "INSERT INTO t $rows ORDER BY s.g;"
    cat <<EOF
CREATE INDEX t_id ON t (id);
CREATE UNIQUE INDEX t_big ON t (big);
CREATE INDEX t_u ON t (u);
CREATE INDEX t_code ON t (code);
CREATE INDEX t_name ON t (name);
CREATE INDEX t_grp ON t (grp);
CREATE INDEX t_grp_id ON t (grp, id);
CREATE INDEX t_maybe ON t (maybe);
CREATE INDEX t_partial ON t (id) WHERE grp < 30;
CREATE INDEX t_lower ON t (lower(code));
CREATE INDEX t_id_hash ON t USING hash (id);
CREATE INDEX t_p ON t USING gist (p);
CREATE INDEX t_r ON t USING gist (r);
CREATE INDEX t_tags ON t USING gin (tags);
CREATE INDEX t_doc ON t USING gin (doc);
EOF
    [[ $insert_order == random ]] && echo "INSERT INTO t $rows ORDER BY random();"
    return 0
}

# What makes each treatment's bloat (then VACUUM ANALYZE). An update that changes an
# indexed column is never HOT: every index gets a new entry beside the old one, and
# VACUUM later removes the old.
treatment_sql() {
    case "$1" in
        fresh | random_inserts) ;;
        delete_40) echo "DELETE FROM t WHERE id % 10 < 4;" ;;
        delete_60) echo "DELETE FROM t WHERE id % 10 < 6;" ;;
        delete_80) echo "DELETE FROM t WHERE id % 10 < 8;" ;;
        update_30) echo "UPDATE t SET grp = grp WHERE id % 10 < 3;" ;;
        # Two versions more of every row before VACUUM sees any.
        update_all_twice) echo "UPDATE t SET grp = grp; UPDATE t SET grp = grp;" ;;
    esac
}

[[ -n ${INDEX_PILOT_BIN:-} ]] || {
    log_step "cargo build --bin index-pilot"
    cargo build --bin index-pilot
    INDEX_PILOT_BIN="$INDEX_PILOT_ROOT/target/debug/index-pilot"
}
ensure_system_packages
WORK="$(mktemp -d -t index-pilot-estimate.XXXXXX)"
stop_work_cluster_on_exit
start_throwaway_cluster "$WORK"
log_step "Cluster on 127.0.0.1:$PGPORT; $ROWS rows per table, ${#TREATMENTS[@]} treatments"

for treatment in "${TREATMENTS[@]}"; do
    createdb "$treatment"
    insert_order="by_id"
    [[ $treatment == random_inserts ]] && insert_order="random"
    { table_sql "$insert_order"; treatment_sql "$treatment"; } | psql_q -d "$treatment"
    psql_q -d "$treatment" -c "VACUUM ANALYZE t"
    log_info "$treatment: built"
done

databases="$(printf '"%s",' "${TREATMENTS[@]}")"
export INDEX_PILOT_TARGETS='[{"name":"bench","url":"postgresql://postgres@127.0.0.1:'"$PGPORT"'/postgres","databases":['"${databases%,}"']}]'
export INDEX_PILOT_BUDGET=30m

# dry_run with a control database of its own: nothing known, the given settings.
dry_run() {
    local control="$1" confirm="$2"
    createdb "$control"
    # A dry run of an empty database makes the control schema.
    INDEX_PILOT_CONTROL_URL="postgresql://postgres@127.0.0.1:$PGPORT/$control" \
        INDEX_PILOT_TARGETS='[{"name":"schema","url":"postgresql://postgres@127.0.0.1:'"$PGPORT"'/postgres"}]' \
        "$INDEX_PILOT_BIN" invoke --event events/dry-run.json >/dev/null 2>"$WORK/$control.log"
    psql_q -d "$control" <<EOF
INSERT INTO index_pilot.settings (key, value) VALUES
    ('index_size_threshold', '128kB'),
    ('index_rebuild_scale_factor', '$THRESHOLD'),
    ('confirm_size_threshold', '$confirm');
EOF
    INDEX_PILOT_CONTROL_URL="postgresql://postgres@127.0.0.1:$PGPORT/$control" \
        "$INDEX_PILOT_BIN" invoke --event events/dry-run.json >"$WORK/$control.json" 2>>"$WORK/$control.log"
}
log_step "Dry run, nothing confirmed"
dry_run estimate off
log_step "Dry run, every candidate of 1MB or more confirmed"
dry_run confirmed 1MB

log_step "The truth: REINDEX every index"
: >"$WORK/truth.tsv"
for treatment in "${TREATMENTS[@]}"; do
    psql_q -d "$treatment" -At -F $'\t' >>"$WORK/truth.tsv" <<EOF
CREATE TEMP TABLE before AS
SELECT c.relname::text AS name, pg_relation_size(c.oid) AS size, am.amname::text AS method
FROM pg_class c JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind = 'i' AND c.relnamespace = 'public'::regnamespace;
REINDEX TABLE t;
SELECT '$treatment', b.name, b.method, b.size, pg_relation_size(('public.' || b.name)::regclass)
FROM before b ORDER BY b.name;
EOF
done

log_step "Summary"
mkdir -p -- "$(dirname -- "$BENCH_OUT")"
python3 - "$WORK" "$THRESHOLD" "$ROWS" >"$BENCH_OUT" <<'EOF'
import json, sys
work, threshold, rows = sys.argv[1], float(sys.argv[2]), sys.argv[3]

def read(control):
    report = json.load(open(f"{work}/{control}.json"))
    estimates, planned, sources = {}, set(), {}
    for target in report["targets"]:
        db = target["database"]
        for e in target.get("left_alone", []):
            estimates[(db, e["index"].split(".")[1])] = e["estimated_bloat"]
        for p in target.get("plan", []):
            estimates[(db, p["index"].split(".")[1])] = p["estimated_bloat"]
            planned.add((db, p["index"].split(".")[1]))
        for b in target.get("new_baselines", []):
            sources[(db, b["index"].split(".")[1])] = b["source"]
    return estimates, planned, sources

# A decision is what the run would do: the plan (its candidates), not the rounded
# estimate beside it.
estimates, planned, sources = read("estimate")
_, confirmed_plan, _ = read("confirmed")
rows_out, right, right_confirmed, btree_errors = [], 0, 0, []
for line in open(f"{work}/truth.tsv"):
    db, name, method, before, after = line.rstrip("\n").split("\t")
    truth = int(before) / max(1, int(after))
    estimate = estimates.get((db, name))
    decided = (db, name) in planned
    decided_confirmed = (db, name) in confirmed_plan
    should = truth >= threshold
    right += decided == should
    right_confirmed += decided_confirmed == should
    error = None
    if method == "btree" and estimate is not None:
        error = estimate / truth - 1
        btree_errors.append(abs(error))
    rows_out.append((db, name, method, sources.get((db, name), "?"), truth, estimate,
                     decided == should, decided_confirmed == should, error))
n = len(rows_out)
print(f"{n} indexes, {rows} rows per table, threshold {threshold:g}\n")
print(f"- right decisions, estimate alone: {right}/{n} ({100 * right / n:.1f} %)")
print(f"- right decisions, candidates confirmed: {right_confirmed}/{n} ({100 * right_confirmed / n:.1f} %)")
if btree_errors:
    within = sum(e <= 0.15 for e in btree_errors)
    btree_errors.sort()
    print(f"- btree estimates within 15 % of the true factor: {within}/{len(btree_errors)}; "
          f"median error {100 * btree_errors[len(btree_errors) // 2]:.1f} %, "
          f"largest {100 * btree_errors[-1]:.1f} %")
print("\n| treatment | index | method | baseline | true bloat | estimated | right | right, confirmed | btree error |")
print("|---|---|---|---|---|---|---|---|---|")
for db, name, method, source, truth, estimate, ok, ok_confirmed, error in rows_out:
    est = "—" if estimate is None else f"{estimate:.2f}"
    err = "" if error is None else f"{100 * error:+.1f} %"
    print(f"| {db} | {name} | {method} | {source} | {truth:.2f} | {est} | "
          f"{'yes' if ok else '**no**'} | {'yes' if ok_confirmed else '**no**'} | {err} |")
EOF
cat -- "$BENCH_OUT"

if [[ $VECTOR == 1 ]]; then
    # Its own throwaway cluster, of the server with pgvector.
    stop_throwaway_cluster "$WORK"
    INDEX_PILOT_BIN="$INDEX_PILOT_BIN" THRESHOLD="$THRESHOLD" \
        BENCH_OUT="$(dirname -- "$BENCH_OUT")/estimate-vector.md" \
        "$INDEX_PILOT_ROOT/scripts/bench-estimate-vector.sh"
fi
