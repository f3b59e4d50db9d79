//! The candidates, one at a time: each is checked again, looked at before it starts
//! (who would it wait for?), started on the rebuild connection under watch, and
//! settled. A rebuild still running when the invocation's time is up, or whose
//! connection broke while the server goes on, is left to the server and followed by
//! later invocations; nothing else starts beside it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::servers::Refused;
use super::settle::End;
use super::watch::{RunEnd, Watch};
use super::work::{duration_ms, elapsed_ms, Started, Stop, Took, Work};
use super::{DatabaseError, Progress};
use crate::control::ReindexStart;
use crate::credentials::SecretSource;
use crate::domain::aftermath::RebuildTrace;
use crate::domain::blocker::{blocker, Reach};
use crate::domain::budget::{predicted_rebuild, Fit};
use crate::domain::deferral::DeferralKind;
use crate::domain::failure::FailureClass;
use crate::domain::plan::{Assessment, Candidate, Mode};
use crate::domain::units::format_size;
use crate::report::{Deferred, InProgress, TargetReport};
use crate::target_db::RebuildSession;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Finished,
    /// Left running in the server past this invocation.
    StillRunning,
}

impl<S: SecretSource> Work<'_, S> {
    pub(super) async fn rebuild_all(
        &mut self,
        candidates: Vec<Candidate<'_>>,
        report: &mut TargetReport,
    ) -> Result<Progress, DatabaseError> {
        let mut progress = Progress::Done;
        let setup = self.ctx.setup + self.began.elapsed();
        let mut rest = candidates.into_iter();
        while let Some(candidate) = rest.next() {
            let index = &candidate.assessment.index;
            if let Some(stop) = &self.stop {
                report.deferred.push(Deferred {
                    index: index.name.to_string(),
                    kind: stop.kind(),
                    reason: stop.reason(),
                    blocker: stop.blocker(),
                });
                continue;
            }
            if let Some(why) = self.outside_window(index.size_bytes) {
                report.defer(&index.name, DeferralKind::Window, why);
                continue;
            }
            let predicted = predicted_rebuild(index.size_bytes, self.throughput);
            let fit = self.ctx.budget.fit(predicted, setup);
            if fit == Fit::Wait {
                report.defer(
                    &index.name,
                    DeferralKind::Time,
                    format!(
                        "needs about {}s, {}s left in this invocation: the next one takes it",
                        predicted.as_secs(),
                        self.ctx.budget.left().as_secs()
                    ),
                );
                progress = progress.max(Progress::MoreWork);
                continue;
            }
            let limit = candidate.assessment.settings.max_automatic_index_size;
            if let (Fit::StartAndLeave, Mode::Run, Some(limit)) =
                (fit, self.ctx.request.mode, limit)
            {
                if index.size_bytes > limit {
                    report.defer(
                        &index.name,
                        DeferralKind::TooLarge,
                        format!(
                            "needs about {}s, more than any invocation has, and at {} it is larger than max_automatic_index_size ({}): rebuild it with mode \"reindex\" or raise the setting",
                            predicted.as_secs(),
                            format_size(index.size_bytes),
                            format_size(limit)
                        ),
                    );
                    continue;
                }
            }
            if self.rebuild(candidate, fit, predicted, report).await? == Outcome::StillRunning {
                for later in rest {
                    report.defer(
                        &later.assessment.index.name,
                        DeferralKind::RebuildRunning,
                        format!(
                            "waits for the rebuild of {} still running on this target",
                            index.name
                        ),
                    );
                }
                // One that was predicted to fit has only overrun: the next hop waits for
                // it a little and goes on. One that fits no invocation is left to later runs.
                return Ok(match fit {
                    Fit::Start => Progress::MoreWork,
                    Fit::Wait | Fit::StartAndLeave => Progress::Blocked,
                });
            }
        }
        if !report.failed.is_empty() {
            report.reason = Some(format!("{} rebuild(s) failed", report.failed.len()));
        }
        // After a stop the rest waits for a later run, not the next hop; so does work
        // of which this hop could start nothing (an identical next hop would not either).
        Ok(match &self.stop {
            Some(Stop::NoRoom(_)) => Progress::Blocked,
            Some(_) => Progress::Done,
            None if progress == Progress::MoreWork && !self.started_any => Progress::Stalled,
            None => progress,
        })
    }

    /// A session the rebuild would wait for that has been at it for longer than
    /// max_blocker_age is not going away soon: the index is deferred, naming it (and
    /// when it holds back every rebuild of the database, so is the rest).
    async fn look_before_starting(
        &mut self,
        assessment: &Assessment,
    ) -> Result<Option<Deferred>, DatabaseError> {
        let index = &assessment.index;
        let max_age = assessment.settings.max_blocker_age;
        let sessions = self
            .db
            .sessions(index.table_oid, &self.our_pids(), None)
            .await?;
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
            index: index.name.to_string(),
            kind: DeferralKind::Blocker,
            reason,
            blocker: Some(blocker),
        }))
    }

    async fn rebuild(
        &mut self,
        candidate: Candidate<'_>,
        fit: Fit,
        predicted: Duration,
        report: &mut TargetReport,
    ) -> Result<Outcome, DatabaseError> {
        let Candidate { assessment, reason } = candidate;
        let index = &assessment.index;
        let settings = &assessment.settings;
        if let Some(why) = self
            .db
            .recheck(index.oid, &index.name, index.table_oid)
            .await?
        {
            report.defer(&index.name, DeferralKind::Changed, why);
            return Ok(Outcome::Finished);
        }
        if let Some(confirmation) = self.confirm(assessment, reason).await? {
            let false_alarm = confirmation.false_alarm;
            if false_alarm {
                tracing::info!(target = %self.key.target, database = %self.key.database_name,
                    index = %index.name, how = %confirmation.how, "false alarm: not rebuilt");
            }
            report.confirmations.push(confirmation);
            if false_alarm {
                return Ok(Outcome::Finished);
            }
        }
        if let Some(deferred) = self.look_before_starting(assessment).await? {
            report.deferred.push(deferred);
            return Ok(Outcome::Finished);
        }
        let invalid_before: HashSet<u32> = self
            .db
            .invalid_indexes(Some(index.table_oid))
            .await?
            .iter()
            .map(|invalid| invalid.oid)
            .collect();
        let rebuilder = self.take_rebuilder().await?;
        let (backend_pid, backend_start) = (rebuilder.backend_pid, rebuilder.backend_start);
        let start = ReindexStart {
            run_id: self.ctx.run_id,
            database: self.key,
            index,
            reason: reason.as_str(),
            estimated_bloat: assessment.bloat,
            backend_pid,
            backend_start,
            invalid_before: &invalid_before,
            server: &self.server,
            server_limit: settings.max_rebuilds_per_server,
        };
        // Waiting for room is worth only what leaves the rebuild time to finish.
        let patience = match fit {
            Fit::Start => self.ctx.budget.left().saturating_sub(predicted),
            Fit::Wait | Fit::StartAndLeave => Duration::ZERO,
        };
        let rebuilds = self.ctx.rebuilds;
        let (history_id, _watching) =
            match rebuilds.start(self.ctx.control, start, patience).await? {
                Ok(started) => started,
                Err(refused) => {
                    self.rebuilder = Some(rebuilder);
                    let why = no_room(&refused, &self.server, settings.max_rebuilds_per_server);
                    report.defer(
                        &index.name,
                        DeferralKind::ServerBusy,
                        format!("not started: {why}"),
                    );
                    self.stop = Some(Stop::NoRoom(why));
                    return Ok(Outcome::Finished);
                }
            };
        self.started_any = true;
        let started = Started {
            history_id,
            index: index.name.clone(),
            table: index.table.clone(),
            toast_owner: index.toast_owner.clone(),
            access_method: index.access_method.clone(),
            size_before: index.size_bytes,
            estimated_bloat: assessment.bloat,
            trace: RebuildTrace {
                table_oid: index.table_oid,
                index_oid_before: index.oid,
                index_name: index.name.name.clone(),
                invalid_before,
                copy_oid: None,
            },
            settings: (**settings).clone(),
            adopted: false,
        };
        tracing::info!(target = %self.key.target, database = %self.key.database_name, index = %index.name,
            size_bytes = index.size_bytes, estimated_bloat = ?assessment.bloat, pid = backend_pid,
            outlives_invocation = fit == Fit::StartAndLeave, "reindex started");

        let began = Instant::now();
        let watched = Watch {
            db: self.db,
            control: self.ctx.control,
            rebuilder: &rebuilder,
            started: &started,
            ours: &[backend_pid],
            left: self.ctx.budget.left(),
            target: &self.key.target,
            progress_interval: self.ctx.progress_interval,
        }
        .run(rebuilder.reindex(&index.name, RebuildSession::from(&**settings)))
        .await;
        let took = Took {
            duration_ms: elapsed_ms(began),
            blocked_ms: duration_ms(watched.waited),
        };
        let still_running = |phase: &str| InProgress {
            index: index.name.to_string(),
            pid: backend_pid,
            phase: phase.to_owned(),
            percent_done: None,
            running_ms: took.duration_ms,
            blocked_ms: took.blocked_ms,
        };
        let end = match watched.end {
            RunEnd::TimeUp => {
                // Closing the connection leaves the server process building: with
                // client_connection_check_interval = 0 it does not look at its client.
                // A later invocation follows it by its pid and process start.
                drop(rebuilder);
                tracing::info!(target = %self.key.target, index = %index.name, pid = backend_pid,
                    "reindex continues past this invocation");
                report
                    .in_progress
                    .push(still_running("started by this invocation"));
                return Ok(Outcome::StillRunning);
            }
            RunEnd::Returned(Err(error)) if error.is_connection_lost() => {
                drop(rebuilder);
                if self
                    .db
                    .rebuild_state(backend_pid, Some(backend_start))
                    .await?
                    .is_some()
                {
                    tracing::warn!(target = %self.key.target, index = %index.name, pid = backend_pid,
                        error = %error, "the rebuild connection broke; the server goes on building");
                    report.in_progress.push(still_running(
                        "its connection broke; the server goes on building",
                    ));
                    return Ok(Outcome::StillRunning);
                }
                End::Failed {
                    error,
                    blocked_by: watched.blocked_by,
                    cancelled_after: watched.cancelled_after,
                }
            }
            RunEnd::Returned(result) => {
                self.rebuilder = Some(rebuilder);
                match result {
                    Ok(()) => End::Succeeded,
                    Err(error) => End::Failed {
                        error,
                        blocked_by: watched.blocked_by,
                        cancelled_after: watched.cancelled_after,
                    },
                }
            }
        };
        let failure = self.settle(&started, end, took, true, report).await?;
        let failed = report
            .failed
            .last()
            .map(|f| f.error.clone())
            .unwrap_or_default();
        match failure {
            Some(FailureClass::Blocked) => self.stop = Some(Stop::Blocked(failed)),
            Some(FailureClass::Target) => self.stop = Some(Stop::Target(failed)),
            Some(_) => {}
            // What this rebuild took predicts the next ones better than the default.
            None => {
                self.throughput = self
                    .ctx
                    .control
                    .learned_throughput(&self.key.target)
                    .await?
            }
        }
        Ok(Outcome::Finished)
    }
}

/// Why a rebuild found no room, for the report.
fn no_room(refused: &Refused, server: &str, limit: u32) -> String {
    match refused {
        Refused::Invocation(max) => format!(
            "this invocation already watches {max} rebuild(s) (INDEX_PILOT_MAX_CONCURRENT_REBUILDS) and none ended in time; a later run tries again"
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
                "server {server} already runs {} rebuild(s) (max_rebuilds_per_server {limit}): {}; a later run tries again",
                holders.len(),
                if held.is_empty() { "ended just now".to_owned() } else { held.join(", ") }
            )
        }
    }
}
