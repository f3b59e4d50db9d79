#!/usr/bin/env bash
# How right index-pilot is about pgvector indexes it has never seen (HNSW and IVFFlat
# over vector and halfvec), on a throwaway cluster of the server with pgvector:
#
#   accuracy   for each type, dimension count and option (HNSW m, IVFFlat lists),
#              what a dry run with no history estimates a fresh build's size to be,
#              against the size of the fresh build it looks at;
#   decisions  the same indexes of a few shapes bloated from 1.0x to 5x by deletes,
#              updates and random inserts: a decision is right when "a candidate"
#              (estimated bloat >= THRESHOLD) says what "true bloat >= THRESHOLD"
#              says, the truth being the index's size over its size after REINDEX.
#
# scripts/bench-estimate.sh runs it after the btree figures; it also runs alone.
# Usage: scripts/bench-estimate-vector.sh   (no arguments; knobs are environment variables)
#   THRESHOLD=2          index_rebuild_scale_factor
#   ACCURACY="3:10000 16:10000 128:5000 384:3000 768:2000 1536:1500"
#                        dimensions:rows of the accuracy tables (one vector, one halfvec each)
#   DECISION_ROWS=6000   rows of each decision table
#   INDEX_PILOT_BIN      the binary (default: cargo build, target/debug/index-pilot)
#   INDEX_PILOT_PGVECTOR_BIN  a server with pgvector (default: the PyPI wheel, lib.sh)
#   BENCH_OUT=target/bench/estimate-vector.md
set -euo pipefail
export LC_ALL=C

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

THRESHOLD="${THRESHOLD:-2}"
ACCURACY="${ACCURACY:-3:10000 16:10000 128:5000 384:3000 768:2000 1536:1500}"
DECISION_ROWS="${DECISION_ROWS:-6000}"
BENCH_OUT="${BENCH_OUT:-$INDEX_PILOT_ROOT/target/bench/estimate-vector.md}"
[[ $THRESHOLD =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "THRESHOLD must be a number, not '$THRESHOLD'"
[[ $DECISION_ROWS =~ ^[1-9][0-9]*$ ]] || die "DECISION_ROWS must be a positive integer"
for spec in $ACCURACY; do
    [[ $spec =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || die "ACCURACY entries are dimensions:rows, not '$spec'"
done

TREATMENTS=(fresh random_inserts delete_40 update_30 delete_60 update_all_twice delete_80)

# Notices off: an IVFFlat built on few rows (or none) says it has little data. An
# IVFFlat of 1000 lists over 1536 dimensions needs 323 MB for its k-means.
psql_q() {
    PGOPTIONS="-c client_min_messages=warning -c maintenance_work_mem=512MB" psql -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"
}

# Random values of DIMS dimensions as TYPE, one per row of generate_series g.
random_value() {
    local type="$1" dims="$2"
    echo "(SELECT array_agg(random()::real + s * 0 + g * 0) FROM generate_series(1, $dims) s)::$type($dims)"
}

# The accuracy tables of TYPE: per dimension count, HNSW with m 8, 16, 32 and
# IVFFlat with 10, 100, 1000 lists, built over the rows. A database per type: the
# report lists at most 50 new baselines per database.
accuracy_sql() {
    local type="$1" dims rows table
    {
        for spec in $ACCURACY; do
            dims="${spec%%:*}" rows="${spec##*:}" table="${type}_${dims}"
            cat <<EOF
CREATE TABLE $table (id int NOT NULL, v $type($dims) NOT NULL);
INSERT INTO $table SELECT g, $(random_value "$type" "$dims") FROM generate_series(1, $rows) g;
CREATE INDEX ${table}_hnsw_m8 ON $table USING hnsw (v ${type}_l2_ops) WITH (m = 8);
CREATE INDEX ${table}_hnsw_m16 ON $table USING hnsw (v ${type}_l2_ops);
CREATE INDEX ${table}_hnsw_m32 ON $table USING hnsw (v ${type}_l2_ops) WITH (m = 32);
CREATE INDEX ${table}_ivfflat_l10 ON $table USING ivfflat (v ${type}_l2_ops) WITH (lists = 10);
CREATE INDEX ${table}_ivfflat_l100 ON $table USING ivfflat (v ${type}_l2_ops);
CREATE INDEX ${table}_ivfflat_l1000 ON $table USING ivfflat (v ${type}_l2_ops) WITH (lists = 1000);
EOF
        done
    }
}

# A decision table: 16-dimension vectors and 256-dimension halfvecs, an HNSW and an
# IVFFlat on each. INSERT_ORDER: the rows go in before the indexes are built, or in
# random order into the indexes already made (an HNSW inserts them one by one; an
# IVFFlat made on an empty table has random centers, its lists filling unevenly).
decision_sql() {
    local insert_order="$1"
    local rows="SELECT g, $(random_value vector 16), $(random_value halfvec 256)
FROM generate_series(1, $DECISION_ROWS) g"
    echo "CREATE TABLE t (id int NOT NULL, v vector(16) NOT NULL, h halfvec(256) NOT NULL);"
    [[ $insert_order == by_id ]] && echo "INSERT INTO t $rows ORDER BY g;"
    cat <<EOF
CREATE INDEX t_v_hnsw ON t USING hnsw (v vector_l2_ops);
CREATE INDEX t_h_hnsw ON t USING hnsw (h halfvec_l2_ops) WITH (m = 8);
CREATE INDEX t_v_ivfflat ON t USING ivfflat (v vector_l2_ops) WITH (lists = 30);
CREATE INDEX t_h_ivfflat ON t USING ivfflat (h halfvec_l2_ops) WITH (lists = 10);
EOF
    [[ $insert_order == random ]] && echo "INSERT INTO t $rows ORDER BY random();"
    return 0
}

# What makes each treatment's bloat (then VACUUM ANALYZE). An update gives the rows
# new values (embeddings computed again): every index gets a new entry beside the old
# one, which VACUUM later marks deleted. (An update that keeps the value adds a heap
# TID to an HNSW's existing element, and leaves it as large.)
treatment_sql() {
    local new="v = $(random_value vector 16), h = $(random_value halfvec 256)"
    new="${new//g \* 0/id * 0}"
    case "$1" in
        fresh | random_inserts) ;;
        delete_40) echo "DELETE FROM t WHERE id % 10 < 4;" ;;
        delete_60) echo "DELETE FROM t WHERE id % 10 < 6;" ;;
        delete_80) echo "DELETE FROM t WHERE id % 10 < 8;" ;;
        update_30) echo "UPDATE t SET $new WHERE id % 10 < 3;" ;;
        update_all_twice) echo "UPDATE t SET $new; UPDATE t SET $new;" ;;
    esac
}

