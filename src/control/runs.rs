//! Runs (what one schedule started), the hops of their chains, each target's
//! progress, and the leases that give each target to one invocation at a time.

use std::collections::HashMap;
use std::time::SystemTime;

use uuid::Uuid;

use super::{failed, ControlError, ControlStore};
use crate::domain::fleet::TargetState;
use crate::pg::{column, PgError};

/// The stored record of a target's progress through a run, as an invocation leaves
/// it (`index_pilot.target_progress`).
#[derive(Debug, Clone)]
pub(crate) struct ProgressRecord<'a> {
    pub(crate) target: &'a str,
    pub(crate) run_id: Uuid,
    pub(crate) hop: u32,
    pub(crate) state: TargetState,
    pub(crate) reason: Option<String>,
    /// The class of the first error, when the target ended in error.
    pub(crate) error_class: Option<&'a str>,
}

/// A rebuild holding one of a server's slots.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServerRebuild {
    pub(crate) history_id: i64,
    pub(crate) target: String,
    pub(crate) database_name: String,
    pub(crate) database_oid: u32,
    /// Its server process, as the target reported it when the rebuild started.
    pub(crate) backend_pid: Option<i32>,
    pub(crate) backend_start: Option<SystemTime>,
    pub(crate) index: String,
    pub(crate) running_ms: i64,
}

fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl ControlStore {
    /// Takes the target's lease for `duration_ms`, unless another holder has it.
    pub(crate) async fn acquire_lease(
        &self,
        target: &str,
        holder: Uuid,
        duration_ms: i64,
    ) -> Result<bool, ControlError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/acquire_lease.sql"),
                &[&target, &holder, &duration_ms],
            )
            .await
            .map_err(failed("taking a target lease"))?;
        Ok(row.is_some())
    }

    pub(crate) async fn release_lease(
        &self,
        target: &str,
        holder: Uuid,
    ) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/release_lease.sql"), &[&target, &holder])
            .await
            .map_err(failed("releasing a target lease"))?;
        Ok(())
    }

    /// Records a run started by a schedule (again, harmlessly, for a duplicate).
    pub(crate) async fn start_run(
        &self,
        run_id: Uuid,
        targets: usize,
        shards: usize,
    ) -> Result<(), ControlError> {
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        self.client
            .execute(
                include_str!("sql/start_run.sql"),
                &[&run_id, &count(targets), &count(shards)],
            )
            .await
            .map_err(failed("recording a run"))?;
        Ok(())
    }

    /// Claims `hop` of the chain of `shard` in a run; false for a duplicate or stale
    /// delivery, or a run this control database does not know.
    pub(crate) async fn claim_hop(
        &self,
        run_id: Uuid,
        shard: u32,
        hop: u32,
    ) -> Result<bool, ControlError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/claim_hop.sql"),
                &[&run_id, &to_i32(shard), &to_i32(hop)],
            )
            .await
            .map_err(failed("claiming a hop"))?;
        Ok(row.is_some())
    }

    /// When each of `targets` was last served (absent: never).
    pub(crate) async fn targets_served(
        &self,
        targets: &[String],
    ) -> Result<HashMap<String, SystemTime>, ControlError> {
        let rows = self
            .client
            .query(include_str!("sql/targets_served.sql"), &[&targets])
            .await
            .map_err(failed("loading when targets were served"))?;
        rows.iter()
            .map(|row| Ok((column(row, "target")?, column(row, "served_at")?)))
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading when targets were served"))
    }

    pub(crate) async fn save_progress_record(
        &self,
        progress: &ProgressRecord<'_>,
    ) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/save_target_progress.sql"),
                &[
                    &progress.target,
                    &progress.run_id,
                    &to_i32(progress.hop),
                    &progress.state.as_str(),
                    &progress.reason,
                    &progress.error_class,
                ],
            )
            .await
            .map_err(failed("saving a target's progress"))?;
        Ok(())
    }

    /// The names the configuration lists, for the `targets` view.
    pub(crate) async fn record_configuration(&self, targets: &[&str]) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/record_configuration.sql"), &[&targets])
            .await
            .map_err(failed("recording the configured targets"))?;
        Ok(())
    }

    /// The rebuilds that hold `server`'s slots.
    pub(crate) async fn rebuilds_on_server(
        &self,
        server: &str,
    ) -> Result<Vec<ServerRebuild>, ControlError> {
        let rows = self
            .client
            .query(include_str!("sql/rebuilds_on_server.sql"), &[&server])
            .await
            .map_err(failed("loading the rebuilds running on a server"))?;
        rows.iter()
            .map(|row| {
                Ok(ServerRebuild {
                    history_id: column(row, "id")?,
                    target: column(row, "target")?,
                    database_name: column(row, "database_name")?,
                    database_oid: column(row, "database_oid")?,
                    backend_pid: column(row, "backend_pid")?,
                    backend_start: column(row, "backend_start")?,
                    index: column(row, "index")?,
                    running_ms: column(row, "running_ms")?,
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading the rebuilds running on a server"))
    }
}
