//! The control database: settings, baselines, reindex history. Every write is a
//! short autocommit statement; nothing here holds a transaction open except the
//! migration at start-up.

mod migrate;

use std::collections::{HashMap, HashSet};

use tokio_postgres::Client;
use uuid::Uuid;

use crate::domain::eligibility::IndexInfo;
use crate::domain::ident::QualifiedName;
use crate::domain::plan::Assessment;
use crate::domain::settings::{Scope, SettingRow};
use crate::pg::describe;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot connect to the control database: {0}")]
    Connect(#[from] crate::pg::ConnectError),
    #[error("cannot read the control database's credentials: {0}")]
    Secret(#[from] crate::credentials::SecretError),
    #[error("cannot migrate the control schema index_pilot: {0}")]
    Migrate(String),
    #[error("control database: {action} failed: {error}")]
    Query { action: &'static str, error: String },
}

fn query_error(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> ControlError {
    move |error| ControlError::Query {
        action,
        error: describe(&error),
    }
}

impl crate::connect::LoginRefusal for ControlError {
    fn is_login_refusal(&self) -> bool {
        matches!(
            self,
            ControlError::Connect(crate::pg::ConnectError::LoginRefused(_))
        )
    }
}

/// Where a database lives, as the control DB keys it.
#[derive(Debug, Clone)]
pub struct DatabaseKey {
    pub target: String,
    pub database_name: String,
    pub database_oid: u32,
}

impl DatabaseKey {
    /// Where settings look for this database.
    pub fn location(&self) -> crate::domain::plan::Location<'_> {
        crate::domain::plan::Location {
            target: &self.target,
            database: &self.database_name,
        }
    }
}

/// A rebuild about to start.
pub struct ReindexStart<'a> {
    pub run_id: Uuid,
    pub database: &'a DatabaseKey,
    pub index: &'a IndexInfo,
    pub reason: &'a str,
    pub estimated_bloat: Option<f64>,
    pub backend_pid: i32,
}

/// The index as it is right after its rebuild.
#[derive(Debug, Clone, Copy)]
pub struct RebuiltIndex {
    pub oid: u32,
    pub size_bytes: u64,
    pub reltuples: f64,
}

/// A rebuild an earlier invocation started and did not see end.
#[derive(Debug, Clone)]
pub struct OpenRebuild {
    pub history_id: i64,
    pub index: QualifiedName,
    pub table: String,
    pub access_method: String,
    pub index_oid_before: u32,
    pub size_before: u64,
    pub backend_pid: Option<i32>,
    pub started_at: std::time::SystemTime,
    pub running_ms: i64,
}

/// What a scheduled invocation finds when it looks for a run to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunClaim {
    /// A new run, hop 0.
    Started(Uuid),
    /// An unfinished run whose chain went quiet, taken over at this hop.
    Resumed(Uuid, u32),
    /// A run whose invocations are still at work.
    Busy(Uuid, u32),
}

