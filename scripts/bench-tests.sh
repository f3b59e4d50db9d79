#!/usr/bin/env bash
# What running the tests costs: the wall time of `cargo test` on the machine's
# PostgreSQL, in the environment scripts/test.sh sets (the moto venv, the servers
# with pgvector). The tests are built first, untimed: the time is the run's alone.
#
# Usage: scripts/bench-tests.sh                      cargo test --all-targets
#        scripts/bench-tests.sh --test suite         only these targets
#        RUST_TEST_THREADS=4 scripts/bench-tests.sh  more tests at once per binary
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

ensure_python_tools
INDEX_PILOT_PG_BIN="$(pg_bin_dir)"
INDEX_PILOT_PGVECTOR_BIN="$(pgvector_bin_dir)"
INDEX_PILOT_PGVECTOR_OLD_BIN="$(pgvector_old_bin_dir)"
export INDEX_PILOT_PG_BIN INDEX_PILOT_PGVECTOR_BIN INDEX_PILOT_PGVECTOR_OLD_BIN

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(--all-targets)

log_step "Building ${targets[*]} (untimed)"
cargo test "${targets[@]}" --no-run --quiet

log_step "cargo test ${targets[*]} (RUST_TEST_THREADS=${RUST_TEST_THREADS:-one per CPU})"
/usr/bin/time -f '    %e s wall' cargo test "${targets[@]}"
