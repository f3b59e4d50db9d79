//! The candidates, one at a time: each is looked at, given its server's slot,
//! confirmed, looked at once more (`start`), started on the rebuild connection under
//! watch (`statement`), and settled. A rebuild still running when the invocation's
//! time is up, or whose connection broke while the server goes on, is left to the
//! server and followed by later invocations; nothing else starts beside it. Between
//! two rebuilds the standbys get to replay the first.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::servers::Watching;
use super::start::Slot;
use super::work::{Started, Stop, Work};
use super::{DatabaseError, Progress};
use crate::domain::budget::Fit;
use crate::domain::deferral::DeferralKind;
use crate::domain::ident::QualifiedName;
use crate::domain::leftovers::RebuildTrace;
use crate::domain::plan::{Assessment, Candidate, CandidateReason};
use crate::domain::rebuild_memory::SessionUsed;
use crate::domain::settings::IndexSettings;
use crate::domain::throughput::Prediction;
use crate::domain::words::plural;
use crate::report::TargetReport;
use crate::target_db::Rebuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
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
            let assessment = candidate.assessment;
            let outcome = match self.may_start(assessment, setup, report) {
                Ok((fit, predicted)) => {
                    if let Some(settings) = ran_last.take() {
                        self.let_standbys_catch_up(&settings).await?;
                    }
                    let planned = Planned {
                        fit,
                        predicted,
                        setup,
                        checked_at: Instant::now(),
                    };
                    self.rebuild(candidate, planned, report).await?
                }
                Err(not_started) => not_started,
            };
            match outcome {
                Outcome::NotStarted => {}
                Outcome::WaitsForTime => progress = progress.max(Progress::MoreWork),
                Outcome::Finished => ran_last = Some((*assessment.settings).clone()),
                Outcome::StillRunning(fit) => {
                    defer_the_rest(rest, &assessment.index.name, report);
                    return Ok(left_running(fit));
                }
            }
        }
        name_the_failures(report);
        Ok(self.what_is_left(progress))
    }

    /// Whether the loop may go on with this candidate, judged before any look at the
    /// target: the fit and prediction it goes on with, or how it was deferred.
    fn may_start(
        &self,
        assessment: &Assessment,
        setup: Duration,
        report: &mut TargetReport,
    ) -> Result<(Fit, Prediction), Outcome> {
        let index = &assessment.index;
        if let Some(stop) = &self.stop {
            report.deferred.push(stop.deferral(&index.name));
            return Err(Outcome::NotStarted);
        }
        if let Some(why) = self.pgvector.refusal(&index.access_method) {
            report.defer(&index.name, DeferralKind::Extension, why);
            return Err(Outcome::NotStarted);
        }
        if let Some(why) = self.outside_window(index) {
            report.defer(&index.name, DeferralKind::Window, why);
            return Err(Outcome::NotStarted);
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
            return Err(Outcome::WaitsForTime);
        }
        if let Some(why) = self.too_large(assessment, fit, predicted) {
            report.defer(&index.name, DeferralKind::TooLarge, why);
            return Err(Outcome::NotStarted);
        }
        Ok((fit, predicted))
    }

    /// What the loop's work comes to once every candidate had its turn.
    fn what_is_left(&self, progress: Progress) -> Progress {
        // After a stop the rest waits for a later run, not the next hop; so does work
        // of which this hop could start nothing (an identical next hop would not either).
        match &self.stop {
            Some(Stop::NoRoom(_)) => Progress::Blocked,
            Some(_) => Progress::Done,
            None if progress == Progress::MoreWork && !self.started_any => Progress::Stalled,
            None => progress,
        }
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
        let invalid_before = self.invalid_on_table(index.table_oid).await?;
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
                self.give_back(history_id, watching, rebuilder).await?;
                return not_started.map(|looked| looked.err().unwrap_or(Outcome::NotStarted));
            }
        };
        let Some(session) = self.prepare_session(assessment, &rebuilder, report).await else {
            self.give_back(history_id, watching, rebuilder).await?;
            return Ok(Outcome::NotStarted);
        };
        self.started_any = true;
        let started = started(assessment, history_id, invalid_before, &session);
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

    /// The invalid indexes on the table before its rebuild starts: never ours.
    async fn invalid_on_table(&self, table_oid: u32) -> Result<HashSet<u32>, DatabaseError> {
        Ok(self
            .db
            .invalid_indexes(Some(table_oid))
            .await?
            .iter()
            .map(|invalid| invalid.oid)
            .collect())
    }

    /// Nothing ran after all: the history row is closed, the server's slot and the
    /// rebuild connection go back.
    async fn give_back(
        &mut self,
        history_id: i64,
        watching: Watching<'_>,
        rebuilder: Rebuilder,
    ) -> Result<(), DatabaseError> {
        self.ctx.control.abandon_reindex(history_id).await?;
        drop(watching);
        self.rebuilder = Some(rebuilder);
        Ok(())
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
}

/// What is recorded of a rebuild of ours as it starts.
fn started(
    assessment: &Assessment,
    history_id: i64,
    invalid_before: HashSet<u32>,
    session: &SessionUsed,
) -> Started {
    let index = &assessment.index;
    Started {
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
    }
}

/// A rebuild left running in the server holds back every candidate after it.
fn defer_the_rest<'c>(
    rest: impl Iterator<Item = Candidate<'c>>,
    running: &QualifiedName,
    report: &mut TargetReport,
) {
    for later in rest {
        report.defer(
            &later.assessment.index.name,
            DeferralKind::RebuildRunning,
            format!("waits for the rebuild of {running} still running on this target"),
        );
    }
}

/// What is left once a rebuild is left running in the server. One that was
/// predicted to fit has only overrun: the next hop waits for it a little and goes
/// on. One that fits no invocation is left to later runs.
fn left_running(fit: Fit) -> Progress {
    match fit {
        Fit::Start => Progress::MoreWork,
        Fit::Wait | Fit::StartAndLeave => Progress::Blocked,
    }
}

/// A target in error (its setup) keeps its own reason; otherwise its failed
/// rebuilds are its reason.
fn name_the_failures(report: &mut TargetReport) {
    if !report.failed.is_empty() && report.reason.is_none() {
        report.reason = Some(format!(
            "{} failed",
            plural(report.failed.len() as u64, "rebuild", "rebuilds")
        ));
    }
}

/// What the loop decided for a candidate before looking at it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Planned {
    pub(crate) fit: Fit,
    pub(crate) predicted: Prediction,
    /// What the work took before it could start a rebuild.
    pub(crate) setup: Duration,
    /// When the loop judged it: the looks since count as setup too.
    pub(crate) checked_at: Instant,
}
