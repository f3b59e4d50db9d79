//! What the server says about rows the control database keeps: whether a recorded
//! rebuild's server process is still there, whether an index still exists.

use super::{failed, TargetDb, TargetError};
use crate::control::ServerRebuild;
use crate::domain::slot::Seen;
use crate::pg::{column, PgError};

impl TargetDb {
    /// How each of these rebuilds (recorded on this database's server) stands now,
    /// by history id. `configured`: whether a target name is still configured.
    pub(crate) async fn slot_holders(
        &self,
        holders: &[ServerRebuild],
        configured: impl Fn(&str) -> bool,
    ) -> Result<Vec<(i64, Seen)>, TargetError> {
        let action = "looking whether recorded rebuilds still run";
        let ids: Vec<i64> = holders.iter().map(|h| h.history_id).collect();
        let pids: Vec<Option<i32>> = holders.iter().map(|h| h.backend_pid).collect();
        let starts: Vec<_> = holders.iter().map(|h| h.backend_start).collect();
        let databases: Vec<u32> = holders.iter().map(|h| h.database_oid).collect();
        let rows = self
            .client
            .query(
                include_str!("sql/slot_holders.sql"),
                &[&ids, &pids, &starts, &databases],
            )
            .await
            .map_err(failed(action))?;
        rows.iter()
            .map(|row| {
                let id: i64 = column(row, "id")?;
                let target = holders.iter().find(|h| h.history_id == id);
                Ok((
                    id,
                    Seen {
                        alive: column(row, "alive")?,
                        target_configured: target.is_some_and(|h| configured(&h.target)),
                        database_exists: column(row, "database_exists")?,
                    },
                ))
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed(action))
    }

    /// Of these index oids, those that no longer exist in this database.
    pub(crate) async fn missing_indexes(&self, oids: &[u32]) -> Result<Vec<u32>, TargetError> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        let action = "looking whether quarantined indexes still exist";
        let rows = self
            .client
            .query(include_str!("sql/missing_indexes.sql"), &[&oids])
            .await
            .map_err(failed(action))?;
        rows.iter()
            .map(|row| column(row, "index_oid"))
            .collect::<Result<_, PgError>>()
            .map_err(failed(action))
    }
}
