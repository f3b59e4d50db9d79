//! Rebuilds earlier invocations left running in the server: each is known by the
//! process id and process start the target reported (never by comparing clocks). One
//! due to end soon is waited for; one still running is reported with its progress;
//! one that has ended is settled like any other. Rows of the same server whose process
//! has ended are swept first (see `free_stale_slots`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::settle::End;
use super::watch::{log_progress, ProgressLine, POLL};
use super::work::{duration_ms, elapsed_ms, Started, Took, Work};
use super::DatabaseError;
use crate::control::OpenRebuild;
use crate::domain::budget::wait_for_earlier_rebuild;
use crate::domain::ident::QualifiedName;
use crate::domain::leftovers::RebuildTrace;
use crate::domain::watch::Cadence;
use crate::report::{InProgress, TargetReport};
use crate::target_db::RebuildState;

/// A rebuild of ours still running in the server.
pub(super) struct Running {
    pub(crate) index: QualifiedName,
    /// What tells its copy from anyone else's invalid index.
    pub(crate) trace: Option<RebuildTrace>,
}

impl Running {
    /// Why `index` waits for this rebuild: never for itself when it is its own.
    pub(super) fn holds_back(&self, index: &QualifiedName) -> String {
        if self.index == *index {
            "its rebuild, started by an earlier invocation, is still running in the server; a later invocation records how it ends".to_owned()
        } else {
            format!(
                "waits for the rebuild of {} still running on this target",
                self.index
            )
        }
    }
}

/// An open rebuild of ours, once looked at.
enum Looked {
    Running(Running),
    /// Its process has ended: it is settled; how long it was seen waiting.
    Ended(OpenRebuild, Duration),
}

