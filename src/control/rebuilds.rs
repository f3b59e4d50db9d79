//! The rebuild history: a rebuild recorded when it starts, the copy it made, how it
//! ended, and what earlier rebuilds tell about the next.

use std::collections::HashSet;
use std::time::SystemTime;

use tokio_postgres::Row;
use uuid::Uuid;

use super::{failed, to_i64, ControlError, ControlStore, DatabaseKey};
use crate::domain::blocker::Blocker;
use crate::domain::eligibility::IndexInfo;
use crate::domain::failure::{FailureClass, PastRebuild};
use crate::domain::ident::QualifiedName;
use crate::domain::leftovers::RebuildTrace;
use crate::pg::{column, PgError};

/// A rebuild about to start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReindexStart<'a> {
    pub(crate) run_id: Uuid,
    pub(crate) database: &'a DatabaseKey,
    pub(crate) index: &'a IndexInfo,
    pub(crate) reason: &'a str,
    pub(crate) estimated_bloat: Option<f64>,
    pub(crate) backend_pid: i32,
    pub(crate) backend_start: SystemTime,
    pub(crate) invalid_before: &'a HashSet<u32>,
    /// The server (host:port) and how many rebuilds it may run at once.
    pub(crate) server: &'a str,
    pub(crate) server_limit: u32,
}

/// The index as it is right after its rebuild.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RebuiltIndex {
    pub(crate) oid: u32,
    pub(crate) size_bytes: u64,
    pub(crate) reltuples: f64,
}

/// A failed rebuild, as the history keeps it.
pub(crate) struct ReindexFailure<'a> {
    pub(crate) error: &'a str,
    pub(crate) sqlstate: Option<&'a str>,
    pub(crate) class: FailureClass,
    pub(crate) duration_ms: Option<i64>,
    pub(crate) blocked_by: &'a [Blocker],
}

/// A rebuild an earlier invocation started and did not see end.
#[derive(Debug, Clone)]
pub(crate) struct OpenRebuild {
    pub(crate) history_id: i64,
    pub(crate) index: QualifiedName,
    pub(crate) table: String,
    /// For a TOAST index, the owning table (whose settings apply).
    pub(crate) owner: Option<QualifiedName>,
    pub(crate) access_method: String,
    pub(crate) index_oid_before: u32,
    pub(crate) size_before: u64,
    pub(crate) estimated_bloat: Option<f64>,
    pub(crate) backend_pid: Option<i32>,
    /// `None` for rebuilds recorded before it was kept.
    pub(crate) backend_start: Option<SystemTime>,
    /// `None` for rebuilds recorded before it was kept.
    pub(crate) trace: Option<RebuildTrace>,
    pub(crate) running_ms: i64,
}

fn open_rebuild(row: &Row) -> Result<OpenRebuild, PgError> {
    let index = QualifiedName::new(
        column::<String>(row, "schema_name")?,
        column::<String>(row, "index_name")?,
    );
    let table_oid: Option<u32> = column(row, "table_oid")?;
    let index_oid_before: u32 = column(row, "index_oid_before")?;
    let invalid_before: Vec<u32> = column(row, "invalid_before")?;
    let owner_schema: Option<String> = column(row, "owner_schema")?;
    let owner_table: Option<String> = column(row, "owner_table")?;
    Ok(OpenRebuild {
        history_id: column(row, "id")?,
        trace: table_oid.map(|table_oid| RebuildTrace {
            table_oid,
            index_oid_before,
            index_name: index.name.clone(),
            invalid_before: invalid_before.into_iter().collect(),
            copy_oid: column(row, "copy_oid").ok().flatten(),
        }),
        index,
        table: column(row, "table_name")?,
        owner: owner_schema
            .zip(owner_table)
            .map(|(s, t)| QualifiedName::new(s, t)),
        access_method: column(row, "access_method")?,
        index_oid_before,
        size_before: u64::try_from(column::<i64>(row, "size_before")?).unwrap_or(0),
        estimated_bloat: column(row, "estimated_bloat")?,
        backend_pid: column(row, "backend_pid")?,
        backend_start: column(row, "backend_start")?,
        running_ms: column(row, "running_ms")?,
    })
}

