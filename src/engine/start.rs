//! Everything before a rebuild's statement. First the looks that would defer it
//! anyway (the index unchanged, the cluster around the primary, the sessions it would
//! wait for); then the server's slot; then what reads the index (a confirmation)
//! once there is room to act on it; and a last look right before the statement,
//! since the slot and the reads may have taken minutes of the window and the budget.

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;

use super::rebuild::Planned;
use super::servers::{Refused, Watching};
use super::work::{Stop, Work};
use super::DatabaseError;
use crate::control::{ReindexStart, ServerRebuild};
use crate::domain::blocker::{blocker, Reach};
use crate::domain::budget::{fit_at_start, Fit};
use crate::domain::deferral::DeferralKind;
use crate::domain::plan::{Assessment, CandidateReason};
use crate::domain::rebuild_memory::{guc_memory, raised_maintenance_work_mem, SessionUsed};
use crate::domain::slot::{slot, Slot as SlotOf};
use crate::domain::target_error::TargetErrorClass;
use crate::domain::throughput::Prediction;
use crate::domain::units::format_size;
use crate::domain::words::plural;
use crate::report::{Deferred, TargetReport};
use crate::target_db::{RebuildSession, Rebuilder};

/// The rebuild's place among those its server runs: its history row, counted until
/// dropped (or abandoned when the rebuild does not start after all).
pub(super) struct Slot<'r> {
    pub(crate) history_id: i64,
    pub(crate) watching: Watching<'r>,
}

fn deferred(assessment: &Assessment, kind: DeferralKind, reason: String) -> Deferred {
    Deferred {
        index: assessment.index.name.to_string(),
        kind,
        reason,
        blocker: None,
        hazard: None,
    }
}

impl<'a> Work<'a> {
    /// Before the slot: the index as the scan saw it, the cluster, the sessions.
    pub(super) async fn look_before_the_slot(
        &mut self,
        assessment: &Assessment,
    ) -> Result<Option<Deferred>, DatabaseError> {
        let index = &assessment.index;
        if let Some(why) = self
            .db
            .recheck(index.oid, &index.name, index.table_oid)
            .await?
        {
            return Ok(Some(deferred(assessment, DeferralKind::Changed, why)));
        }
        if let Some(hazard) = self.hazard(assessment).await? {
            return Ok(Some(self.held_back(&index.name, hazard)));
        }
        let ours = self.our_pids();
        self.look_at_sessions(assessment, &ours).await
    }

    /// A session the rebuild would wait for that has been at it for longer than
    /// max_blocker_age is not going away soon: the index is deferred, naming it (and
    /// when it holds back every rebuild of the database, so is the rest). `ours`: our
    /// own processes in this database.
    async fn look_at_sessions(
        &mut self,
        assessment: &Assessment,
        ours: &[i32],
    ) -> Result<Option<Deferred>, DatabaseError> {
        let index = &assessment.index;
        let max_age = assessment.settings.max_blocker_age;
        let sessions = self.db.sessions(index.table_oid, ours, None).await?;
        let Some(blocker) = blocker(&sessions, max_age) else {
            return Ok(None);
        };
        let reason = format!(
            "not started: {}; REINDEX CONCURRENTLY would wait for it (max_blocker_age {}s)",
            blocker.describe(),
            max_age.as_secs()
        );
        if blocker.reach() == Reach::Database {
            self.stop = Some(Stop::Blocker(blocker.clone()));
        }
        Ok(Some(Deferred {
            blocker: Some(blocker),
            ..deferred(assessment, DeferralKind::Blocker, reason)
        }))
    }