[[ -n ${INDEX_PILOT_BIN:-} ]] || {
    log_step "cargo build --bin index-pilot"
    cargo build --bin index-pilot
    INDEX_PILOT_BIN="$INDEX_PILOT_ROOT/target/debug/index-pilot"
}
ensure_system_packages
INDEX_PILOT_PG_BIN="$(pgvector_bin_dir)"
export INDEX_PILOT_PG_BIN
WORK="$(mktemp -d -t index-pilot-vector.XXXXXX)"
stop_work_cluster_on_exit
start_throwaway_cluster "$WORK"
log_step "Cluster with pgvector on 127.0.0.1:$PGPORT"

ACCURACY_DBS=(accuracy_vector accuracy_halfvec)
for type in vector halfvec; do
    createdb "accuracy_$type"
    { echo "CREATE EXTENSION vector;"; accuracy_sql "$type"; } | psql_q -d "accuracy_$type"
    psql_q -d "accuracy_$type" -c "VACUUM ANALYZE"
    log_info "accuracy_$type: built"
done
for treatment in "${TREATMENTS[@]}"; do
    createdb "$treatment"
    insert_order="by_id"
    [[ $treatment == random_inserts ]] && insert_order="random"
    { echo "CREATE EXTENSION vector;"; decision_sql "$insert_order"; treatment_sql "$treatment"; } |
        psql_q -d "$treatment"
    psql_q -d "$treatment" -c "VACUUM ANALYZE t"
    log_info "$treatment: built"
done

databases="$(printf '"%s",' "${ACCURACY_DBS[@]}" "${TREATMENTS[@]}")"
export INDEX_PILOT_TARGETS='[{"name":"bench","url":"postgresql://postgres@127.0.0.1:'"$PGPORT"'/postgres","databases":['"${databases%,}"']}]'
export INDEX_PILOT_BUDGET=30m

log_step "Dry run with no history (initial_baseline = estimate)"
createdb control
export INDEX_PILOT_CONTROL_URL="postgresql://postgres@127.0.0.1:$PGPORT/control"
# A dry run of an empty database makes the control schema.
INDEX_PILOT_TARGETS='[{"name":"schema","url":"postgresql://postgres@127.0.0.1:'"$PGPORT"'/postgres"}]' \
    "$INDEX_PILOT_BIN" invoke --event events/dry-run.json >/dev/null 2>"$WORK/control.log"
