//! The catalog scan: every index with its size and tuple count, read without ever
//! waiting for a lock and without trusting any column to be what it usually is.

use futures::TryStreamExt;
use tokio_postgres::Row;

use super::{failed, TargetDb, TargetError};
use crate::domain::eligibility::{IndexInfo, TableKind};
use crate::domain::ident::QualifiedName;
use crate::domain::sift::ScanSink;
use crate::pg::{column, PgError};

/// A lock taken between the scan's look at the locks and its reading of the sizes
/// fails it after the scan session's short lock_timeout; it is tried again this
/// many times, each time leaving out what is locked by then.
const SCAN_ATTEMPTS: usize = 3;

/// SQLSTATE lock_not_available.
const LOCK_TIMEOUT: &str = "55P03";

/// An invalid index: what a failed or interrupted build leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidIndex {
    pub(crate) oid: u32,
    pub(crate) name: QualifiedName,
    pub(crate) table: String,
    pub(crate) table_oid: u32,
    /// Still maintained by every write (`indisready`).
    pub(crate) is_ready: bool,
    /// `None` when it is locked, or was dropped meanwhile.
    pub(crate) size_bytes: Option<u64>,
}

fn index_info(row: &Row) -> Result<Result<IndexInfo, QualifiedName>, PgError> {
    let name = QualifiedName::new(
        column::<String>(row, "schema_name")?,
        column::<String>(row, "index_name")?,
    );
    let Some(size) = column::<Option<i64>>(row, "size_bytes")? else {
        return Ok(Err(name));
    };
    let owner_schema: Option<String> = column(row, "owner_schema")?;
    let owner_table: Option<String> = column(row, "owner_table")?;
    Ok(Ok(IndexInfo {
        oid: column(row, "index_oid")?,
        table_oid: column(row, "table_oid")?,
        name,
        table: column(row, "table_name")?,
        access_method: column(row, "access_method")?,
        size_bytes: u64::try_from(size).unwrap_or(0),
        reltuples: column(row, "reltuples")?,
        is_valid: column(row, "is_valid")?,
        is_live: column(row, "is_live")?,
        table_kind: TableKind::from_relkind(&column::<String>(row, "table_kind")?),
        is_temporary: column(row, "is_temporary")?,
        is_partitioned: column(row, "is_partitioned")?,
        backs_exclusion_constraint: column(row, "backs_exclusion_constraint")?,
        toast_owner: owner_schema
            .zip(owner_table)
            .map(|(s, t)| QualifiedName::new(s, t)),
        locked_by: column(row, "locked_by")?,
    }))
}

fn invalid_index(row: &Row) -> Result<InvalidIndex, PgError> {
    Ok(InvalidIndex {
        oid: column(row, "index_oid")?,
        name: QualifiedName::new(
            column::<String>(row, "schema_name")?,
            column::<String>(row, "index_name")?,
        ),
        table: column(row, "table_name")?,
        table_oid: column(row, "table_oid")?,
        is_ready: column(row, "is_ready")?,
        size_bytes: column::<Option<i64>>(row, "size_bytes")?
            .map(|size| u64::try_from(size).unwrap_or(0)),
    })
}

impl TargetDb {
    /// Scans every index into a sink made by `fresh`: a scan that must be tried
    /// again (a lock taken meanwhile) starts over with a new one.
    pub(crate) async fn scan<S: ScanSink>(
        &self,
        mut fresh: impl FnMut() -> S,
    ) -> Result<S, TargetError> {
        let mut attempt = 1;
        loop {
            match self.read_scan(fresh()).await {
                Ok(scan) => return Ok(scan),
                Err(error) => {
                    if error.sqlstate() != Some(LOCK_TIMEOUT) || attempt == SCAN_ATTEMPTS {
                        return Err(failed("scanning the catalog")(error));
                    }
                    tracing::info!(
                        attempt,
                        "a lock was taken during the catalog scan; scanning again"
                    );
                    attempt += 1;
                }
            }
        }
    }

    /// One try of the scan. Each row goes to the sink as it arrives: the rows
    /// themselves, with their buffers, would take several times the memory.
    async fn read_scan<S: ScanSink>(&self, mut sink: S) -> Result<S, PgError> {
        let no_parameters: [&str; 0] = [];
        let rows = self
            .client
            .query_raw(include_str!("sql/scan_indexes.sql"), no_parameters)
            .await?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await? {
            match index_info(&row)? {
                Ok(index) => sink.found(index),
                Err(vanished) => sink.vanished(vanished),
            }
        }
        Ok(sink)
    }

    /// Invalid indexes on one table, or (`None`) in the whole database.
    pub(crate) async fn invalid_indexes(
        &self,
        table_oid: Option<u32>,
    ) -> Result<Vec<InvalidIndex>, TargetError> {
        let rows = self
            .client
            .query(include_str!("sql/invalid_indexes.sql"), &[&table_oid])
            .await
            .map_err(failed("looking for invalid indexes"))?;
        rows.iter()
            .map(invalid_index)
            .collect::<Result<_, _>>()
            .map_err(failed("looking for invalid indexes"))
    }
}