    /// Records the rebuild as started once its server has room, waiting for room only
    /// as long as that leaves the rebuild time to end within the budget and the
    /// window. `None`: no room, the index deferred (and the rest of the target).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn take_slot(
        &mut self,
        assessment: &Assessment,
        reason: CandidateReason,
        rebuilder: &Rebuilder,
        invalid_before: &HashSet<u32>,
        fit: Fit,
        predicted: Duration,
        report: &mut TargetReport,
    ) -> Result<Option<Slot<'a>>, DatabaseError> {
        let index = &assessment.index;
        let limit = self.server_limit();
        let start = ReindexStart {
            run_id: self.ctx.run_id,
            database: self.key,
            index,
            reason: reason.as_str(),
            estimated_bloat: assessment.bloat,
            backend_pid: rebuilder.backend_pid,
            backend_start: rebuilder.backend_start,
            invalid_before,
            server: &self.server.key,
            server_limit: limit,
        };
        let patience = match fit {
            Fit::Start => {
                let budget = self.ctx.budget.left().saturating_sub(predicted);
                let window = self.window.slack(Timestamp::now(), predicted);
                window.map_or(budget, |window| window.min(budget))
            }
            Fit::Wait | Fit::StartAndLeave => Duration::ZERO,
        };
        let rebuilds: &'a super::Rebuilds = self.ctx.rebuilds;
        let mut taken = rebuilds.start(self.ctx.control, start, patience).await?;
        // Rows whose server process has ended hold no slot: once they are seen to,
        // the server may have room after all.
        if let Err(Refused::Server(holders)) = &taken {
            if self.free_stale_slots(holders).await? {
                taken = rebuilds
                    .start(self.ctx.control, start, Duration::ZERO)
                    .await?;
            }
        }
        match taken {
            Ok((history_id, watching)) => Ok(Some(Slot {
                history_id,
                watching,
            })),
            Err(refused) => {
                let why = self.no_room(&refused, limit);
                report.defer(
                    &index.name,
                    DeferralKind::ServerBusy,
                    format!("not started: {why}"),
                );
                self.stop = Some(Stop::NoRoom(why));
                Ok(None)
            }
        }
    }

    /// Looks at the server processes of the rebuilds that hold this server's slots:
    /// one that has ended frees its slot, and is closed when nobody will settle it.
    /// Whether any slot was freed.
    pub(super) async fn free_stale_slots(
        &self,
        holders: &[ServerRebuild],
    ) -> Result<bool, DatabaseError> {
        let configured = |target: &str| self.ctx.configured.contains(&target);
        let mut freed = false;
        for (history_id, seen) in self.db.slot_holders(holders, configured).await? {
            let control = self.ctx.control;
            match slot(seen) {
                SlotOf::Held => continue,
                SlotOf::Freed => control.free_slot(history_id).await?,
                SlotOf::Closed(why) => control.close_abandoned(history_id, why.describe()).await?,
            }
            tracing::info!(target = %self.key.target, server = %self.server, history_id,
                ended = ?slot(seen), "a recorded rebuild's server process has ended: its slot is free");
            freed = true;
        }
        Ok(freed)
    }

    /// Right before the statement: still inside the window, still within the
    /// budget (what the looks took counted), nobody it would wait for. The fit it
    /// starts with, or why it does not.
    pub(super) async fn last_look(
        &mut self,
        assessment: &Assessment,
        planned: Planned,
        rebuilder: &Rebuilder,
    ) -> Result<Result<Fit, Deferred>, DatabaseError> {
        let index = &assessment.index;
        if let Some(why) = self.outside_window(index) {
            return Ok(Err(deferred(assessment, DeferralKind::Window, why)));
        }
        let setup = planned.setup + planned.checked_at.elapsed();
        let now = self.ctx.budget.fit(planned.predicted.duration, setup);
        let fit = fit_at_start(planned.fit, now);
        if fit == Fit::Wait {
            return Ok(Err(deferred(
                assessment,
                DeferralKind::Time,
                format!(
                    "needs about {}s ({}), and {}s of this invocation were left once it could start: the next one takes it",
                    planned.predicted.secs(),
                    planned.predicted.rate(&index.access_method),
                    self.ctx.budget.left().as_secs()
                ),
            )));
        }
        if let Some(why) = self.too_large(assessment, fit, planned.predicted) {
            return Ok(Err(deferred(assessment, DeferralKind::TooLarge, why)));
        }
        let mut ours = self.our_pids();
        ours.push(rebuilder.backend_pid);
        Ok(match self.look_at_sessions(assessment, &ours).await? {
            Some(deferred) => Err(deferred),
            None => Ok(fit),
        })
    }

    /// Sets the rebuild's session; `None` when the server refuses it. A setting the
    /// server refuses (maintenance_work_mem above its maximum, say) is the target's
    /// problem: the target is in error, nothing more starts on it, no index is blamed.
    /// An HNSW rebuild gets the memory its graph needs (up to
    /// max_rebuild_maintenance_work_mem), and no parallel workers where the installed
    /// pgvector's parallel build is unsafe.
    pub(super) async fn prepare_session(
        &mut self,
        assessment: &Assessment,
        rebuilder: &Rebuilder,
        report: &mut TargetReport,
    ) -> Option<SessionUsed> {
        let index = &assessment.index;
        let settings = &*assessment.settings;
        let mut session = RebuildSession::from(settings);
        if self.pgvector.serial_build(&index.access_method) {
            session.max_parallel_maintenance_workers = Some(0);
        }
        let prepared = async {
            let current = rebuilder.prepare(session).await?;
            let raised = raised_maintenance_work_mem(
                &index.access_method,
                index.size_bytes,
                current,
                settings.max_rebuild_maintenance_work_mem,
            );
            if let Some(bytes) = raised {
                rebuilder.set_maintenance_work_mem(bytes).await?;
            }
            Ok::<_, crate::pg::PgError>(SessionUsed {
                maintenance_work_mem: guc_memory(raised.unwrap_or(current)),
                maintenance_work_mem_raised_from: raised.map(|_| guc_memory(current)),
                max_parallel_maintenance_workers: session.max_parallel_maintenance_workers,
            })
        };
        let error = match prepared.await {
            Ok(used) => return Some(used),
            Err(error) => error,
        };
        let index = &index.name;
        let why = format!(
            "the rebuild session could not be prepared for {index} (a setting of index_pilot.settings the server refuses?): {error}"
        );
        tracing::warn!(target = %self.key.target, database = %self.key.database_name,
            index = %index, error = %error, "the rebuild session could not be prepared");
        report.fail(TargetErrorClass::Configuration, why);
        report.deferred.push(Stop::Setup.deferral(index));
        self.stop = Some(Stop::Setup);
        None
    }

    /// Why a rebuild found no room, for the report.
    fn no_room(&self, refused: &Refused, limit: u32) -> String {
        match refused {
            Refused::Invocation(max) => format!(
                "this invocation already watches {} (INDEX_PILOT_MAX_CONCURRENT_REBUILDS) and none ended in time; a later run tries again",
                plural(*max as u64, "rebuild", "rebuilds")
            ),
            Refused::Server(holders) => {
                let held: Vec<String> = holders
                    .iter()
                    .map(|h| {
                        format!(
                            "{} of {}/{} for {}s",
                            h.index,
                            h.target,
                            h.database_name,
                            h.running_ms / 1000
                        )
                    })
                    .collect();
                format!(
                    "server {} already runs {} (max_rebuilds_per_server {limit}): {}; a later run tries again",
                    self.server,
                    plural(holders.len() as u64, "rebuild", "rebuilds"),
                    if held.is_empty() {
                        "ended just now".to_owned()
                    } else {
                        held.join(", ")
                    }
                )
            }
        }
    }
}

impl Work<'_> {
    /// Why an index that fits no invocation must not be started to outlive this one
    /// (`run` only: `reindex` is an operator's order).
    pub(super) fn too_large(
        &self,
        assessment: &Assessment,
        fit: Fit,
        predicted: Prediction,
    ) -> Option<String> {
        let index = &assessment.index;
        let limit = assessment.settings.max_automatic_index_size?;
        let leaves = fit == Fit::StartAndLeave && self.ctx.request.mode.is_scheduled_run();
        (leaves && index.size_bytes > limit).then(|| {
            format!(
                "needs about {}s ({}), more than any invocation has, and at {} it is larger than max_automatic_index_size ({}): rebuild it with mode \"reindex\" or raise the setting",
                predicted.secs(),
                predicted.rate(&index.access_method),
                format_size(index.size_bytes),
                format_size(limit)
            )
        })
    }
}
