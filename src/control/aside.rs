//! What is set aside in a database: the invalid indexes our rebuilds left and could
//! not drop at once (kept by oid until they can be), and the indexes in quarantine.

use super::{failed, ControlError, ControlStore, DatabaseKey};
use crate::domain::ident::QualifiedName;
use crate::pg::{column, PgError};

/// An invalid index one of our rebuilds left and could not drop at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftoverRecord {
    pub oid: u32,
    pub name: QualifiedName,
    pub table_oid: u32,
    pub table: String,
}

/// An index in quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineEntry {
    pub index_oid: u32,
    pub index: QualifiedName,
    pub table: String,
    pub sqlstate: Option<String>,
    pub error: String,
    pub failures: i32,
    /// When it was quarantined (UTC, RFC 3339).
    pub since: String,
}

impl ControlStore {
    pub async fn record_leftover(
        &self,
        db: &DatabaseKey,
        leftover: &LeftoverRecord,
        history_id: Option<i64>,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/record_leftover.sql"),
                &[
                    &db.target,
                    &db.database_oid,
                    &leftover.oid,
                    &leftover.name.schema,
                    &leftover.name.name,
                    &leftover.table_oid,
                    &leftover.table,
                    &history_id,
                ],
            )
            .await
            .map_err(failed("recording a leftover"))?;
        Ok(())
    }

    /// Invalid indexes our own rebuilds left in this database.
    pub async fn leftovers(&self, db: &DatabaseKey) -> Result<Vec<LeftoverRecord>, ControlError> {
        let rows = self
            .client
            .query(
                include_str!("sql/leftovers.sql"),
                &[&db.target, &db.database_oid],
            )
            .await
            .map_err(failed("loading recorded leftovers"))?;
        rows.iter()
            .map(|row| {
                Ok(LeftoverRecord {
                    oid: column(row, "index_oid")?,
                    name: QualifiedName::new(
                        column::<String>(row, "schema_name")?,
                        column::<String>(row, "index_name")?,
                    ),
                    table_oid: column(row, "table_oid")?,
                    table: column(row, "table_name")?,
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading recorded leftovers"))
    }

    pub async fn forget_leftover(&self, db: &DatabaseKey, oid: u32) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/forget_leftover.sql"),
                &[&db.target, &db.database_oid, &oid],
            )
            .await
            .map_err(failed("forgetting a dropped leftover"))?;
        Ok(())
    }

    /// Puts an index in quarantine; returns when (UTC, RFC 3339), or `None` when it
    /// was in quarantine already.
    pub async fn quarantine(
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
    pub async fn quarantined(
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
}
