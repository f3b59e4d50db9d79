//! The control database: settings, maintenance windows, baselines, reindex history,
//! leftovers, quarantine, runs. Every write is a short autocommit statement; nothing
//! here holds a transaction open except the migration at start-up.

mod columns;
mod leftovers;
mod migrate;
mod quarantine;
mod reads;
mod rebuilds;
mod runs;
mod slots;
mod windows;

pub(crate) use leftovers::LeftoverRecord;
pub(crate) use quarantine::QuarantineEntry;
pub(crate) use reads::{ReadTimeout, ReadTimeouts};
pub(crate) use rebuilds::{OpenRebuild, RebuiltIndex, ReindexFailure, ReindexStart};
pub(crate) use runs::{ProgressRecord, ServerRebuild};

use std::time::Duration;

use futures::TryStreamExt;
use tokio_postgres::types::ToSql;

use crate::domain::baseline::BaselineSource;
use crate::domain::forecast::Anchor;
use crate::domain::settings::{Scope, SettingRow};
use crate::domain::stored::{Changes, StateRow, StoredStates};
use crate::domain::throughput::{LearnedRate, Throughput};
use crate::pg::{column, Answered, PgError};
use columns::StateColumns;

/// Every control statement is short: the server ends one at this statement_timeout
/// (sql/prepare_session.sql), and one without an answer at all (a failover, a
/// network that swallows packets) is given up a little later.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);
/// The schema's migration, at start-up, may rewrite tables.
const MIGRATED_WITHIN: Duration = Duration::from_secs(300);

/// Index states written per statement: a first scan of a large database writes every
/// index, and one statement of 100,000 rows holds them all in memory twice (the
/// arrays, and their encoding).
const SAVE_CHUNK: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot connect to the control database {0}")]
    Connect(#[from] crate::pg::ConnectError),
    #[error("cannot read the control database's credentials: {0}")]
    Secret(#[from] crate::login::secrets::SecretError),
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

impl crate::login::connect::LoginRefusal for ControlError {
    fn is_login_refusal(&self) -> bool {
        matches!(
            self,
            ControlError::Connect(crate::pg::ConnectError::LoginRefused { .. })
        )
    }
}

/// Where a database lives, as the control DB keys it.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseKey {
    pub(crate) target: String,
    pub(crate) database_name: String,
    pub(crate) database_oid: u32,
}

impl DatabaseKey {
    /// Where settings look for this database.
    pub(crate) fn location(&self) -> crate::domain::plan::Location<'_> {
        crate::domain::plan::Location {
            target: &self.target,
            database: &self.database_name,
        }
    }
}

