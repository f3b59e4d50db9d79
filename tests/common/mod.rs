//! Throwaway PostgreSQL clusters for the integration tests: initdb on a free port,
//! run as `nobody` when the tests run as root, stopped and deleted when the test
//! process ends (even if it is killed: the cluster's keeper shell sees its stdin close).

#![allow(dead_code)]

pub mod certs;
pub mod moto;
pub mod proxy;
mod slow;
pub mod steps;
pub mod watch;

#[allow(unused_imports)] // each test binary uses some of them
pub use slow::{create_slow_indexes, create_slow_tables};

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use index_pilot::config::{Config, Source};
use index_pilot::continuation::InProcess;
use index_pilot::credentials::NoSecrets;
use index_pilot::handler::{run_in_process, App, HandlerError};
use index_pilot::report::{Report, TargetReport};
use lambda_runtime::Context;
use serde_json::Value;
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

/// (uid, gid) to run the cluster as: `nobody` when we are root, else ourselves.
fn cluster_user() -> Option<(u32, u32)> {
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

fn as_cluster_user(command: &mut Command) -> &mut Command {
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
        let bin = pg_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("index-pilot-pg-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        if let Some((uid, gid)) = cluster_user() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown cluster dir");
        }
        let data = dir.join("data");
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
                .arg(&data)
                .current_dir(&dir),
        )
        .output()
        .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
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
                .arg(&bin)
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
        cluster.wait_until_ready(&bin);
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
        let (client, connection) = tokio_postgres::connect(&self.url(db), NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {db}: {e}"));
        tokio::spawn(connection);
        client
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

/// A Lambda context whose deadline is `budget` from now.
pub fn lambda_context(budget: Duration) -> Context {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let mut context = Context::default();
    context.request_id = "test".to_owned();
    context.deadline = now_ms + budget.as_millis() as u64;
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:index-pilot".to_owned();
    context
}

/// One cluster shared by every test of a test binary; each test uses its own databases.
pub fn shared_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

pub type LocalApp = App<NoSecrets, InProcess>;

/// A test's world: a target database and a control database of its own.
pub struct Fixture {
    pub cluster: &'static Cluster,
    pub target_db: String,
    pub control_db: String,
    pub app: LocalApp,
}

impl Fixture {
    /// A fixture whose indexes are all candidates when first seen (`initial_baseline
    /// = rebuild`): what the tests of the engine want, so that a fresh index is
    /// rebuilt without being bloated first. The tests of the first-sight rules use
    /// [`Fixture::bare`], with the product's defaults.
    pub async fn new(name: &str) -> Fixture {
        let fixture = Fixture::bare(name).await;
        fixture.set(&[], "initial_baseline", "rebuild").await;
        fixture
    }

    /// A target and a control database of its own, the control schema not yet made.
    pub async fn bare(name: &str) -> Fixture {
        Fixture::bare_on(shared_cluster(), name).await
    }

    /// [`Fixture::bare`] on a cluster of the test's own, for what reaches every
    /// database of a server (replication slots, server settings).
    pub async fn bare_on(cluster: &'static Cluster, name: &str) -> Fixture {
        let target_db = format!("{name}_target");
        let control_db = format!("{name}_control");
        cluster.create_database(&target_db).await;
        cluster.create_database(&control_db).await;
        let targets = serde_json::json!([{"name": "main", "url": cluster.url(&target_db)}]);
        let config = Config::from_values(
            Some(&cluster.url(&control_db)),
            None,
            Some(&targets.to_string()),
        )
        .expect("test configuration");
        let mut fixture = Fixture {
            cluster,
            target_db,
            control_db,
            app: App::new(config, NoSecrets, InProcess::default()),
        };
        fixture.app.config.safety_margin = Duration::ZERO;
        fixture
    }

    /// Replaces the targets with these `INDEX_PILOT_TARGETS` entries.
    pub fn with_targets(mut self, targets: Value) -> Fixture {
        let config = Config::from_values(
            Some(&self.cluster.url(&self.control_db)),
            None,
            Some(&targets.to_string()),
        )
        .expect("test configuration");
        self.app = App::new(config, NoSecrets, InProcess::default());
        self.app.config.safety_margin = Duration::ZERO;
        self
    }

    /// The target database's URL for another role.
    pub fn url_as_role(&self, role: &str) -> String {
        self.cluster.url_as(role, &self.target_db)
    }

    /// The control database's connection settings.
    pub fn control_config(&self) -> tokio_postgres::Config {
        match &self.app.config.control.source {
            Source::Url(config) => (**config).clone(),
            _ => panic!("fixtures use a control URL"),
        }
    }

    pub async fn target(&self) -> Client {
        self.cluster.connect(&self.target_db).await
    }

    pub async fn control(&self) -> Client {
        self.cluster.connect(&self.control_db).await
    }

    /// Creates the control schema and stores one setting row.
    pub async fn set(&self, scope: &[(&str, &str)], key: &str, value: &str) {
        index_pilot::control::ControlStore::open(
            &self.control_config(),
            &self.app.config.control.tls,
        )
        .await
        .expect("control schema");
        let mut columns = vec!["key", "value"];
        let mut values = vec![key, value];
        for (column, pattern) in scope {
            columns.push(column);
            values.push(pattern);
        }
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO index_pilot.settings ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        );
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        self.control()
            .await
            .execute(&sql, &params)
            .await
            .expect("insert setting");
    }

    /// The event and every hop it hands over, in this process; each invocation gets
    /// the fallback budget (no deadline).
    pub async fn try_invoke_hops(&self, event: Value) -> Result<Vec<Report>, HandlerError> {
        run_in_process(&self.app, event, || {
            let mut context = Context::default();
            context.request_id = "test".to_owned();
            context
        })
        .await
    }

    /// Like [`Fixture::try_invoke_hops`], but each invocation has a deadline
    /// `budget` from its start (and the safety margin is 0), as Lambda would give.
    pub async fn invoke_hops_with_budget(&self, event: Value, budget: Duration) -> Vec<Report> {
        run_in_process(&self.app, event.clone(), || lambda_context(budget))
            .await
            .unwrap_or_else(|e| panic!("invocation {event} failed: {e}"))
    }

    /// The first invocation's report (the only one when the run fits in it).
    pub async fn try_invoke(&self, event: Value) -> Result<Report, HandlerError> {
        let mut reports = self.try_invoke_hops(event).await?;
        Ok(reports.remove(0))
    }

    pub async fn invoke(&self, event: Value) -> Report {
        self.try_invoke(event.clone())
            .await
            .unwrap_or_else(|e| panic!("invocation {event} failed: {e}"))
    }

    /// The report entry of the fixture's own target.
    pub async fn invoke_main(&self, event: Value) -> TargetReport {
        let report = self.invoke(event).await;
        let entry = report
            .targets
            .into_iter()
            .find(|t| t.name == "main")
            .expect("a report entry for target main");
        assert_eq!(
            entry.status,
            index_pilot::report::Status::Ok,
            "target main: {:?}",
            entry.reason
        );
        entry
    }

    /// VACUUM ANALYZE, which cannot share a simple query with other statements.
    pub async fn vacuum(&self, tables: &str) {
        self.target()
            .await
            .batch_execute(&format!("VACUUM ANALYZE {tables}"))
            .await
            .unwrap_or_else(|e| panic!("vacuum {tables}: {e}"));
    }

    /// relfilenode of every index in the target database, by qualified name.
    pub async fn relfilenodes(&self) -> std::collections::BTreeMap<String, u32> {
        self.target()
            .await
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname), c.relfilenode
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('i', 'I') AND c.oid >= 16384",
                &[],
            )
            .await
            .expect("relfilenodes")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    pub async fn index_size(&self, schema: &str, name: &str) -> i64 {
        self.target()
            .await
            .query_one(
                "SELECT pg_relation_size(c.oid) FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &name],
            )
            .await
            .expect("index size")
            .get(0)
    }
}

/// Any report part as JSON, to read fields by name.
pub fn json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("serialisable")
}
