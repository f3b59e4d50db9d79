//! The quarantine: indexes whose own errors or repeated failures keep them from being
//! rebuilt until an operator releases them, or they are gone.

use super::{failed, ControlError, ControlStore, DatabaseKey};
use crate::domain::ident::QualifiedName;
use crate::pg::{column, PgError};

/// An index in quarantine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuarantineEntry {
    pub(crate) index_oid: u32,
    pub(crate) index: QualifiedName,
    pub(crate) table: String,
    pub(crate) sqlstate: Option<String>,
    pub(crate) error: String,
    pub(crate) failures: i32,
    /// When it was quarantined (UTC, RFC 3339).
    pub(crate) since: String,
}

impl ControlStore {
    /// Puts an index in quarantine; returns when (UTC, RFC 3339), or `None` when it
    /// was in quarantine already.
    pub(crate) async fn quarantine(
        &self,
        db: &DatabaseKey,
        entry: &QuarantineEntry,
        history_id: i64,
    ) -> Result<Option<String>, ControlError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/quarantine_index.sql"),
                &[
                    &db.target,
                    &db.database_name,
                    &db.database_oid,
                    &entry.index_oid,
                    &entry.index.schema,
                    &entry.index.name,
                    &entry.table,
                    &entry.sqlstate,
                    &entry.error,
                    &entry.failures,
                    &history_id,
                ],
            )
            .await
            .map_err(failed("quarantining an index"))?;
        row.map(|row| column(&row, "since"))
            .transpose()
            .map_err(failed("quarantining an index"))
    }

    /// Indexes of this database in quarantine now.
    pub(crate) async fn quarantined(
        &self,
        db: &DatabaseKey,
    ) -> Result<Vec<QuarantineEntry>, ControlError> {
        let rows = self
            .client
            .query(
                include_str!("sql/quarantined.sql"),
                &[&db.target, &db.database_oid],
            )
            .await
            .map_err(failed("loading the quarantine"))?;
        rows.iter()
            .map(|row| {
                Ok(QuarantineEntry {
                    index_oid: column(row, "index_oid")?,
                    index: QualifiedName::new(
                        column::<String>(row, "schema_name")?,
                        column::<String>(row, "index_name")?,
                    ),
                    table: column(row, "table_name")?,
                    sqlstate: column(row, "sqlstate")?,
                    error: column(row, "error")?,
                    failures: column(row, "failures")?,
                    since: column(row, "since")?,
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading the quarantine"))
    }

    /// Releases the quarantine of these indexes, which no longer exist.
    pub(crate) async fn release_gone_indexes(
        &self,
        db: &DatabaseKey,
        oids: &[u32],
    ) -> Result<(), ControlError> {
        if oids.is_empty() {
            return Ok(());
        }
        self.client
            .execute(
                include_str!("sql/release_gone_indexes.sql"),
                &[&db.target, &db.database_oid, &oids],
            )
            .await
            .map_err(failed("releasing the quarantine of indexes that are gone"))?;
        Ok(())
    }
}
