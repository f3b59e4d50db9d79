# shellcheck shell=bash
# Helpers for scripts/bench.sh: clusters that can be kept and started again, the
# fleets' DDL, one timed measurement, and the medians and Markdown tables.
#
# Source scripts/lib.sh first. Like lib.sh, every function returns non-zero (with a
# message on stderr) instead of exiting.
#
# Globals the caller sets: MEASUREMENTS (TSV file, one line per measurement),
# PROBLEMS (text file, one line per problem seen), SLOW (TSV file, index-pilot's slow
# statements), LAST_DIR (the last output and logs of each measure), ROUND (the round
# being measured, 0 for a warm-up), BENCH_POSTMASTERS (pids of the postmasters whose
# server CPU is counted); write_summary reads what bench.sh learned along the way
# (REV, PILOT, PG_VERSION, FLEET_INFO, REBUILD_INFO, REBUILD_MS, CONC_INFO, PHASES, ...).

# Per cluster directory, how much of its server log has been read.
declare -gA LOG_MARK=()

# --- clusters -------------------------------------------------------------------

# cluster_up DIR: starts the cluster in DIR/data again when there is one (a kept
# directory), on a new free port; otherwise starts a fresh one (lib.sh). Exports
# PGHOST, PGPORT and PGUSER, as start_throwaway_cluster does. Statements of a second
# or more are logged (without their parameters: an array of 100,000 oids).
cluster_up() {
    local dir="${1:?usage: cluster_up DIR}"
    if [[ -e $dir/data ]]; then
        cluster_restart "$dir" || return 1
    else
        start_throwaway_cluster "$dir" || return 1
    fi
    pq "$PGPORT" postgres -c "ALTER SYSTEM SET log_min_duration_statement = '1s'" \
        -c 'ALTER SYSTEM SET log_parameter_max_length = 0' \
        -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] %a@%d '" \
        -c 'SELECT pg_reload_conf()' >/dev/null || return 1
    sleep 0.2   # the reload reaches the postmaster asynchronously
    LOG_MARK[$dir]="$(stat -c %s -- "$dir/postgres.log")"
}

cluster_restart() {
    local dir="$1"
    local bin owner="" port
    bin="$(pg_bin_dir)" || return 1
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        owner="$(stat -c %U -- "$dir/data")" || return 1
    fi
    _pg_run_as_for "$owner" || return 1
    local -a run_as=("${_PG_RUN_AS[@]}")
    # Left running by a run that was killed: stop it, then start it on a free port.
    (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop) \
        >/dev/null 2>&1 || true
    port="$(_free_port)" || { die "could not find a free port"; return 1; }
    if ! (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
        -o "-p $port" -w -t 120 start) >/dev/null 2>>"$dir/pg_ctl.log" </dev/null; then
        tail -n 20 -- "$dir/postgres.log" >&2 || true
        die "could not start the kept cluster in $dir"
        return 1
    fi
    printf '%s\n' "$port" >"$dir/port" 2>/dev/null || true
    export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres
}

# cluster_stop DIR: fast shutdown, keeping DIR (the counterpart of cluster_up).
cluster_stop() {
    local dir="${1:?usage: cluster_stop DIR}" bin owner=""
    [[ -f $dir/data/postmaster.pid ]] || return 0
    bin="$(pg_bin_dir)" || return 1
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        owner="$(stat -c %U -- "$dir/data")" || return 1
    fi
    _pg_run_as_for "$owner" || return 1
    local -a run_as=("${_PG_RUN_AS[@]}")
    (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop) >/dev/null
}

# The postmaster's pid of the cluster in DIR (first line of postmaster.pid).
cluster_postmaster() {
    head -n 1 -- "$1/data/postmaster.pid"
}

# pq PORT DATABASE [psql arguments...]
pq() {
    local port="$1" db="$2"
    shift 2
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -P pager=off -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}

# --- fleets ---------------------------------------------------------------------