impl ControlStore {
    /// The history row `in_progress`, written before the rebuild starts; `None` when
    /// its server already runs as many rebuilds as it may.
    pub(crate) async fn start_reindex(
        &self,
        start: ReindexStart<'_>,
    ) -> Result<Option<i64>, ControlError> {
        let index = start.index;
        let invalid_before: Vec<u32> = start.invalid_before.iter().copied().collect();
        let owner = index.toast_owner.as_ref();
        let row = self
            .client
            .query_one(
                include_str!("sql/start_reindex.sql"),
                &[
                    &start.server,
                    &i32::try_from(start.server_limit).unwrap_or(i32::MAX),
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
                    &start.backend_start,
                    &index.table_oid,
                    &owner.map(|o| o.schema.as_str()),
                    &owner.map(|o| o.name.as_str()),
                    &invalid_before,
                ],
            )
            .await
            .map_err(failed("recording a reindex start"))?;
        column(&row, "id").map_err(failed("recording a reindex start"))
    }

    /// Gives back the slot of a rebuild that did not start after all.
    pub(crate) async fn abandon_reindex(&self, history_id: i64) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/abandon_reindex.sql"), &[&history_id])
            .await
            .map_err(failed("giving back a rebuild's slot"))?;
        Ok(())
    }

    /// The copy a running rebuild builds, once seen.
    pub(crate) async fn record_copy(
        &self,
        history_id: i64,
        copy_oid: u32,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/record_copy.sql"),
                &[&history_id, &copy_oid],
            )
            .await
            .map_err(failed("recording a rebuild's copy"))?;
        Ok(())
    }

    /// Marks the history row completed and moves the index's state to its new oid
    /// with a fresh baseline, in one statement. `note`: what failed after the swap.
    pub(crate) async fn finish_reindex_completed(
        &self,
        history_id: i64,
        rebuilt: RebuiltIndex,
        baseline: Option<f64>,
        duration_ms: Option<i64>,
        note: Option<&str>,
    ) -> Result<(), ControlError> {
        let ratio = crate::domain::bloat::bytes_per_tuple(rebuilt.size_bytes, rebuilt.reltuples);
        self.client
            .execute(
                include_str!("sql/finish_reindex_completed.sql"),
                &[
                    &history_id,
                    &rebuilt.oid,
                    &to_i64(rebuilt.size_bytes),
                    &rebuilt.reltuples,
                    &duration_ms,
                    &note,
                    &ratio,
                    &baseline,
                ],
            )
            .await
            .map_err(failed("recording a completed reindex"))?;
        Ok(())
    }

    pub(crate) async fn finish_reindex_failed(
        &self,
        history_id: i64,
        failure: ReindexFailure<'_>,
    ) -> Result<(), ControlError> {
        let blocked_by = (!failure.blocked_by.is_empty())
            .then(|| serde_json::to_value(failure.blocked_by).ok())
            .flatten();
        self.client
            .execute(
                include_str!("sql/finish_reindex_failed.sql"),
                &[
                    &history_id,
                    &failure.error,
                    &failure.sqlstate,
                    &failure.class.as_str(),
                    &failure.duration_ms,
                    &blocked_by,
                ],
            )
            .await
            .map_err(failed("recording a failed reindex"))?;
        Ok(())
    }

    pub(crate) async fn rebuilds_in_progress(
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
            .map_err(failed("loading rebuilds in progress"))?;
        rows.iter()
            .map(open_rebuild)
            .collect::<Result<_, _>>()
            .map_err(failed("loading rebuilds in progress"))
    }

    /// How the last rebuilds of an index ended, newest first, since its last release
    /// from quarantine.
    pub(crate) async fn past_rebuilds(
        &self,
        db: &DatabaseKey,
        index_oid: u32,
    ) -> Result<Vec<PastRebuild>, ControlError> {
        let rows = self
            .client
            .query(
                include_str!("sql/past_rebuilds.sql"),
                &[&db.target, &db.database_oid, &index_oid],
            )
            .await
            .map_err(failed("reading an index's past rebuilds"))?;
        rows.iter()
            .map(|row| {
                let status: String = column(row, "status")?;
                let class: Option<String> = column(row, "failure_class")?;
                Ok(match status.as_str() {
                    "completed" => PastRebuild::Completed,
                    _ => PastRebuild::Failed(
                        class
                            .as_deref()
                            .and_then(FailureClass::from_name)
                            .unwrap_or(FailureClass::Other),
                    ),
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed("reading an index's past rebuilds"))
    }
}
