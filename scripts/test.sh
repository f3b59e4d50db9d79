#!/usr/bin/env bash
# index-pilot checks: formatting, lints, and every test (unit, property and
# integration tests against real PostgreSQL clusters the tests start themselves).
#
# Usage: scripts/test.sh        (from any directory; works with CI=true and no stdin)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

# A non-login shell (CI) may not have rustup's cargo on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup"

log_step "Checking system packages (PostgreSQL, pkg-config, libssl-dev, jq, python3-venv, npm)"
ensure_system_packages npm

log_step "Checking Python tools in .venv-tools (cargo-lambda, ziglang, moto[server], cfn-lint) and .venv-checkov (checkov)"
ensure_python_tools

INDEX_PILOT_PG_BIN="$(pg_bin_dir)"
export INDEX_PILOT_PG_BIN
log_info "PostgreSQL server binaries: $INDEX_PILOT_PG_BIN"
INDEX_PILOT_PGVECTOR_BIN="$(pgvector_bin_dir)"
INDEX_PILOT_PGVECTOR_OLD_BIN="$(pgvector_old_bin_dir)"
export INDEX_PILOT_PGVECTOR_BIN INDEX_PILOT_PGVECTOR_OLD_BIN
log_info "PostgreSQL with pgvector (the vector tests): $INDEX_PILOT_PGVECTOR_BIN, and an older one: $INDEX_PILOT_PGVECTOR_OLD_BIN"

log_step "cargo fmt --all -- --check"
cargo fmt --all -- --check

log_step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

mapfile -t waiting_tests < <(integration_tests_but vector)
log_step "cargo test --all-targets but the vector tests, $INDEX_PILOT_TEST_THREADS tests at a time"
RUST_TEST_THREADS=$INDEX_PILOT_TEST_THREADS cargo test --lib --bins --benches --examples "${waiting_tests[@]}"

log_step "cargo test --test vector (CPU-bound: ${RUST_TEST_THREADS:-one per CPU} at a time)"
cargo test --test vector

log_step "The function under cargo lambda watch, invoked with every file in events/"
bash scripts/lambda-watch.sh

log_step "The SAM template (cfn-lint, checkov) and the arm64 Lambda bootstrap"
bash scripts/infra-check.sh

log_step "PostgreSQL 13, 14, 16, 17 and 18 (15 ran above), all but the kill test"
bash scripts/postgres-versions.sh

log_step "All checks passed"
