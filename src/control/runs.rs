//! Runs that span several invocations, and the leases that give each target to one
//! invocation at a time.

use uuid::Uuid;

use super::{failed, ControlError, ControlStore};
use crate::pg::{column, PgError};

/// What a scheduled invocation finds when it looks for a run to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunClaim {
    /// A new run, hop 0.
    Started(Uuid),
    /// An unfinished run whose chain went quiet, taken over at this hop.
    Resumed(Uuid, u32),
    /// A run whose invocations are still at work.
    Busy(Uuid, u32),
}

impl ControlStore {
    /// Takes the target's lease for `duration_ms`, unless another holder has it.
    pub async fn acquire_lease(
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

    pub async fn release_lease(&self, target: &str, holder: Uuid) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/release_lease.sql"), &[&target, &holder])
            .await
            .map_err(failed("releasing a target lease"))?;
        Ok(())
    }

    /// Starts a run over `targets`, or finds the one already running: resumed when
    /// its last hop is older than `stale_after_ms` (its chain was lost), else busy.
    pub async fn claim_run(
        &self,
        targets: &[String],
        stale_after_ms: i64,
    ) -> Result<RunClaim, ControlError> {
        // Twice: a run that finishes between the two statements leaves room for a new one.
        for _ in 0..2 {
            let run_id = Uuid::new_v4();
            let started = self
                .client
                .query_opt(include_str!("sql/start_run.sql"), &[&run_id])
                .await
                .map_err(failed("starting a run"))?;
            if started.is_some() {
                self.client
                    .execute(
                        include_str!("sql/add_run_targets.sql"),
                        &[&run_id, &targets],
                    )
                    .await
                    .map_err(failed("recording a run's targets"))?;
                return Ok(RunClaim::Started(run_id));
            }
            let Some(running) = self
                .client
                .query_opt(include_str!("sql/running_run.sql"), &[])
                .await
                .map_err(failed("finding the running run"))?
            else {
                continue;
            };
            let read = || -> Result<(Uuid, i32, i64), PgError> {
                Ok((
                    column(&running, "run_id")?,
                    column(&running, "hop")?,
                    column(&running, "idle_ms")?,
                ))
            };
            let (run_id, hop, idle_ms) = read().map_err(failed("finding the running run"))?;
            let hop = u32::try_from(hop).unwrap_or(0);
            if idle_ms < stale_after_ms {
                return Ok(RunClaim::Busy(run_id, hop));
            }
            return match self.claim_hop(run_id, hop + 1).await? {
                true => Ok(RunClaim::Resumed(run_id, hop + 1)),
                false => Ok(RunClaim::Busy(run_id, hop)),
            };
        }
        Err(ControlError::Conflict {
            action: "starting a run",
            problem: "runs kept starting and finishing under this invocation; the next schedule tries again",
        })
    }

    /// Claims `hop` of a running run; false for a duplicate or stale delivery.
    pub async fn claim_hop(&self, run_id: Uuid, hop: u32) -> Result<bool, ControlError> {
        let hop = i32::try_from(hop).unwrap_or(i32::MAX);
        let row = self
            .client
            .query_opt(include_str!("sql/claim_hop.sql"), &[&run_id, &hop])
            .await
            .map_err(failed("claiming a hop"))?;
        Ok(row.is_some())
    }

    pub async fn pending_targets(&self, run_id: Uuid) -> Result<Vec<String>, ControlError> {
        let rows = self
            .client
            .query(include_str!("sql/pending_targets.sql"), &[&run_id])
            .await
            .map_err(failed("loading a run's pending targets"))?;
        rows.iter()
            .map(|row| column(row, "target"))
            .collect::<Result<_, PgError>>()
            .map_err(failed("loading a run's pending targets"))
    }

    pub async fn finish_run_target(&self, run_id: Uuid, target: &str) -> Result<(), ControlError> {
        self.client
            .execute(
                include_str!("sql/finish_run_target.sql"),
                &[&run_id, &target],
            )
            .await
            .map_err(failed("marking a run's target done"))?;
        Ok(())
    }

    pub async fn finish_run(&self, run_id: Uuid) -> Result<(), ControlError> {
        self.client
            .execute(include_str!("sql/finish_run.sql"), &[&run_id])
            .await
            .map_err(failed("marking a run complete"))?;
        Ok(())
    }
}
