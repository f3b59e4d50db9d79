#!/usr/bin/env bash
# The deployable artefacts: infra/template.yaml through cfn-lint and checkov (every
# skipped check is justified in the template), and the Lambda bootstrap built as
# `sam build` builds it: cargo lambda, release, arm64 (cross-compiled with zig).
#
# Usage: scripts/infra-check.sh      (scripts/test.sh runs it)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$INDEX_PILOT_ROOT"
ensure_python_tools

log_step "cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml

log_step "checkov infra/template.yaml"
# --skip-download: checkov would otherwise fetch its guidelines from the internet.
"$INDEX_PILOT_CHECKOV" --file infra/template.yaml --framework cloudformation --skip-download --compact --quiet

log_step "dashboard JSON and metric names (scripts/check-metrics.py)"
python3 scripts/check-metrics.py infra/template.yaml src/report/metrics/mod.rs

log_step "the function's variables, log level and paths (scripts/check-template.py)"
python3 scripts/check-template.py infra/template.yaml src README.md

log_step "cargo lambda build --release --arm64"
if command -v rustup >/dev/null 2>&1; then
    rustup target add aarch64-unknown-linux-gnu >/dev/null
fi
cargo lambda build --release --arm64
bootstrap=target/lambda/index-pilot/bootstrap
[[ -x $bootstrap ]] || die "no $bootstrap after the build"
log_info "$bootstrap: $(du -h "$bootstrap" | cut -f1) ($(stat -c %s "$bootstrap") bytes)"