psql_q -d control <<EOF
INSERT INTO index_pilot.settings (key, value) VALUES
    ('index_size_threshold', '64kB'),
    ('minimum_reliable_index_size', '64kB'),
    ('index_rebuild_scale_factor', '$THRESHOLD');
EOF
"$INDEX_PILOT_BIN" invoke --event events/dry-run.json >"$WORK/estimate.json" 2>>"$WORK/control.log"

log_step "The truth: each index's size now, and after REINDEX for the decisions"
: >"$WORK/fresh.tsv"
for db in "${ACCURACY_DBS[@]}"; do
    psql_q -d "$db" -At -F $'\t' >>"$WORK/fresh.tsv" <<EOF
SELECT '$db', c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind = 'i' AND am.amname IN ('hnsw', 'ivfflat') ORDER BY c.relname;
EOF
done
: >"$WORK/truth.tsv"
for treatment in "${TREATMENTS[@]}"; do
    psql_q -d "$treatment" -At -F $'\t' >>"$WORK/truth.tsv" <<EOF
CREATE TEMP TABLE before AS
SELECT c.relname::text AS name, pg_relation_size(c.oid) AS size, am.amname::text AS method
FROM pg_class c JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind = 'i' AND am.amname IN ('hnsw', 'ivfflat');
REINDEX TABLE t;
SELECT '$treatment', b.name, b.method, b.size, pg_relation_size(('public.' || b.name)::regclass)
FROM before b ORDER BY b.name;
EOF
done

log_step "Summary"
mkdir -p -- "$(dirname -- "$BENCH_OUT")"
python3 - "$WORK" "$THRESHOLD" "$DECISION_ROWS" >"$BENCH_OUT" <<'EOF'
import json, sys
work, threshold, decision_rows = sys.argv[1], float(sys.argv[2]), sys.argv[3]

report = json.load(open(f"{work}/estimate.json"))
bloat, planned, sources, notes = {}, set(), {}, {}
for target in report["targets"]:
    db = target["database"]
    for b in target.get("new_baselines", []):
        name = b["index"].split(".")[1]
        bloat[(db, name)] = b.get("estimated_bloat")
        sources[(db, name)] = b["source"]
        notes[(db, name)] = b.get("note")
    for p in target.get("plan", []):
        planned.add((db, p["index"].split(".")[1]))

# Accuracy: a fresh index's estimated bloat is its size over the estimate.
print(f"### Estimate against a fresh build\n")
print("| type | dimensions | index | pages built | pages estimated | error |")
print("|---|---|---|---|---|---|")
errors = []
for line in open(f"{work}/fresh.tsv"):
    db, name, size = line.rstrip("\n").split("\t")
    type_, dims, method, option = name.split("_")
    pages = int(size) / 8192
    b = bloat.get((db, name))
    if b is None or sources.get((db, name)) != "estimate":
        why = notes.get((db, name)) or "not judged"
        print(f"| {type_} | {dims} | {method} {option} | {pages:.0f} | — | {why} |")
        continue
    error = 1 / b - 1
    errors.append((abs(error), name))
    print(f"| {type_} | {dims} | {method} {option} | {pages:.0f} | {pages / b:.0f} | {100 * error:+.1f} % |")
errors.sort()
if errors:
    within = sum(e <= 0.10 for e, _ in errors)
    print(f"\n- estimates within 10 % of a fresh build: {within}/{len(errors)}; "
          f"median error {100 * errors[len(errors) // 2][0]:.1f} %, "
          f"largest {100 * errors[-1][0]:.1f} % ({errors[-1][1]})")

# Decisions.
rows_out, right = [], 0
for line in open(f"{work}/truth.tsv"):
    db, name, method, before, after = line.rstrip("\n").split("\t")
    truth = int(before) / max(1, int(after))
    decided = (db, name) in planned
    ok = decided == (truth >= threshold)
    right += ok
    rows_out.append((db, name, method, truth, bloat.get((db, name)), ok))
n = len(rows_out)
print(f"\n### Decisions\n")
print(f"{n} indexes, {decision_rows} rows per table, threshold {threshold:g}\n")
print(f"- right decisions, estimate alone: {right}/{n} ({100 * right / max(1, n):.1f} %)\n")
print("| treatment | index | method | true bloat | estimated | right |")
print("|---|---|---|---|---|---|")
for db, name, method, truth, estimate, ok in rows_out:
    est = "—" if estimate is None else f"{estimate:.2f}"
    print(f"| {db} | {name} | {method} | {truth:.2f} | {est} | {'yes' if ok else '**no**'} |")
EOF
cat -- "$BENCH_OUT"