# fleet_chunk_sql FIRST LAST: tables tFIRST..tLAST, each with 7 indexes in pg_index:
# its primary key, 5 btrees, and its TOAST table's index (column c is text). One row
# each: every index is 8 or 16 kB. A transaction per 100 tables keeps the lock table
# small.
fleet_chunk_sql() {
    cat <<SQL
DO \$\$
BEGIN
    FOR i IN $1..$2 LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, a int, b int, c text, d timestamptz)', i);
        EXECUTE format('CREATE INDEX ON t%s (a)', i);
        EXECUTE format('CREATE INDEX ON t%s (b)', i);
        EXECUTE format('CREATE INDEX ON t%s (c)', i);
        EXECUTE format('CREATE INDEX ON t%s (d)', i);
        EXECUTE format('CREATE INDEX ON t%s (a, b)', i);
        EXECUTE format('INSERT INTO t%s VALUES (1, 1, 1, %L, now())', i, 'row of t' || i);
        IF i % 100 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
\$\$;
SQL
}

fleet_marker() {
    printf 'index-pilot bench fleet: %s tables\n' "$1"
}

# fleet_is_built PORT DB TABLES: the database exists and was built to the end.
fleet_is_built() {
    local found
    found="$(pq "$1" postgres -Atc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$2'")" || return 1
    [[ $found == "$(fleet_marker "$3")" ]]
}

# build_fleet PORT DB TABLES: (re)creates DB with TABLES tables, then VACUUM ANALYZE;
# marks the database as built last (a build cut short is done again next time).
build_fleet() {
    local port="$1" db="$2" tables="$3" first last t0
    pq "$port" postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" || return 1
    t0=$EPOCHREALTIME
    for (( first = 1; first <= tables; first += 1000 )); do
        last=$(( first + 999 < tables ? first + 999 : tables ))
        fleet_chunk_sql "$first" "$last" | pq "$port" "$db" || { die "building $db failed"; return 1; }
        if (( last % 4000 == 0 || last == tables )); then
            log_info "$db: $last of $tables tables ($(elapsed_since "$t0") s)"
        fi
    done
    log_info "$db: DDL took $(elapsed_since "$t0") s"
    t0=$EPOCHREALTIME
    pq "$port" "$db" -c 'VACUUM ANALYZE' || return 1
    log_info "$db: VACUUM ANALYZE took $(elapsed_since "$t0") s"
    pq "$port" postgres -c "COMMENT ON DATABASE $db IS '$(fleet_marker "$tables")'"
}

# fleet_counts PORT DB: "total user toast min_size max_size" of pg_index, user
# indexes being those of objects created after initdb (oid >= 16384).
fleet_counts() {
    pq "$1" "$2" -AtF ' ' -c "
        SELECT count(*),
               count(*) FILTER (WHERE x.indrelid >= 16384),
               count(*) FILTER (WHERE x.indrelid >= 16384 AND c.relnamespace = 'pg_toast'::regnamespace),
               min(pg_relation_size(x.indexrelid)) FILTER (WHERE x.indrelid >= 16384),
               max(pg_relation_size(x.indexrelid)) FILTER (WHERE x.indrelid >= 16384)
        FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
}