pub struct ControlStore {
    client: Client,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl ControlStore {
    /// Connects and brings the schema up to date.
    pub async fn open(
        config: &tokio_postgres::Config,
        tls: &crate::pg::Tls,
    ) -> Result<ControlStore, ControlError> {
        let mut client = crate::pg::connect(config, tls).await?;
        migrate::migrate(&mut client).await?;
        Ok(ControlStore { client })
    }

    pub async fn load_settings(&self) -> Result<Vec<SettingRow>, ControlError> {
        let rows = self
            .client
            .query(include_str!("sql/load_settings.sql"), &[])
            .await
            .map_err(query_error("loading settings"))?;
        Ok(rows
            .iter()
            .map(|row| SettingRow {
                id: row.get("id"),
                scope: Scope {
                    target: row.get("target"),
                    database: row.get("database_name"),
                    schema: row.get("schema_name"),
                    table: row.get("table_name"),
                    index: row.get("index_name"),
                },
                key: row.get("key"),
                value: row.get("value"),
            })
            .collect())
    }

    pub async fn load_baselines(
        &self,
        db: &DatabaseKey,
    ) -> Result<HashMap<u32, f64>, ControlError> {
        let rows = self
            .client
            .query(
                include_str!("sql/load_baselines.sql"),
                &[&db.target, &db.database_oid],
            )
            .await
            .map_err(query_error("loading baselines"))?;
        Ok(rows
            .iter()
            .map(|row| (row.get::<_, u32>(0), row.get::<_, f64>(1)))
            .collect())
    }

    /// Records a scan: every assessed index's size and baseline, and forgets the
    /// indexes that are gone. Two statements for the whole database.
    pub async fn save_index_states(
        &self,
        db: &DatabaseKey,
        assessments: &[&Assessment],
    ) -> Result<(), ControlError> {
        let oids: Vec<u32> = assessments.iter().map(|a| a.index.oid).collect();
        let schemas: Vec<&str> = assessments
            .iter()
            .map(|a| a.index.name.schema.as_str())
            .collect();
        let tables: Vec<&str> = assessments.iter().map(|a| a.index.table.as_str()).collect();
        let names: Vec<&str> = assessments
            .iter()
            .map(|a| a.index.name.name.as_str())
            .collect();
        let methods: Vec<&str> = assessments
            .iter()
            .map(|a| a.index.access_method.as_str())
            .collect();
        let sizes: Vec<i64> = assessments
            .iter()
            .map(|a| to_i64(a.index.size_bytes))
            .collect();
        let reltuples: Vec<f64> = assessments.iter().map(|a| a.index.reltuples).collect();
        let ratios: Vec<f64> = assessments.iter().map(|a| a.ratio).collect();
        let best: Vec<Option<f64>> = assessments.iter().map(|a| a.best_ratio).collect();
        self.client
            .execute(
                include_str!("sql/save_index_states.sql"),
                &[
                    &db.target,
                    &db.database_name,
                    &db.database_oid,
                    &oids,
                    &schemas,
                    &tables,
                    &names,
                    &methods,
                    &sizes,
                    &reltuples,
                    &ratios,
                    &best,
                ],
            )
            .await
            .map_err(query_error("saving index states"))?;
        self.client
            .execute(
                include_str!("sql/forget_dropped_indexes.sql"),
                &[&db.target, &db.database_oid, &oids],
            )
            .await
            .map_err(query_error("forgetting dropped indexes"))?;
        Ok(())
    }

    /// The history row `in_progress`, written before the rebuild starts.
    pub async fn start_reindex(&self, start: ReindexStart<'_>) -> Result<i64, ControlError> {
        let index = start.index;
        let row = self
            .client
            .query_one(
                include_str!("sql/start_reindex.sql"),
                &[
                    &start.run_id,
                    &start.database.target,
                    &start.database.database_name,
                    &start.database.database_oid,
                    &index.name.schema,
                    &index.table,
                    &index.name.name,
                    &index.access_method,
                    &index.oid,
                    &start.reason,
                    &start.estimated_bloat,
                    &to_i64(index.size_bytes),
                    &index.reltuples,
                    &start.backend_pid,
                ],
            )
            .await
            .map_err(query_error("recording a reindex start"))?;
        Ok(row.get(0))
    }

    /// Marks the history row completed and carries the index's state over to its
    /// new oid with a fresh baseline.
    pub async fn finish_reindex_completed(
        &self,
        history_id: i64,
        db: &DatabaseKey,
        old_oid: u32,
        rebuilt: RebuiltIndex,
        baseline: Option<f64>,
        duration_ms: Option<i64>,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/finish_reindex_completed.sql"),
                &[
                    &history_id,
                    &rebuilt.oid,
                    &to_i64(rebuilt.size_bytes),
                    &rebuilt.reltuples,
                    &duration_ms,
                ],
            )
            .await
            .map_err(query_error("recording a completed reindex"))?;
        let ratio = crate::domain::bloat::bytes_per_tuple(rebuilt.size_bytes, rebuilt.reltuples);
        self.client
            .execute(
                include_str!("sql/carry_over_rebuilt_index.sql"),
                &[
                    &db.target,
                    &db.database_oid,
                    &old_oid,
                    &rebuilt.oid,
                    &to_i64(rebuilt.size_bytes),
                    &rebuilt.reltuples,
                    &ratio,
                    &baseline,
                ],
            )
            .await
            .map_err(query_error(
                "carrying the baseline over to the rebuilt index",
            ))?;
        Ok(())
    }

