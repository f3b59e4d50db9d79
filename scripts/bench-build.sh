#!/usr/bin/env bash
# What building the tests costs: a clean build of every test binary (what
# scripts/test.sh builds before it runs them) in a throwaway target directory, then
# the rebuild after a change to the library (every test binary links again). Prints
# wall time, peak memory and the size of the build.
#
# Usage: scripts/bench-build.sh          the dev profile of Cargo.toml
#        DEBUG=full scripts/bench-build.sh   with full debug information, everywhere
#                                        (cargo's default), to compare
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"

target_dir="$(mktemp -d "${TMPDIR:-/tmp}/index-pilot-bench-build.XXXXXX")"
trap 'rm -rf -- "$target_dir"' EXIT

build=(cargo test --all-targets --no-run --quiet --target-dir "$target_dir")
case "${DEBUG:-}" in
    "") label="dev profile of Cargo.toml" ;;
    full)
        label="full debug information"
        build+=(--config 'profile.dev.debug=true' --config 'profile.dev.package."*".debug=true')
        ;;
    *) die "DEBUG is ${DEBUG}: give nothing or full" ;;
esac

log_step "Clean build of the tests ($label)"
/usr/bin/time -f '    %e s wall, %M kB peak memory' "${build[@]}"
log_info "$(du -sh "$target_dir/debug" | cut -f1) in target/debug"
# Cargo lists every test executable again (fresh) in its JSON messages.
binaries="$("${build[@]}" --message-format=json | jq -r 'select(.profile.test? == true) | .executable' | grep -c .)"
log_info "$binaries test binaries (unit tests, the bench and the integration tests)"

log_step "Rebuild after a change to the library (src/lib.rs touched)"
touch src/lib.rs
/usr/bin/time -f '    %e s wall, %M kB peak memory' "${build[@]}"
