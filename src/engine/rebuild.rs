//! The candidates, one at a time: each is looked at, given its server's slot,
//! confirmed, looked at once more (`start`), started on the rebuild connection under
//! watch, and settled. A rebuild still running when the invocation's time is up, or
//! whose connection broke while the server goes on, is left to the server and
//! followed by later invocations; nothing else starts beside it. Between two
//! rebuilds the standbys get to replay the first.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::settle::End;
use super::start::Slot;
use super::watch::{RunEnd, Watch};
use super::work::{duration_ms, elapsed_ms, Started, Stop, Took, Work};
use super::{DatabaseError, Progress};
use crate::domain::budget::Fit;
use crate::domain::deferral::DeferralKind;
use crate::domain::failure::{what_to_grant, FailureClass, PERMISSION_DENIED};
use crate::domain::ident::QualifiedName;
use crate::domain::leftovers::RebuildTrace;
use crate::domain::plan::{Assessment, Candidate, CandidateReason};
use crate::domain::settings::IndexSettings;
use crate::domain::target_error::TargetErrorClass;
use crate::domain::throughput::Prediction;
use crate::domain::words::plural;
use crate::report::{InProgress, TargetReport};
use crate::target_db::Rebuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Deferred, or a false alarm: nothing ran.
    NotStarted,
    /// Deferred right before its statement: the next hop has the time for it.
    WaitsForTime,
    /// It ran to its end, whatever that was.
    Finished,
    /// Left running in the server past this invocation; how it was started.
    StillRunning(Fit),
}

