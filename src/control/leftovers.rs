//! The leftovers of our rebuilds: invalid indexes a rebuild of ours left and could
//! not drop at once, kept by oid until they can be dropped.

use super::{failed, ControlError, ControlStore, DatabaseKey};
use crate::domain::ident::QualifiedName;
use crate::pg::{column, PgError};

/// An invalid index one of our rebuilds left and could not drop at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftoverRecord {
    pub(crate) oid: u32,
    pub(crate) name: QualifiedName,
    pub(crate) table_oid: u32,
    pub(crate) table: String,
}

impl ControlStore {
    pub(crate) async fn record_leftover(
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
    pub(crate) async fn leftovers(
        &self,
        db: &DatabaseKey,
    ) -> Result<Vec<LeftoverRecord>, ControlError> {
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

    pub(crate) async fn forget_leftover(
        &self,
        db: &DatabaseKey,
        oid: u32,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/forget_leftover.sql"),
                &[&db.target, &db.database_oid, &oid],
            )
            .await
            .map_err(failed("forgetting a dropped leftover"))?;
        Ok(())
    }
}
