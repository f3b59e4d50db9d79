//! Rows that no longer say what runs: rebuilds whose server process has ended
//! (holding no slot, or closed when nobody will settle them), the rows of a database
//! that was dropped or recreated.

use super::{failed, ControlError, ControlStore, DatabaseKey};
use crate::pg::column;

impl ControlStore {
    /// The rebuild's server process has ended: it holds no slot any more.
    pub(crate) async fn free_slot(&self, history_id: i64) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/free_slot.sql"), &[&history_id])
            .await
            .map_err(failed("freeing the slot of an ended rebuild"))?;
        Ok(())
    }

    /// Closes a rebuild nobody will settle, as failed (class gone), saying why.
    pub(crate) async fn close_abandoned(
        &self,
        history_id: i64,
        why: &str,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/close_abandoned.sql"),
                &[&history_id, &why],
            )
            .await
            .map_err(failed("closing an abandoned rebuild"))?;
        Ok(())
    }

    /// Closes the rebuilds and releases the quarantine of an earlier database of this
    /// name (dropped, or dropped and created again). Returns how many of each.
    pub(crate) async fn close_recreated_database(
        &self,
        db: &DatabaseKey,
    ) -> Result<(i64, i64), ControlError> {
        let action = "closing what a dropped or recreated database left";
        let row = self
            .client
            .query_one(
                include_str!("sql/close_recreated_database.sql"),
                &[&db.target, &db.database_name, &db.database_oid],
            )
            .await
            .map_err(failed(action))?;
        Ok((
            column(&row, "rebuilds").map_err(failed(action))?,
            column(&row, "quarantined").map_err(failed(action))?,
        ))
    }
}
