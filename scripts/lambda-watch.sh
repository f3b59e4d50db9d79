#!/usr/bin/env bash
# The function as Lambda runs it: under `cargo lambda watch` (the Lambda runtime API
# emulated on 127.0.0.1), invoked through `cargo lambda invoke --data-file` with every
# sample in events/, against a throwaway PostgreSQL cluster. Each invocation must
# answer with a report, not an error.
#
# Usage: scripts/lambda-watch.sh      (scripts/test.sh runs it)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"
ensure_system_packages
ensure_python_tools

WORK="$(mktemp -d "${TMPDIR:-/tmp}/index-pilot-watch.XXXXXX")"
# The cluster may run as another user (nobody, when we are root): let it in.
chmod 755 "$WORK"
WATCH_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $WATCH_PID ]]; then
        kill "$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f $WORK/watch.log ]]; then
        printf '\n--- cargo lambda watch (last lines) ---\n' >&2
        tail -n 40 "$WORK/watch.log" >&2
    fi
    stop_throwaway_cluster "$WORK/pg" || true
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log_step "Throwaway cluster with a control database and a small target"
mkdir -p "$WORK/pg"
start_throwaway_cluster "$WORK/pg"
createdb index_pilot_control
createdb demo
psql -X -q -v ON_ERROR_STOP=1 -d demo <<'SQL'
CREATE TABLE bloated (id int PRIMARY KEY, code text);
INSERT INTO bloated SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
CREATE INDEX bloated_code_btree ON bloated (code);
SQL

export INDEX_PILOT_CONTROL_URL="postgresql://postgres@127.0.0.1:$PGPORT/index_pilot_control"
export INDEX_PILOT_TARGETS="[{\"name\":\"demo\",\"url\":\"postgresql://postgres@127.0.0.1:$PGPORT/demo\"}]"
export INDEX_PILOT_BUDGET=2m
port="$(_free_port)"

log_step "cargo lambda watch on 127.0.0.1:$port"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --ignore-changes \
    >"$WORK/watch.log" 2>&1 </dev/null &
WATCH_PID=$!

invoke() {
    cargo lambda invoke index-pilot --invoke-address 127.0.0.1 --invoke-port "$port" \
        --data-file "$1" --output-format json
}

# The first invocation waits for the function to compile and start.
deadline=$((SECONDS + 600))
until invoke events/dry-run.json >"$WORK/first.json" 2>"$WORK/first.err"; do
    kill -0 "$WATCH_PID" 2>/dev/null || die "cargo lambda watch stopped"
    ((SECONDS < deadline)) || die "the function did not answer within 10 minutes: $(cat "$WORK/first.err")"
    sleep 2
done

failed=0
for event in events/*.json; do
    if ! invoke "$event" >"$WORK/out.json" 2>"$WORK/err.txt"; then
        log_info "FAIL $event: $(tail -n 3 "$WORK/err.txt")"
        failed=$((failed + 1))
        continue
    fi
    summary="$(jq -r '"mode \(.mode), hop \(.hop), complete \(.complete): " +
        ([.targets[] | "\(.name) \(.status) (reindexed \(.reindexed | length))"] | join(", "))' \
        "$WORK/out.json" 2>/dev/null)" || summary=""
    if [[ -z $summary ]] || ! jq -e 'all(.targets[]; .status != "error")' "$WORK/out.json" >/dev/null; then
        log_info "FAIL $event: $(head -c 600 "$WORK/out.json")"
        failed=$((failed + 1))
    else
        log_info "ok   $event: $summary"
    fi
done
total=$(find events -name '*.json' | wc -l)
printf 'lambda-watch: %d passed, %d failed\n' "$((total - failed))" "$failed"
[[ $failed -eq 0 ]]