# scan_server_logs PHASE: what the clusters logged since the last call: index-pilot's
# slow statements to $SLOW (phase, who, first line of SQL, ms), errors, fatal errors
# and broken connections to $PROBLEMS.
scan_server_logs() {
    local phase="$1" dir size
    for dir in "${!LOG_MARK[@]}"; do
        size="$(stat -c %s -- "$dir/postgres.log")" || continue
        tail -c +"$(( LOG_MARK[$dir] + 1 ))" -- "$dir/postgres.log" | head -c "$(( size - LOG_MARK[$dir] ))" |
            awk -v phase="$phase" -v slow="$SLOW" -v problems="$PROBLEMS" -v OFS='\t' '
                function flush() {
                    if (dur != "") print phase, who, (stmt == "" ? "?" : stmt), dur >>slow
                    dur = ""
                }
                /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / {
                    flush()
                    who = $5
                    if ($6 == "LOG:" && $7 == "duration:" && who ~ /^index-pilot@/) {
                        dur = $8
                        stmt = $0
                        sub(/^.* ms  [^:]*: /, "", stmt)
                        if (stmt ~ /^--/) stmt = ""
                    } else if ($6 == "ERROR:" || $6 == "FATAL:" || $6 == "PANIC:" ||
                               $0 ~ /could not receive data from client/) {
                        msg = $0
                        sub(/^[^[]*\[[0-9]+\] /, "", msg)
                        print phase, "server log: " msg >>problems
                    }
                    next
                }
                dur != "" && stmt == "" {
                    line = $0
                    sub(/^[ \t]+/, "", line)
                    if (line != "" && line !~ /^--/) stmt = line
                }
                END { flush() }'
        LOG_MARK[$dir]="$size"
    done
}

# --- measuring ------------------------------------------------------------------

elapsed_since() {
    awk -v t0="$1" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.1f", t1 - t0 }'
}

# CPU time (clock ticks) of the postmasters and of their children that have ended:
# each backend adds its CPU to its postmaster's when it exits.
server_ticks() {
    local pid total=0 ticks
    for pid in "${BENCH_POSTMASTERS[@]}"; do
        # Fields 14-17 (utime stime cutime cstime) are 12-15 after "pid (comm) ".
        ticks="$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 + $14 + $15 }')" || return 1
        total=$(( total + ticks ))
    done
    printf '%s\n' "$total"
}

# Waits (up to 5 s) until no client backend remains, not even one still exiting (its
# command line gone) or not yet reaped: a backend's CPU counts in server_ticks only
# once its postmaster has reaped it.
wait_backends_gone() {
    local pid tries busy
    for (( tries = 0; tries < 250; tries++ )); do
        busy=0
        for pid in "${BENCH_POSTMASTERS[@]}"; do
            # shellcheck disable=SC2009 # state and command line at once: ps, not pgrep
            if ps --ppid "$pid" -o stat=,args= | grep -q '^Z\|127\.0\.0\.1(\|\[postgres\]'; then
                busy=1
            fi
        done
        (( busy )) || return 0
        sleep 0.02
    done
}

# measure PHASE LABEL COMMAND...: runs COMMAND once under /usr/bin/time (stdout to
# $LAST_DIR/PHASE.LABEL.out, stderr to .err) and appends to $MEASUREMENTS:
# phase label round wall_s user_s sys_s cpu_s max_rss_kib server_cpu_s.
# Wall time is taken with the shell's microsecond clock (%e has 10 ms steps).
measure() {
    local phase="$1" label="$2"
    shift 2
    local base="$LAST_DIR/$phase.$label" rc=0 ticks0 ticks1 t0 t1
    wait_backends_gone
    ticks0="$(server_ticks)" || return 1
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%e %U %S %M' -o "$base.time" "$@" >"$base.out" 2>"$base.err" || rc=$?
    t1=$EPOCHREALTIME
    wait_backends_gone
    ticks1="$(server_ticks)" || return 1
    if (( rc != 0 )); then
        tail -n 20 -- "$base.err" >&2 || true
        die "$phase $label: '$*' failed (exit $rc); output in $base.out and $base.err"
        return 1
    fi
    local _e user sys rss
    read -r _e user sys rss <"$base.time" || { die "cannot read $base.time"; return 1; }
    awk -v OFS='\t' -v p="$phase" -v l="$label" -v r="$ROUND" -v t0="$t0" -v t1="$t1" \
        -v u="$user" -v s="$sys" -v m="$rss" -v st="$((ticks1 - ticks0))" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { print p, l, r, sprintf("%.6f", t1 - t0), u, s, sprintf("%.2f", u + s), m, sprintf("%.2f", st / hz) }' \
        >>"$MEASUREMENTS"
}

# last_wall PHASE LABEL: the wall time of the latest measurement, for the log.
last_wall() {
    awk -F'\t' -v p="$1" -v l="$2" '$1 == p && $2 == l { w = $4 } END { printf "%.3f s", w }' "$MEASUREMENTS"
}

# check_report FILE MODE TARGETS SCANNED CANDIDATES REINDEXED: the reports printed by
# one `index-pilot invoke` (one per hop). A count of -1 is not checked. Problems go
# to $PROBLEMS and make the check fail; notes and the log's warnings are only recorded.
check_report() {
    local file="$1" mode="$2" targets="$3" scanned="$4" candidates="$5" reindexed="$6" found
    found="$(jq -rs --arg mode "$mode" --argjson targets "$targets" --argjson scanned "$scanned" \
        --argjson candidates "$candidates" --argjson reindexed "$reindexed" '
        def sum(f): [.[] | .targets[]? | f] | add // 0;
        def want($what; $got; $expected):
            if $expected >= 0 and $got != $expected then "\($what): \($got), expected \($expected)" else empty end;
        (if length != 1 then "\(length) reports (hops), expected 1" else empty end),
        (.[] | select(.mode != $mode) | "mode \(.mode), expected \($mode)"),
        (.[] | select(.complete != true) | "not complete"),
        want("targets"; sum(1); $targets),
        want("scanned"; sum(.scanned); $scanned),
        want("candidates"; sum(.candidates); $candidates),
        want("reindexed"; sum(.reindexed // [] | length); $reindexed),
        (.[] | .targets[]? | select(.status != "ok") | "\(.name): \(.status): \(.reason)"),
        (.[] | .targets[]? | select((.failed // []) != []) | "\(.name): failed: \(.failed | tojson)")
        ' "$file" 2>&1)" || found="report is not JSON: $found"
    jq -rs '.[] | .notes // [] | .[] | "note: \(.)"' "$file" 2>/dev/null | record_problems "$file" || true
    jq -Rr 'fromjson? | select(.level == "WARN" or .level == "ERROR")
            | "log \(.level): \(.fields.message // "")\(if .fields.error then ": " + .fields.error else "" end)"' \
        "${file%.out}.err" 2>/dev/null | record_problems "$file" || true
    if [[ -n $found ]]; then
        printf '%s\n' "$found" | record_problems "$file"
        printf '%s\n' "$found" >&2
        die "unexpected report in $file"
        return 1
    fi
}

record_problems() {
    local where
    where="$(basename -- "$1" .out)"
    while IFS= read -r line; do
        printf '%s\t%s\n' "$where" "$line" >>"$PROBLEMS"
    done
}

# --- summary --------------------------------------------------------------------

# bench_stat PHASE LABEL COLUMN FN: median, min or max of one column of $MEASUREMENTS over
# the timed rounds (round > 0; the warm-up rounds are 0, the one-off measures -1).
bench_stat() {
    awk -F'\t' -v p="$1" -v l="$2" -v c="$3" '$1 == p && $2 == l && $3 != 0 { print $c }' "$MEASUREMENTS" |
        sort -g |
        awk -v fn="$4" '{ v[NR] = $1 } END {
            if (NR == 0) { print "nan"; exit }
            if (fn == "median") print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)
            else if (fn == "min") print v[1]
            else if (fn == "max") print v[NR]
            else if (fn == "n") print NR
        }'
}

# md_table PHASE REFERENCE_LABEL "LABEL=description"...: one Markdown table, each
# median's ratio to REFERENCE_LABEL's.
md_table() {
    local phase="$1" ref="$2" item label desc ref_wall ref_name=""
    shift 2
    for item in "$@"; do
        [[ ${item%%=*} == "$ref" ]] && ref_name="${item#*=}"
    done
    ref_wall="$(bench_stat "$phase" "$ref" 4 median)"
    printf '| measure | runs | wall (median) | ratio to %s | wall (min – max) | CPU of the process (median) | server CPU (median) | peak RSS (max) |\n' "$ref_name"
    printf '|---|---|---|---|---|---|---|---|\n'
    for item in "$@"; do
        label="${item%%=*}"
        desc="${item#*=}"
        [[ $(bench_stat "$phase" "$label" 4 n) != nan ]] || continue
        awk -v d="$desc" -v n="$(bench_stat "$phase" "$label" 4 n)" -v w="$(bench_stat "$phase" "$label" 4 median)" \
            -v rw="$ref_wall" -v lo="$(bench_stat "$phase" "$label" 4 min)" -v hi="$(bench_stat "$phase" "$label" 4 max)" \
            -v c="$(bench_stat "$phase" "$label" 7 median)" -v sc="$(bench_stat "$phase" "$label" 9 median)" \
            -v m="$(bench_stat "$phase" "$label" 8 max)" 'BEGIN {
                ratio = (rw > 0) ? sprintf("%.2f", w / rw) : "–"
                printf "| %s | %d | %.3f s | %s | %.3f – %.3f s | %.2f s | %.2f s | %.1f MiB |\n",
                    d, n, w, ratio, lo, hi, c, sc, m / 1024
            }'
    done
}

# write_summary: the Markdown summary of a whole run, from the globals bench.sh sets.
write_summary() {
    local db mem cpu entry
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    mem="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    printf '# index-pilot benchmark, %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf -- '- index-pilot: %s, binary %s (%s)\n' "$REV" "$PILOT" "$BUILT_BY"
    printf -- '- machine: %s CPUs (nproc), "%s", %s memory, Linux %s\n' "$(nproc)" "$cpu" "$mem" "$(uname -r)"
    printf -- '- PostgreSQL %s (%s), throwaway clusters: fsync off, no TLS\n' "$PG_VERSION" "$(pg_bin_dir)"
    printf -- '- %s timed rounds per measure, interleaved, after a warm-up; wall time of the whole command; CPU: user + system of the measured process; server CPU: the backends (and any autovacuum worker) that exited meanwhile; peak RSS of the measured process\n' "$ROUNDS"
    printf -- '- the control database (on the first cluster) is made anew for each phase; %s\n' \
        "$([[ $ANALYZE_CONTROL == 1 ]] && echo 'ANALYZE runs on it after the warm-up run, as autovacuum would between two scheduled runs' || echo 'not analyzed by the script (ANALYZE_CONTROL=0)')"
    printf '\n## Fleets (one target, nothing to rebuild)\n'
    for spec in ${FLEETS//,/ }; do
        db="fleet$spec"
        printf '\n### %s: %s\n\n' "$db" "${FLEET_INFO[$db]}"
        md_table "$db" floor "floor=bare catalog query (psql)" "dry_run=dry_run" "idle_run=idle run" \
            "first_run=first run (once: the control database learns every index)"
    done
    if [[ ${SKIP_COLD_START:-0} != 1 ]]; then
        printf '\n## Cold start: dry_run of one database with one index\n\n'
        md_table cold psql "psql=psql -c 'SELECT 1'" "prefer=dry_run, sslmode prefer (default)" \
            "disable=dry_run, INDEX_PILOT_SSLMODE=disable"
    fi
    if [[ ${SKIP_REBUILD:-0} != 1 ]]; then
        printf '\n## Rebuild: %s\n\n' "$REBUILD_INFO"
        md_table rebuild raw "raw=REINDEX INDEX CONCURRENTLY (psql)" \
            "pilot=index-pilot, mode reindex (force)"
        printf '\nThe rebuild itself, as index-pilot reports it (duration_ms, median): %s ms.\n' "$REBUILD_MS"
    fi
    if [[ ${SKIP_CONCURRENCY:-0} != 1 ]]; then
        printf '\n## Concurrency: %s\n\n' "$CONC_INFO"
        md_table conc dry_p8 "dry_p8=dry_run, PARALLEL_TARGETS=8" "dry_p1=dry_run, PARALLEL_TARGETS=1" \
            "run_p8=idle run, PARALLEL_TARGETS=8" "run_p1=idle run, PARALLEL_TARGETS=1" \
            "first_run=first run, PARALLEL_TARGETS=8 (once)"
    fi
    printf '\n## Statements of index-pilot that took 1 s or more\n\n'
    if [[ -s $SLOW ]]; then
        printf '| phase | connection | statement (first line) | times | slowest | total |\n|---|---|---|---|---|---|\n'
        awk -F'\t' '{ k = $1 "\t" $2 "\t" substr($3, 1, 70); n[k]++; t[k] += $4; if ($4 > m[k]) m[k] = $4
                      if (!(k in first)) { first[k] = NR; keys[++nk] = k } }
            END { for (i = 1; i <= nk; i++) { k = keys[i]; split(k, f, "\t")
                  printf "| %s | %s | `%s` | %d | %.1f s | %.1f s |\n", f[1], f[2], f[3], n[k], m[k] / 1000, t[k] / 1000 } }' "$SLOW"
    else
        printf 'None.\n'
    fi
    printf '\n## Phases\n\n| phase | took | load average (1 min) at its end |\n|---|---|---|\n'
    for entry in "${PHASES[@]}"; do
        IFS='|' read -r name took load <<<"$entry"
        printf '| %s | %s s | %s |\n' "$name" "$took" "$load"
    done
    printf '\n## Problems seen\n\n'
    if [[ -s $PROBLEMS ]]; then
        awk -F'\t' '{ m = $2; n[m]++; if (!(m in seen)) { seen[m] = 1; order[++k] = m }
                      if (index(" " w[m] ",", " " $1 ",") == 0 && ++nw[m] <= 3) w[m] = w[m] (w[m] == "" ? "" : ", ") $1 }
            END { for (i = 1; i <= k; i++) { m = order[i]; printf "- %s (%d time%s; in %s%s)\n", m, n[m], (n[m] == 1 ? "" : "s"), w[m], (nw[m] > 3 ? ", ..." : "") } }' \
            "$PROBLEMS"
    else
        printf 'None: every report as expected, no warning in the logs.\n'
    fi
}