pub struct ControlStore {
    client: Answered,
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
        tokio::time::timeout(MIGRATED_WITHIN, migrate::migrate(&mut client))
            .await
            .map_err(|_| {
                ControlError::Migrate(format!(
                    "no answer from the server within {}s",
                    MIGRATED_WITHIN.as_secs()
                ))
            })??;
        let client = Answered::new(client, ANSWER_WITHIN);
        client
            .query_one(include_str!("sql/prepare_session.sql"), &[])
            .await
            .map_err(failed("preparing the session"))?;
        Ok(ControlStore { client })
    }

    pub(crate) async fn load_settings(&self) -> Result<Vec<SettingRow>, ControlError> {
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

    /// What the control database holds of one database's indexes, read row by row
    /// (a large database has a hundred thousand).
    pub(crate) async fn load_index_states(
        &self,
        db: &DatabaseKey,
    ) -> Result<StoredStates, ControlError> {
        self.client
            .bounded(self.read_index_states(db))
            .await
            .map_err(failed("loading index states"))
    }

    async fn read_index_states(&self, db: &DatabaseKey) -> Result<StoredStates, PgError> {
        let parameters: [&(dyn ToSql + Sync); 2] = [&db.target, &db.database_oid];
        let scanned = self
            .client
            .query_one(include_str!("sql/database_scanned.sql"), &parameters)
            .await?;
        let rows = self
            .client
            .query_raw(include_str!("sql/load_index_states.sql"), parameters)
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut stored = StoredStates {
            scanned_before: column(&scanned, "scanned")?,
            ..StoredStates::default()
        };
        while let Some(row) = rows.try_next().await? {
            let oid: u32 = column(&row, "index_oid")?;
            match column::<Option<f64>>(&row, "best_ratio")? {
                Some(best) => {
                    stored.baselines.insert(oid, best);
                    let source: Option<String> = column(&row, "baseline_source")?;
                    if source.as_deref() == Some(BaselineSource::NoEstimate.as_str()) {
                        stored.unestimated.insert(oid);
                    }
                }
                None if column(&row, "from_first_scan")? => {
                    stored.awaiting_initial.insert(oid);
                }
                None => {}
            }
            stored.digests.insert(oid, column(&row, "state_digest")?);
        }
        Ok(stored)
    }

    /// Where these indexes' growth is measured from (for a dry run's forecast).
    pub(crate) async fn load_anchors(
        &self,
        db: &DatabaseKey,
        oids: &[u32],
    ) -> Result<std::collections::HashMap<u32, Anchor>, ControlError> {
        let action = "loading the indexes' trends";
        if oids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let rows = self
            .client
            .query(
                include_str!("sql/load_anchors.sql"),
                &[&db.target, &db.database_oid, &oids],
            )
            .await
            .map_err(failed(action))?;
        rows.iter()
            .map(|row| {
                let since: f64 = column(row, "trend_since")?;
                Ok((
                    column::<u32>(row, "index_oid")?,
                    Anchor {
                        since: jiff::Timestamp::from_second(since as i64)
                            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                        ratio: column(row, "trend_ratio")?,
                    },
                ))
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed(action))
    }

    /// Replaces a baseline that pgstatindex showed wrong.
    pub(crate) async fn correct_baseline(
        &self,
        db: &DatabaseKey,
        index_oid: u32,
        best_ratio: f64,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/correct_baseline.sql"),
                &[&db.target, &db.database_oid, &index_oid, &best_ratio],
            )
            .await
            .map_err(failed("correcting a baseline"))?;
        Ok(())
    }

    /// Records a scan: the indexes whose state changed (in chunks: a first scan
    /// writes every index), the ones it no longer saw, and when it was.
    pub(crate) async fn save_index_states(
        &self,
        db: &DatabaseKey,
        changes: &Changes<'_>,
    ) -> Result<(), ControlError> {
        for chunk in changes.changed.chunks(SAVE_CHUNK) {
            self.save_chunk(db, chunk).await?;
        }
        let forget = async {
            if changes.forgotten.is_empty() {
                return Ok(0);
            }
            self.client
                .execute(
                    include_str!("sql/forget_indexes.sql"),
                    &[&db.target, &db.database_oid, &changes.forgotten],
                )
                .await
                .map_err(failed("forgetting dropped indexes"))
        };
        let scanned = async {
            self.client
                .execute(
                    include_str!("sql/record_database_scan.sql"),
                    &[&db.target, &db.database_oid, &db.database_name],
                )
                .await
                .map_err(failed("recording the scan"))
        };
        tokio::try_join!(forget, scanned)?;
        Ok(())
    }

    async fn save_chunk(&self, db: &DatabaseKey, rows: &[StateRow]) -> Result<(), ControlError> {
        let columns = StateColumns::of(rows);
        self.client
            .execute(
                include_str!("sql/save_index_states.sql"),
                &[
                    &db.target,
                    &db.database_name,
                    &db.database_oid,
                    &columns.oids,
                    &columns.schemas,
                    &columns.tables,
                    &columns.names,
                    &columns.methods,
                    &columns.sizes,
                    &columns.reltuples,
                    &columns.ratios,
                    &columns.best,
                    &columns.digests,
                    &columns.sources,
                    &columns.first_scan,
                    &columns.scale_factors,
                    &columns.thresholds,
                    &columns.reliable,
                    &columns.skipped_by,
                    &columns.skip_settings,
                    &columns.verdicts,
                    &columns.whys,
                ],
            )
            .await
            .map_err(failed("saving index states"))?;
        Ok(())
    }

    /// Bytes per second of this target's recent rebuilds, per access method.
    pub(crate) async fn learned_throughput(
        &self,
        target: &str,
    ) -> Result<Throughput, ControlError> {
        let action = "reading the learned rebuild throughput";
        let rows = self
            .client
            .query(include_str!("sql/learned_throughput.sql"), &[&target])
            .await
            .map_err(failed(action))?;
        let rates = rows
            .iter()
            .map(|row| {
                Ok(LearnedRate {
                    access_method: column(row, "access_method")?,
                    rebuilds: u32::try_from(column::<i32>(row, "rebuilds")?).unwrap_or(0),
                    bytes_per_second: column(row, "bytes_per_second")?,
                })
            })
            .collect::<Result<Vec<_>, PgError>>()
            .map_err(failed(action))?;
        Ok(Throughput::from_history(rates))
    }

    /// Deletes history older than the retention period; returns the rows deleted.
    /// Deletes history, and the runs it belonged to, older than `retention`.
    pub(crate) async fn purge_history(&self, retention: &str) -> Result<u64, ControlError> {
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
