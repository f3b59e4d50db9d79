//! The control database: settings, maintenance windows, baselines, reindex history,
//! leftovers, quarantine, runs. Every write is a short autocommit statement; nothing
//! here holds a transaction open except the migration at start-up.

mod aside;
mod migrate;
mod rebuilds;
mod runs;
mod windows;

pub use aside::{LeftoverRecord, QuarantineEntry};
pub use rebuilds::{OpenRebuild, RebuiltIndex, ReindexFailure, ReindexStart};
pub use runs::{ServerRebuild, TargetProgress};

use std::collections::HashMap;

use tokio_postgres::Client;

use crate::domain::plan::Assessment;
use crate::domain::settings::{Scope, SettingRow};
use crate::pg::{column, PgError};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot connect to the control database: {0}")]
    Connect(#[from] crate::pg::ConnectError),
    #[error("cannot read the control database's credentials: {0}")]
    Secret(#[from] crate::credentials::SecretError),
    #[error("cannot migrate the control schema index_pilot: {0}")]
    Migrate(String),
    #[error("control database: {action} failed: {error}")]
    Query {
        action: &'static str,
        #[source]
        error: PgError,
    },
    #[error("control database: {action}: {problem}")]
    Conflict {
        action: &'static str,
        problem: &'static str,
    },
}

fn failed<E: Into<PgError>>(action: &'static str) -> impl FnOnce(E) -> ControlError {
    move |error| ControlError::Query {
        action,
        error: error.into(),
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
            .map_err(failed("loading settings"))?;
        rows.iter()
            .map(|row| {
                Ok(SettingRow {
                    id: column(row, "id")?,
                    scope: Scope {
                        target: column(row, "target")?,
                        database: column(row, "database_name")?,
                        schema: column(row, "schema_name")?,
                        table: column(row, "table_name")?,
                        index: column(row, "index_name")?,
                    },
                    key: column(row, "key")?,
                    value: column(row, "value")?,
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading settings"))
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
            .map_err(failed("loading baselines"))?;
        rows.iter()
            .map(|row| Ok((column(row, "index_oid")?, column(row, "best_ratio")?)))
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading baselines"))
    }

    /// Records a scan: every measured index's size and baseline, and forgets the
    /// indexes that are gone (`seen`: every index the scan found, measured or not).
    /// Two statements for the whole database.
    pub async fn save_index_states(
        &self,
        db: &DatabaseKey,
        measured: &[&Assessment],
        seen: &[u32],
    ) -> Result<(), ControlError> {
        let oids: Vec<u32> = measured.iter().map(|a| a.index.oid).collect();
        let schemas: Vec<&str> = measured
            .iter()
            .map(|a| a.index.name.schema.as_str())
            .collect();
        let tables: Vec<&str> = measured.iter().map(|a| a.index.table.as_str()).collect();
        let names: Vec<&str> = measured
            .iter()
            .map(|a| a.index.name.name.as_str())
            .collect();
        let methods: Vec<&str> = measured
            .iter()
            .map(|a| a.index.access_method.as_str())
            .collect();
        let sizes: Vec<i64> = measured
            .iter()
            .map(|a| to_i64(a.index.size_bytes))
            .collect();
        let reltuples: Vec<f64> = measured.iter().map(|a| a.index.reltuples).collect();
        let ratios: Vec<f64> = measured.iter().map(|a| a.ratio).collect();
        let best: Vec<Option<f64>> = measured.iter().map(|a| a.best_ratio).collect();
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
            .map_err(failed("saving index states"))?;
        self.client
            .execute(
                include_str!("sql/forget_dropped_indexes.sql"),
                &[&db.target, &db.database_oid, &seen],
            )
            .await
            .map_err(failed("forgetting dropped indexes"))?;
        Ok(())
    }

    /// Bytes per second of this target's recent rebuilds, if it has any.
    pub async fn learned_throughput(&self, target: &str) -> Result<Option<f64>, ControlError> {
        let row = self
            .client
            .query_one(include_str!("sql/learned_throughput.sql"), &[&target])
            .await
            .map_err(failed("reading the learned rebuild throughput"))?;
        column(&row, "bytes_per_second").map_err(failed("reading the learned rebuild throughput"))
    }

    /// Deletes history older than the retention period; returns the rows deleted.
    /// Deletes history, and the runs it belonged to, older than `retention`.
    pub async fn purge_history(&self, retention: &str) -> Result<u64, ControlError> {
        let action = "purging history (is reindex_history_retention_period a valid interval?)";
        let purged = self
            .client
            .execute(include_str!("sql/purge_history.sql"), &[&retention])
            .await
            .map_err(failed(action))?;
        self.client
            .execute(include_str!("sql/purge_runs.sql"), &[&retention])
            .await
            .map_err(failed(action))?;
        Ok(purged)
    }
}