impl Work<'_> {
    pub(super) async fn rebuild_all(
        &mut self,
        candidates: Vec<Candidate<'_>>,
        report: &mut TargetReport,
    ) -> Result<Progress, DatabaseError> {
        let mut progress = Progress::Done;
        let setup = self.ctx.setup + self.began.elapsed();
        // The settings of the rebuild that ran last: the standbys replay it before the
        // next one starts.
        let mut ran_last: Option<IndexSettings> = None;
        let mut rest = candidates.into_iter();
        while let Some(candidate) = rest.next() {
            let index = &candidate.assessment.index;
            if let Some(stop) = &self.stop {
                report.deferred.push(stop.deferral(&index.name));
                continue;
            }
            if let Some(why) = self.pgvector.refusal(&index.access_method) {
                report.defer(&index.name, DeferralKind::Extension, why);
                continue;
            }
            if let Some(why) = self.outside_window(index) {
                report.defer(&index.name, DeferralKind::Window, why);
                continue;
            }
            let predicted = self.predict(index);
            let fit = self.ctx.budget.fit(predicted.duration, setup);
            if fit == Fit::Wait {
                report.defer(
                    &index.name,
                    DeferralKind::Time,
                    format!(
                        "needs about {}s ({}), {}s left in this invocation: the next one takes it",
                        predicted.secs(),
                        predicted.rate(&index.access_method),
                        self.ctx.budget.left().as_secs()
                    ),
                );
                progress = progress.max(Progress::MoreWork);
                continue;
            }
            if let Some(why) = self.too_large(candidate.assessment, fit, predicted) {
                report.defer(&index.name, DeferralKind::TooLarge, why);
                continue;
            }
            if let Some(settings) = ran_last.take() {
                self.let_standbys_catch_up(&settings).await?;
            }
            let planned = Planned {
                fit,
                predicted,
                setup,
                checked_at: Instant::now(),
            };
            let assessment = candidate.assessment;
            match self.rebuild(candidate, planned, report).await? {
                Outcome::NotStarted => {}
                Outcome::WaitsForTime => progress = progress.max(Progress::MoreWork),
                Outcome::Finished => ran_last = Some((*assessment.settings).clone()),
                Outcome::StillRunning(fit) => {
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
                    // One that was predicted to fit has only overrun: the next hop waits
                    // for it a little and goes on. One that fits no invocation is left to
                    // later runs.
                    return Ok(match fit {
                        Fit::Start => Progress::MoreWork,
                        Fit::Wait | Fit::StartAndLeave => Progress::Blocked,
                    });
                }
            }
        }
        // A target in error (its setup) keeps its own reason.
        if !report.failed.is_empty() && report.reason.is_none() {
            report.reason = Some(format!(
                "{} failed",
                plural(report.failed.len() as u64, "rebuild", "rebuilds")
            ));
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

    /// One candidate, from the first look to its end (or until it is left to the
    /// server).
    async fn rebuild(
        &mut self,
        candidate: Candidate<'_>,
        planned: Planned,
        report: &mut TargetReport,
    ) -> Result<Outcome, DatabaseError> {
        let Candidate { assessment, reason } = candidate;
        let index = &assessment.index;
        if let Some(deferred) = self.look_before_the_slot(assessment).await? {
            report.deferred.push(deferred);
            return Ok(Outcome::NotStarted);
        }
        let invalid_before: HashSet<u32> = self
            .db
            .invalid_indexes(Some(index.table_oid))
            .await?
            .iter()
            .map(|invalid| invalid.oid)
            .collect();
        let rebuilder = self.take_rebuilder().await?;
        let slot = self
            .take_slot(
                assessment,
                reason,
                &rebuilder,
                &invalid_before,
                planned.fit,
                planned.predicted.duration,
                report,
            )
            .await?;
        let Some(Slot {
            history_id,
            watching,
        }) = slot
        else {
            self.rebuilder = Some(rebuilder);
            return Ok(Outcome::NotStarted);
        };
        // A look that fails gives the slot back too: nothing ran.
        let fit = match self
            .after_the_slot(assessment, reason, planned, &rebuilder, report)
            .await
        {
            Ok(Ok(fit)) => fit,
            not_started => {
                self.ctx.control.abandon_reindex(history_id).await?;
                drop(watching);
                self.rebuilder = Some(rebuilder);
                return not_started.map(|looked| looked.err().unwrap_or(Outcome::NotStarted));
            }
        };
        let Some(session) = self.prepare_session(assessment, &rebuilder, report).await else {
            self.ctx.control.abandon_reindex(history_id).await?;
            drop(watching);
            self.rebuilder = Some(rebuilder);
            return Ok(Outcome::NotStarted);
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
            settings: (*assessment.settings).clone(),
            adopted: false,
            session: Some(session.clone()),
            server_messages: Vec::new(),
        };
        tracing::info!(target = %self.key.target, database = %self.key.database_name, index = %index.name,
            size_bytes = index.size_bytes, estimated_bloat = assessment.bloat, pid = rebuilder.backend_pid,
            session = %session.describe(),
            outlives_invocation = fit == Fit::StartAndLeave, "reindex started");
        let outcome = self
            .run_under_watch(assessment, &started, rebuilder, fit, report)
            .await;
        drop(watching);
        outcome
    }

    /// With the slot held: what reads the index happens only once the server has room
    /// for the rebuild it is for, then the last look right before the statement. The
    /// fit it starts with, or why it does not start.
    async fn after_the_slot(
        &mut self,
        assessment: &Assessment,
        reason: CandidateReason,
        planned: Planned,
        rebuilder: &Rebuilder,
        report: &mut TargetReport,
    ) -> Result<Result<Fit, Outcome>, DatabaseError> {
        match self.confirm(assessment, reason).await? {
            Some(confirmation) if confirmation.false_alarm => {
                tracing::info!(target = %self.key.target, database = %self.key.database_name,
                    index = %assessment.index.name, how = %confirmation.how, "false alarm: not rebuilt");
                report.confirmations.push(confirmation);
                return Ok(Err(Outcome::NotStarted));
            }
            confirmation => report.confirmations.extend(confirmation),
        }
        Ok(
            match self.last_look(assessment, planned, rebuilder).await? {
                Ok(fit) => Ok(fit),
                Err(deferred) => {
                    let waits = deferred.kind == DeferralKind::Time;
                    report.deferred.push(deferred);
                    Err(if waits {
                        Outcome::WaitsForTime
                    } else {
                        Outcome::NotStarted
                    })
                }
            },
        )
    }

    /// The statement, watched; then how it ended.
    async fn run_under_watch(
        &mut self,
        assessment: &Assessment,
        started: &Started,
        rebuilder: Rebuilder,
        fit: Fit,
        report: &mut TargetReport,
    ) -> Result<Outcome, DatabaseError> {
        let index = &assessment.index;
        let (backend_pid, backend_start) = (rebuilder.backend_pid, rebuilder.backend_start);
        // Only what the server says during the statement belongs to it.
        let _before = rebuilder.take_notices();
        let began = Instant::now();
        let watched = Watch {
            db: self.db,
            control: self.ctx.control,
            rebuilder: &rebuilder,
            started,
            ours: &[backend_pid],
            left: self.ctx.budget.left(),
            target: &self.key.target,
            progress_interval: self.ctx.progress_interval,
        }
        .run(rebuilder.reindex(&index.name))
        .await;
        let took = Took {
            duration_ms: elapsed_ms(began),
            blocked_ms: duration_ms(watched.waited),
        };
        let mut started = started.clone();
        started.server_messages = self.server_messages(&index.name, &rebuilder);
        let started = &started;
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
                return Ok(Outcome::StillRunning(fit));
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
                    return Ok(Outcome::StillRunning(fit));
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
        let failure = self.settle(started, end, took, true, report).await?;
        let failed = report
            .failed
            .last()
            .map(|f| f.error.clone())
            .unwrap_or_default();
        let sqlstate = report.failed.last().and_then(|f| f.sqlstate.clone());
        match failure {
            Some(FailureClass::Target) if sqlstate.as_deref() == Some(PERMISSION_DENIED) => {
                let table = QualifiedName::new(index.name.schema.clone(), index.table.clone());
                let why = what_to_grant(&self.role(), &table.quoted(), self.db.server.0);
                report.fail(TargetErrorClass::Permission, why);
                self.stop = Some(Stop::Setup);
            }
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

/// What the loop decided for a candidate before looking at it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Planned {
    pub fit: Fit,
    pub predicted: Prediction,
    /// What the work took before it could start a rebuild.
    pub setup: Duration,
    /// When the loop judged it: the looks since count as setup too.
    pub checked_at: Instant,
}