impl Work<'_> {
    /// Returns the rebuilds still running.
    pub(super) async fn follow_earlier_rebuilds(
        &mut self,
        report: &mut TargetReport,
    ) -> Result<Vec<Running>, DatabaseError> {
        self.close_what_went_before().await?;
        let mut running = Vec::new();
        let mut ended = Vec::new();
        for open in self.ctx.control.rebuilds_in_progress(self.key).await? {
            match self.look_at(open, report).await? {
                Looked::Running(still) => running.push(still),
                Looked::Ended(open, waited) => ended.push((open, waited)),
            }
        }
        // Leftovers are dropped only when no rebuild of ours runs beside them.
        let may_drop = running.is_empty();
        for (open, waited) in ended {
            let started = self.started_of(&open).await?;
            let took = Took {
                duration_ms: u64::try_from(open.running_ms).unwrap_or(0),
                blocked_ms: duration_ms(waited),
            };
            self.settle(&started, End::ProcessEnded, took, may_drop, report)
                .await?;
        }
        Ok(running)
    }

    /// Rows nobody else will settle: those of an earlier database of this name, and
    /// those of this server whose process has ended.
    async fn close_what_went_before(&mut self) -> Result<(), DatabaseError> {
        // A database of this name dropped (and created again) leaves rows nobody
        // settles: their rebuilds, their indexes, went with it.
        let (rebuilds, quarantined) = self.ctx.control.close_recreated_database(self.key).await?;
        if rebuilds + quarantined > 0 {
            tracing::info!(target = %self.key.target, database = %self.key.database_name,
                rebuilds, quarantined, "closed what an earlier database of this name left");
        }
        // Rows of this server whose process has ended, whoever recorded them (a target
        // since removed, say), are settled now rather than when a slot is wanted.
        let holders = self
            .ctx
            .control
            .rebuilds_on_server(&self.server.key)
            .await?;
        if !holders.is_empty() {
            self.free_stale_slots(&holders).await?;
        }
        Ok(())
    }

    /// One open rebuild, waited for when it is due to end soon: still running
    /// (reported in progress, its copy recorded), or ended.
    async fn look_at(
        &mut self,
        mut open: OpenRebuild,
        report: &mut TargetReport,
    ) -> Result<Looked, DatabaseError> {
        let looked = Instant::now();
        let (state, waited) = match open.backend_pid {
            Some(pid) => self.wait_for_rebuild(&open, pid).await?,
            None => (None, Duration::ZERO),
        };
        open.running_ms = open
            .running_ms
            .saturating_add(i64::try_from(elapsed_ms(looked)).unwrap_or(i64::MAX));
        let (Some(state), Some(pid)) = (state, open.backend_pid) else {
            return Ok(Looked::Ended(open, waited));
        };
        self.remember_copy(&open, &state).await?;
        report.in_progress.push(InProgress {
            index: open.index.to_string(),
            pid,
            phase: state.phase,
            percent_done: state.percent_done,
            running_ms: u64::try_from(open.running_ms).unwrap_or(0),
            blocked_ms: duration_ms(waited),
        });
        Ok(Looked::Running(Running {
            index: open.index.clone(),
            trace: open.trace.clone(),
        }))
    }

    /// Its state once it has ended (`None`) or once waiting for it is over (see
    /// [`wait_for_earlier_rebuild`]), and how long it was seen waiting for other
    /// sessions meanwhile. Only short autocommit queries: no snapshot of ours holds
    /// it up.
    async fn wait_for_rebuild(
        &self,
        open: &OpenRebuild,
        pid: i32,
    ) -> Result<(Option<RebuildState>, Duration), DatabaseError> {
        let wait = wait_for_earlier_rebuild(
            self.throughput
                .predict(&open.access_method, open.size_before)
                .duration,
            Duration::from_millis(u64::try_from(open.running_ms).unwrap_or(0)),
            self.ctx.budget.left(),
        );
        let began = Instant::now();
        let give_up = began + wait;
        let mut cadence = Cadence::new(began, self.ctx.progress_interval);
        let mut waited = Duration::ZERO;
        let mut last_look = began;
        loop {
            let state = self.db.rebuild_state(pid, open.backend_start).await?;
            let now = Instant::now();
            if state.as_ref().is_some_and(|s| s.waiting_for.is_some()) {
                waited += now - last_look;
            }
            last_look = now;
            match &state {
                Some(state) if cadence.due(now) => log_progress(
                    &ProgressLine {
                        target: &self.key.target,
                        database: &self.key.database_name,
                        index: &open.index,
                        pid,
                        elapsed: Duration::from_millis(u64::try_from(open.running_ms).unwrap_or(0))
                            + (now - began),
                    },
                    state,
                ),
                _ => {}
            }
            if state.is_none() || now >= give_up {
                return Ok((state, waited));
            }
            tokio::time::sleep(POLL.min(give_up.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// Records the copy a running rebuild builds, the first time it is seen.
    async fn remember_copy(
        &self,
        open: &OpenRebuild,
        state: &RebuildState,
    ) -> Result<(), DatabaseError> {
        if let (Some(trace), Some(copy)) = (&open.trace, state.index_oid) {
            if trace.copy_oid.is_none() && copy != trace.index_oid_before {
                self.ctx.control.record_copy(open.history_id, copy).await?;
            }
        }
        Ok(())
    }

    /// The rebuild as recorded; for one recorded before rebuilds kept their table's
    /// oid, the table is looked up by name (oid 0 when it is gone: nothing is left).
    async fn started_of(&self, open: &OpenRebuild) -> Result<Started, DatabaseError> {
        let trace = match &open.trace {
            Some(trace) => trace.clone(),
            None => {
                let table = QualifiedName::new(open.index.schema.clone(), open.table.clone());
                RebuildTrace {
                    table_oid: self.db.table_oid(&table).await?.unwrap_or(0),
                    index_oid_before: open.index_oid_before,
                    index_name: open.index.name.clone(),
                    invalid_before: HashSet::new(),
                    copy_oid: None,
                }
            }
        };
        Ok(Started {
            history_id: open.history_id,
            index: open.index.clone(),
            table: open.table.clone(),
            toast_owner: open.owner.clone(),
            access_method: open.access_method.clone(),
            size_before: open.size_before,
            estimated_bloat: open.estimated_bloat,
            settings: self.settings_of(&open.index, &open.table, open.owner.as_ref()),
            trace,
            adopted: true,
            session: None,
            server_messages: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_never_waits_for_its_own_rebuild() {
        let running = Running {
            index: QualifiedName::new("public", "orders_pkey"),
            trace: None,
        };
        let own = running.holds_back(&QualifiedName::new("public", "orders_pkey"));
        assert!(!own.contains("waits for"), "{own}");
        assert!(own.starts_with("its rebuild, started by an earlier invocation"));
        assert_eq!(
            running.holds_back(&QualifiedName::new("public", "orders_x")),
            "waits for the rebuild of public.orders_pkey still running on this target"
        );
    }
}