    pub async fn finish_reindex_failed(
        &self,
        history_id: i64,
        error: &str,
        duration_ms: Option<i64>,
        leftovers: &[String],
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/finish_reindex_failed.sql"),
                &[&history_id, &error, &duration_ms, &leftovers],
            )
            .await
            .map_err(query_error("recording a failed reindex"))?;
        Ok(())
    }

    /// Invalid indexes that our own failed rebuilds left in this database.
    pub async fn recorded_leftovers(
        &self,
        db: &DatabaseKey,
    ) -> Result<HashSet<QualifiedName>, ControlError> {
        let rows = self
            .client
            .query(
                include_str!("sql/recorded_leftovers.sql"),
                &[&db.target, &db.database_oid],
            )
            .await
            .map_err(query_error("loading recorded leftovers"))?;
        Ok(rows
            .iter()
            .map(|row| QualifiedName::new(row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect())
    }

    pub async fn forget_leftover(
        &self,
        db: &DatabaseKey,
        leftover: &QualifiedName,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/forget_leftover.sql"),
                &[
                    &db.target,
                    &db.database_oid,
                    &leftover.schema,
                    &leftover.name,
                ],
            )
            .await
            .map_err(query_error("forgetting a dropped leftover"))?;
        Ok(())
    }

    /// Bytes per second of this target's recent rebuilds, if it has any.
    pub async fn learned_throughput(&self, target: &str) -> Result<Option<f64>, ControlError> {
        let row = self
            .client
            .query_one(include_str!("sql/learned_throughput.sql"), &[&target])
            .await
            .map_err(query_error("reading the learned rebuild throughput"))?;
        Ok(row.get(0))
    }

    pub async fn rebuilds_in_progress(
        &self,
        db: &DatabaseKey,
    ) -> Result<Vec<OpenRebuild>, ControlError> {
        let rows = self
            .client
            .query(
                include_str!("sql/rebuilds_in_progress.sql"),
                &[&db.target, &db.database_oid],
            )
            .await
            .map_err(query_error("loading rebuilds in progress"))?;
        Ok(rows
            .iter()
            .map(|row| OpenRebuild {
                history_id: row.get("id"),
                index: QualifiedName::new(
                    row.get::<_, String>("schema_name"),
                    row.get::<_, String>("index_name"),
                ),
                table: row.get("table_name"),
                access_method: row.get("access_method"),
                index_oid_before: row.get("index_oid_before"),
                size_before: u64::try_from(row.get::<_, i64>("size_before")).unwrap_or(0),
                backend_pid: row.get("backend_pid"),
                started_at: row.get("started_at"),
                running_ms: row.get("running_ms"),
            })
            .collect())
    }

    /// Takes the target's lease for `duration_ms`, unless another holder has it.
    pub async fn acquire_lease(
        &self,
        target: &str,
        holder: Uuid,
        duration_ms: i64,
    ) -> Result<bool, ControlError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/acquire_lease.sql"),
                &[&target, &holder, &duration_ms],
            )
            .await
            .map_err(query_error("taking a target lease"))?;
        Ok(row.is_some())
    }

    pub async fn release_lease(&self, target: &str, holder: Uuid) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/release_lease.sql"), &[&target, &holder])
            .await
            .map_err(query_error("releasing a target lease"))?;
        Ok(())
    }

    /// Starts a run over `targets`, or finds the one already running: resumed when
    /// its last hop is older than `stale_after_ms` (its chain was lost), else busy.
    pub async fn claim_run(
        &self,
        targets: &[String],
        stale_after_ms: i64,
    ) -> Result<RunClaim, ControlError> {
        // Twice: a run that finishes between the two statements leaves room for a new one.
        for _ in 0..2 {
            let run_id = Uuid::new_v4();
            let started = self
                .client
                .query_opt(include_str!("sql/start_run.sql"), &[&run_id])
                .await
                .map_err(query_error("starting a run"))?;
            if started.is_some() {
                self.client
                    .execute(
                        include_str!("sql/add_run_targets.sql"),
                        &[&run_id, &targets],
                    )
                    .await
                    .map_err(query_error("recording a run's targets"))?;
                return Ok(RunClaim::Started(run_id));
            }
            let Some(running) = self
                .client
                .query_opt(include_str!("sql/running_run.sql"), &[])
                .await
                .map_err(query_error("finding the running run"))?
            else {
                continue;
            };
            let (run_id, hop): (Uuid, i32) = (running.get("run_id"), running.get("hop"));
            let hop = u32::try_from(hop).unwrap_or(0);
            if running.get::<_, i64>("idle_ms") < stale_after_ms {
                return Ok(RunClaim::Busy(run_id, hop));
            }
            return match self.claim_hop(run_id, hop + 1).await? {
                true => Ok(RunClaim::Resumed(run_id, hop + 1)),
                false => Ok(RunClaim::Busy(run_id, hop)),
            };
        }
        Err(ControlError::Query {
            action: "starting a run",
            error: "runs kept starting and finishing under this invocation; the next schedule tries again".to_owned(),
        })
    }

    /// Claims `hop` of a running run; false for a duplicate or stale delivery.
    pub async fn claim_hop(&self, run_id: Uuid, hop: u32) -> Result<bool, ControlError> {
        let hop = i32::try_from(hop).unwrap_or(i32::MAX);
        let row = self
            .client
            .query_opt(include_str!("sql/claim_hop.sql"), &[&run_id, &hop])
            .await
            .map_err(query_error("claiming a hop"))?;
        Ok(row.is_some())
    }

    pub async fn pending_targets(&self, run_id: Uuid) -> Result<Vec<String>, ControlError> {
        let rows = self
            .client
            .query(include_str!("sql/pending_targets.sql"), &[&run_id])
            .await
            .map_err(query_error("loading a run's pending targets"))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub async fn finish_run_target(&self, run_id: Uuid, target: &str) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/finish_run_target.sql"),
                &[&run_id, &target],
            )
            .await
            .map_err(query_error("marking a run's target done"))?;
        Ok(())
    }

    pub async fn finish_run(&self, run_id: Uuid) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/finish_run.sql"), &[&run_id])
            .await
            .map_err(query_error("marking a run complete"))?;
        Ok(())
    }

    /// Deletes history older than the retention period; returns the rows deleted.
    pub async fn purge_history(&self, retention: &str) -> Result<u64, ControlError> {
        self.client
            .execute(include_str!("sql/purge_history.sql"), &[&retention])
            .await
            .map_err(|e| ControlError::Query {
                action: "purging history (is reindex_history_retention_period a valid interval?)",
                error: describe(&e),
            })
    }
}
