//! What the integration tests share: throwaway PostgreSQL clusters (`cluster`), a
//! fixture per test with a target and a control database of its own, and the steps
//! and tools the tests use (a proxy, a standby, slow indexes, watchers). A crate of
//! its own, which every test binary reaches as `common`.

pub mod certs;
mod cluster;
pub mod moto;
pub mod proxy;
pub mod recorded;
pub mod replication;
mod slow;
mod statio;
pub mod steps;
pub mod watch;

pub use cluster::{
    connect_url, free_port, pg_bin_dir, pgvector_bin_dir, pgvector_old_bin_dir, Cluster,
};
pub use slow::{
    create_slow_confirmation, create_slow_indexes, create_slow_tables, make_rebuilds_slow,
};

use std::sync::OnceLock;
use std::time::Duration;

use index_pilot::config::{Config, Source};
use index_pilot::invocation::continuation::InProcess;
use index_pilot::invocation::handler::{run_in_process, App, HandlerError};
use index_pilot::login::secrets::NoSecrets;
use index_pilot::report::{Report, TargetReport};
use lambda_runtime::Context;
use serde_json::Value;
use tokio_postgres::Client;

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

/// One server with pgvector shared by every vector test of a test binary.
pub fn pgvector_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start_pgvector(&[]))
}

pub type LocalApp = App<InProcess>;

/// A test's world: a target database and a control database of its own.
pub struct Fixture {
    /// The cluster of the control database, and of the target database unless
    /// [`Fixture::target_at`] put that elsewhere.
    pub cluster: &'static Cluster,
    /// Where the target database is reached.
    pub target_port: u16,
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
            target_port: cluster.port,
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

    /// The target database reached at `port` instead (a proxy, another cluster where
    /// the test made the database), by index-pilot and the test's own connections.
    pub fn target_at(self, port: u16) -> Fixture {
        let fixture = Fixture {
            target_port: port,
            ..self
        };
        let url = fixture.url_as_role("postgres");
        fixture.with_targets(serde_json::json!([{"name": "main", "url": url}]))
    }

    /// The target database's URL for another role.
    pub fn url_as_role(&self, role: &str) -> String {
        format!(
            "postgresql://{role}@127.0.0.1:{}/{}",
            self.target_port, self.target_db
        )
    }

    /// The control database's connection settings.
    pub fn control_config(&self) -> tokio_postgres::Config {
        match &self.app.config.control.source {
            Source::Url(config) => (**config).clone(),
            _ => panic!("fixtures use a control URL"),
        }
    }

    pub async fn target(&self) -> Client {
        connect_url(&self.url_as_role("postgres")).await
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
