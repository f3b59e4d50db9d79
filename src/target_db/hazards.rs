//! What the cluster around the primary looks like before a rebuild: its standbys,
//! slots and Aurora readers, how old its table and database are, which vacuums run.
//! Short catalog reads on the scan connection, one autocommit statement each.

use std::time::Duration;

use tokio_postgres::Row;

use super::{failed, TargetDb, TargetError};
use crate::domain::hazard::{
    synchronous_standbys_required, Ages, AuroraReplica, Replication, Slot, SlotKind, Standby,
    Vacuum,
};
use crate::pg::{column, PgError};

/// A WAL position as PostgreSQL writes it (`0/3000148`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WalPosition(String);

fn bytes(value: Option<f64>) -> Option<u64> {
    // Negative: a standby ahead of the position read a moment earlier.
    value.map(|v| {
        if v.is_finite() && v > 0.0 {
            v as u64
        } else {
            0
        }
    })
}

fn seconds(value: Option<f64>) -> Option<Duration> {
    value.and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok())
}

fn standby(row: &Row) -> Result<Standby, PgError> {
    Ok(Standby {
        application_name: column(row, "application_name")?,
        client_addr: column(row, "client_addr")?,
        state: column(row, "state")?,
        sync_state: column(row, "sync_state")?,
        replay_lag: seconds(column(row, "replay_lag_s")?),
        replay_lag_bytes: bytes(column(row, "replay_lag_bytes")?),
    })
}

fn slot(row: &Row) -> Result<Slot, PgError> {
    let kind: Option<String> = column(row, "slot_type")?;
    Ok(Slot {
        name: column(row, "slot_name")?,
        kind: if kind.as_deref() == Some("logical") {
            SlotKind::Logical
        } else {
            SlotKind::Physical
        },
        active: column::<Option<bool>>(row, "active")?.unwrap_or(false),
        retained_bytes: bytes(column(row, "retained_bytes")?),
        safe_wal_bytes: column::<Option<f64>>(row, "safe_wal_bytes")?.map(|v| v as i64),
        lost: column::<Option<bool>>(row, "lost")?.unwrap_or(false),
    })
}

fn aurora_replica(row: &Row) -> Result<AuroraReplica, PgError> {
    let lag_ms: Option<f64> = column(row, "lag_ms")?;
    Ok(AuroraReplica {
        server_id: column::<Option<String>>(row, "server_id")?.unwrap_or_default(),
        lag: seconds(lag_ms.map(|ms| ms / 1000.0)),
    })
}

fn ages(row: &Row) -> Result<Ages, PgError> {
    Ok(Ages {
        table_xid_age: column(row, "table_xid_age")?,
        table_mxid_age: column(row, "table_mxid_age")?,
        freeze_max_age: column(row, "freeze_max_age")?,
        multixact_freeze_max_age: column(row, "multixact_freeze_max_age")?,
        database_xid_age: column(row, "database_xid_age")?,
        database_mxid_age: column(row, "database_mxid_age")?,
    })
}

fn vacuum(row: &Row) -> Result<Vacuum, PgError> {
    Ok(Vacuum {
        pid: column(row, "pid")?,
        phase: column(row, "phase")?,
        autovacuum: column::<Option<bool>>(row, "autovacuum")?.unwrap_or(false),
    })
}

impl TargetDb {
    async fn rows<T>(
        &self,
        action: &'static str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        read: fn(&Row) -> Result<T, PgError>,
    ) -> Result<Vec<T>, TargetError> {
        let rows = self
            .client
            .query(sql, params)
            .await
            .map_err(failed(action))?;
        rows.iter()
            .map(read)
            .collect::<Result<_, _>>()
            .map_err(failed(action))
    }

    /// The primary's standbys, slots and Aurora readers, and what commits wait for.
    pub(crate) async fn replication(&self) -> Result<Replication, TargetError> {
        let action = "looking at the server's replication";
        let settings = self
            .client
            .query_one(include_str!("sql/replication_settings.sql"), &[])
            .await
            .map_err(failed(action))?;
        let read_settings = || -> Result<(String, String, bool), PgError> {
            Ok((
                column(&settings, "synchronous_standby_names")?,
                column(&settings, "synchronous_commit")?,
                column(&settings, "aurora")?,
            ))
        };
        let (names, synchronous_commit, aurora) = read_settings().map_err(failed(action))?;
        let aurora_replicas = if aurora {
            self.rows(
                action,
                include_str!("sql/aurora_replicas.sql"),
                &[],
                aurora_replica,
            )
            .await?
        } else {
            Vec::new()
        };
        Ok(Replication {
            standbys: self
                .rows(action, include_str!("sql/standbys.sql"), &[], standby)
                .await?,
            slots: self
                .rows(action, include_str!("sql/slots.sql"), &[], slot)
                .await?,
            aurora_replicas,
            synchronous_required: synchronous_standbys_required(&names, &synchronous_commit),
            synchronous_names: names,
        })
    }

    /// How old the table and the database are; `None` once the table is gone.
    pub(crate) async fn ages(&self, table_oid: u32) -> Result<Option<Ages>, TargetError> {
        let action = "reading the table's and the database's freeze ages";
        Ok(self
            .rows(action, include_str!("sql/ages.sql"), &[&table_oid], ages)
            .await?
            .pop())
    }

    /// The vacuums processing the table now.
    pub(crate) async fn vacuums(&self, table_oid: u32) -> Result<Vec<Vacuum>, TargetError> {
        let action = "looking for vacuums of the table";
        self.rows(
            action,
            include_str!("sql/vacuums.sql"),
            &[&table_oid],
            vacuum,
        )
        .await
    }

    /// Where the WAL stands now.
    pub(crate) async fn wal_position(&self) -> Result<WalPosition, TargetError> {
        let action = "reading the WAL position";
        let row = self
            .client
            .query_one(include_str!("sql/wal_position.sql"), &[])
            .await
            .map_err(failed(action))?;
        column(&row, "position")
            .map(WalPosition)
            .map_err(failed(action))
    }

    /// How many standbys have not replayed the WAL up to `position` yet.
    pub(crate) async fn standbys_behind(&self, position: &WalPosition) -> Result<u64, TargetError> {
        let action = "waiting for the standbys to replay the rebuild";
        let row = self
            .client
            .query_one(include_str!("sql/standbys_behind.sql"), &[&position.0])
            .await
            .map_err(failed(action))?;
        column::<i64>(&row, "behind")
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(failed(action))
    }
}
