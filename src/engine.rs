//! One target, database by database, from the catalog scan to the last rebuild this
//! invocation has time for.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio_postgres::Config as PgConfig;
use uuid::Uuid;

use crate::config::{Endpoint, TargetEntry};
use crate::connect::{open_with_rotation, OpenError};
use crate::control::{
    ControlError, ControlStore, DatabaseKey, OpenRebuild, RebuiltIndex, ReindexStart,
};
use crate::credentials::{SecretCache, SecretError, SecretSource};
use crate::domain::bloat::{fresh_baseline, is_reliable};
use crate::domain::budget::{predicted_rebuild, wait_for_earlier_rebuild, Budget, Fit};
use crate::domain::ident::QualifiedName;
use crate::domain::plan::{
    assess, candidates_in_order, Assessment, Candidate, Mode, Selection, Verdict,
};
use crate::domain::settings::{IndexSubject, Settings};
use crate::event::Request;
use crate::pg::Tls;
use crate::report::{
    round2, Deferred, Estimate, Failed, InProgress, Leftover, PlannedIndex, Reindexed, TargetReport,
};
use crate::target::{Rebuilder, TargetDb, TargetError};

/// What every target of an invocation shares.
pub struct RunContext<'a, S> {
    pub run_id: Uuid,
    pub request: &'a Request,
    pub control: &'a ControlStore,
    pub settings: &'a Settings,
    pub secrets: &'a SecretCache<S>,
    pub budget: Budget,
    /// This invocation, as the holder of target leases.
    pub invocation: Uuid,
    /// How long a lease outlives this invocation's budget, so a killed invocation's
    /// lease expires and another can take over.
    pub lease_slack: Duration,
}

/// Where a target stands after this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// Nothing left to do (or nothing this run can do: errors are reported, not retried).
    Done,
    /// A rebuild is running in the server, or another invocation holds the target:
    /// a later run picks it up.
    Blocked,
    /// Candidates wait for time: the next hop continues.
    MoreWork,
}

#[derive(Debug, thiserror::Error)]
enum DatabaseError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("cannot read the credentials: {0}")]
    Secret(#[from] SecretError),
}

impl From<OpenError<TargetError>> for DatabaseError {
    fn from(error: OpenError<TargetError>) -> Self {
        match error {
            OpenError::Secret(e) => DatabaseError::Secret(e),
            OpenError::Open(e) => DatabaseError::Target(e),
        }
    }
}

/// Every database of one target, one after the other: one rebuild at a time per
/// target. Modes that change targets hold the target's lease while they work.
pub async fn process_target<S: SecretSource>(
    ctx: &RunContext<'_, S>,
    entry: &TargetEntry,
) -> (Vec<TargetReport>, Progress) {
    let spec = match &entry.spec {
        Ok(spec) => spec,
        Err(problem) => {
            let mut report = TargetReport::new(&entry.name, None);
            report.fail(problem.clone());
            return (vec![report], Progress::Done);
        }
    };
    let leased = ctx.request.mode.changes_targets();
    if leased {
        let lease_ms =
            i64::try_from((ctx.budget.left() + ctx.lease_slack).as_millis()).unwrap_or(i64::MAX);
        match ctx
            .control
            .acquire_lease(&entry.name, ctx.invocation, lease_ms)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                let mut report = TargetReport::new(&entry.name, None);
                report.skip(
                    "another invocation is working on this target (it holds the target's lease)",
                );
                return (vec![report], Progress::Blocked);
            }
            Err(error) => {
                let mut report = TargetReport::new(&entry.name, None);
                report.fail(error.to_string());
                return (vec![report], Progress::Done);
            }
        }
    }
    let mut reports = Vec::new();
    let mut progress = Progress::Done;
    for database in spec.database_names() {
        let mut report = TargetReport::new(&entry.name, database.clone());
        match process_database(
            ctx,
            &entry.name,
            &spec.endpoint,
            database.as_deref(),
            &mut report,
        )
        .await
        {
            Ok(outcome) => progress = progress.max(outcome),
            Err(error) => {
                tracing::warn!(target = %entry.name, database = ?database, error = %error, "target failed");
                report.fail(error.to_string());
            }
        }
        reports.push(report);
    }
    if leased {
        if let Err(error) = ctx.control.release_lease(&entry.name, ctx.invocation).await {
            tracing::warn!(target = %entry.name, error = %error, "lease not released; it expires by itself");
        }
    }
    (reports, progress)
}

async fn process_database<S: SecretSource>(
    ctx: &RunContext<'_, S>,
    target: &str,
    endpoint: &Endpoint,
    database: Option<&str>,
    report: &mut TargetReport,
) -> Result<Progress, DatabaseError> {
    let (db, connection) =
        open_with_rotation(endpoint, database, ctx.secrets, |config| async move {
            TargetDb::open(&config, &endpoint.tls).await
        })
        .await?;
    report.server_version = Some(db.server.to_string());
    if let Some(refusal) = db.server.refusal() {
        report.fail(refusal);
        return Ok(Progress::Done);
    }
    if db.in_recovery {
        report.skip("the server is a standby (pg_is_in_recovery() is true); index-pilot works on primaries only");
        return Ok(Progress::Done);
    }
    let key = DatabaseKey {
        target: target.to_owned(),
        database_name: db.database_name.clone(),
        database_oid: db.database_oid,
    };
    let mode = ctx.request.mode;
    let mut work = Work {
        ctx,
        db: &db,
        key: &key,
        connection: &connection,
        tls: &endpoint.tls,
        rebuilder: None,
    };
    let throughput = ctx.control.learned_throughput(target).await?;
    // First what earlier invocations left running: a rebuild that has ended since
    // gets its baseline before the scan below judges its index.
    let running = if mode.changes_targets() {
        work.follow_earlier_rebuilds(report, throughput).await?
    } else {
        Vec::new()
    };
    let indexes = db.scan().await?;
    report.scanned = indexes.len();
    let baselines = ctx.control.load_baselines(&key).await?;
    let selection = Selection {
        mode,
        only: ctx.request.index.as_ref(),
        force: ctx.request.force,
    };
    let assessments = assess(
        indexes,
        &baselines,
        ctx.settings,
        key.location(),
        db.server,
        selection,
    );

    if mode != Mode::DryRun {
        let tracked: Vec<&Assessment> = assessments
            .iter()
            .filter(|a| !matches!(a.verdict, Verdict::Ineligible(_)))
            .collect();
        ctx.control.save_index_states(&key, &tracked).await?;
    }
    if mode == Mode::Baseline {
        report.baselines_set = Some(
            assessments
                .iter()
                .filter(|a| a.best_ratio.is_some())
                .count(),
        );
        return Ok(Progress::Done);
    }
    if let Some(wanted) = &ctx.request.index {
        match assessments.iter().find(|a| a.index.name == *wanted) {
            None => {
                report.skip(format!(
                    "index {wanted} does not exist in database {}",
                    db.database_name
                ));
                return Ok(Progress::Done);
            }
            Some(a) if !a.is_candidate() => report.deferred.push(Deferred {
                index: wanted.to_string(),
                reason: a.why_not(),
            }),
            Some(_) => {}
        }
    }

    let candidates = candidates_in_order(&assessments);
    report.candidates = candidates.len();
    report.plan = candidates.iter().map(PlannedIndex::from).collect();
    if mode == Mode::DryRun {
        report.estimates = assessments
            .iter()
            .filter(|a| a.is_candidate() || matches!(a.verdict, Verdict::Healthy))
            .map(Estimate::from)
            .collect();
        // Most bloated first; unknown (no baseline) ahead of all.
        report.estimates.sort_by(|a, b| {
            let key = |e: &Estimate| e.estimated_bloat.unwrap_or(f64::INFINITY);
            key(b).total_cmp(&key(a))
        });
    }

    work.clean_up_leftovers(report).await?;
    if mode == Mode::DryRun {
        return Ok(Progress::Done);
    }
    if let Some(busy) = running.first() {
        for candidate in &candidates {
            report.deferred.push(Deferred {
                index: candidate.assessment.index.name.to_string(),
                reason: format!("waits for the rebuild of {busy} still running on this target"),
            });
        }
        return Ok(Progress::Blocked);
    }

    let mut progress = Progress::Done;
    for candidate in candidates {
        let predicted = predicted_rebuild(candidate.assessment.index.size_bytes, throughput);
        let fit = ctx.budget.fit(predicted);
        if fit == Fit::Wait {
            report.deferred.push(Deferred {
                index: candidate.assessment.index.name.to_string(),
                reason: format!(
                    "needs about {}s, {}s left in this invocation: the next one takes it",
                    predicted.as_secs(),
                    ctx.budget.left().as_secs()
                ),
            });
            progress = progress.max(Progress::MoreWork);
            continue;
        }
        if work.rebuild(candidate, fit, report).await? == Outcome::StillRunning {
            // One rebuild at a time per target: the rest waits for it to end. One that
            // was predicted to fit has only overrun: the next hop waits for it a little
            // and goes on. One that fits no invocation is left to later runs.
            return Ok(match fit {
                Fit::Start => Progress::MoreWork,
                Fit::Wait | Fit::StartAndLeave => Progress::Blocked,
            });
        }
    }
    if !report.failed.is_empty() {
        report.reason = Some(format!("{} rebuild(s) failed", report.failed.len()));
    }
    Ok(progress)
}

/// How often a rebuild is looked at while this invocation waits for it.
const REBUILD_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Finished,
    /// Left running in the server past this invocation.
    StillRunning,
}

/// The rebuilding side of one database: its rebuild connection, opened when first
/// needed (and again if it breaks).
struct Work<'a, S> {
    ctx: &'a RunContext<'a, S>,
    db: &'a TargetDb,
    key: &'a DatabaseKey,
    connection: &'a PgConfig,
    tls: &'a Tls,
    rebuilder: Option<Rebuilder>,
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl<S: SecretSource> Work<'_, S> {
    async fn rebuilder(&mut self) -> Result<&Rebuilder, TargetError> {
        if self.rebuilder.as_ref().is_none_or(Rebuilder::is_closed) {
            self.rebuilder =
                Some(Rebuilder::open(self.connection, self.tls, self.db.server).await?);
        }
        self.rebuilder.as_ref().ok_or_else(|| TargetError::Query {
            action: "opening the rebuild connection",
            error: "no connection".to_owned(),
        })
    }

    fn subject<'n>(&'n self, index: &'n QualifiedName, table: &'n str) -> IndexSubject<'n> {
        IndexSubject::new(self.key.location(), index, table)
    }

    /// Rebuilds started by earlier invocations: one due to end soon is waited for;
    /// still running ones are reported with their progress (and returned); ended ones
    /// are recorded completed or failed, and what they left behind is dropped.
    async fn follow_earlier_rebuilds(
        &mut self,
        report: &mut TargetReport,
        throughput: Option<f64>,
    ) -> Result<Vec<String>, DatabaseError> {
        let mut running = Vec::new();
        for mut open in self.ctx.control.rebuilds_in_progress(self.key).await? {
            let shown = open.index.to_string();
            let looked = Instant::now();
            let progress = match open.backend_pid {
                Some(pid) => self.wait_for_rebuild(&open, pid, throughput).await?,
                None => None,
            };
            open.running_ms = open.running_ms.saturating_add(to_i64(elapsed_ms(looked)));
            if let (Some(pid), Some((phase, percent_done))) = (open.backend_pid, progress) {
                report.in_progress.push(InProgress {
                    index: shown.clone(),
                    pid,
                    phase,
                    percent_done,
                    running_ms: u64::try_from(open.running_ms).unwrap_or(0),
                });
                running.push(shown);
                continue;
            }
            self.record_ended_rebuild(&open, report).await?;
        }
        Ok(running)
    }

    /// The progress of an earlier invocation's rebuild once it has ended (`None`) or
    /// once waiting for it is over (see [`wait_for_earlier_rebuild`]). Only short
    /// autocommit queries: no snapshot of ours holds the rebuild up.
    async fn wait_for_rebuild(
        &self,
        open: &OpenRebuild,
        pid: i32,
        throughput: Option<f64>,
    ) -> Result<Option<(String, Option<f64>)>, TargetError> {
        let wait = wait_for_earlier_rebuild(
            predicted_rebuild(open.size_before, throughput),
            Duration::from_millis(u64::try_from(open.running_ms).unwrap_or(0)),
            self.ctx.budget.left(),
        );
        let give_up = Instant::now() + wait;
        loop {
            let progress = self.db.rebuild_progress(pid, open.started_at).await?;
            if progress.is_none() || Instant::now() >= give_up {
                return Ok(progress);
            }
            tokio::time::sleep(REBUILD_POLL.min(give_up.saturating_duration_since(Instant::now())))
                .await;
        }
    }

    async fn record_ended_rebuild(
        &mut self,
        open: &OpenRebuild,
        report: &mut TargetReport,
    ) -> Result<(), DatabaseError> {
        let shown = open.index.to_string();
        let now = self.db.find_index(&open.index).await?;
        let table = QualifiedName::new(open.index.schema.clone(), open.table.clone());
        let table_oid = self.db.table_oid(&table).await?;
        let (dropped, kept) = match table_oid {
            Some(table_oid) => {
                let settings = self
                    .ctx
                    .settings
                    .for_index(&self.subject(&open.index, &open.table));
                let leftovers: Vec<QualifiedName> = self
                    .db
                    .interrupted_builds(Some(table_oid))
                    .await?
                    .into_iter()
                    .filter(|b| {
                        b.oid > open.index_oid_before && is_leftover_of(&b.name, &open.index)
                    })
                    .map(|b| b.name)
                    .collect();
                self.drop_leftovers(table_oid, leftovers, settings.lock_timeout)
                    .await?
            }
            None => (Vec::new(), Vec::new()),
        };
        match now {
            Some(rebuilt) if rebuilt.oid != open.index_oid_before => {
                let settings = self
                    .ctx
                    .settings
                    .for_index(&self.subject(&open.index, &open.table));
                let reliable = is_reliable(
                    rebuilt.size_bytes,
                    rebuilt.reltuples,
                    settings.minimum_reliable_index_size,
                );
                let baseline = fresh_baseline(rebuilt.size_bytes, rebuilt.reltuples, reliable);
                // Its true duration is unknown: it is not learned from.
                self.ctx
                    .control
                    .finish_reindex_completed(
                        open.history_id,
                        self.key,
                        open.index_oid_before,
                        rebuilt,
                        baseline,
                        None,
                    )
                    .await?;
                tracing::info!(target = %self.key.target, index = %shown, size_after = rebuilt.size_bytes,
                    "a rebuild started by an earlier invocation completed");
                report.reindexed.push(Reindexed {
                    index: shown,
                    table: open.table.clone(),
                    access_method: open.access_method.clone(),
                    size_before: open.size_before,
                    size_after: rebuilt.size_bytes,
                    estimated_bloat_before: None,
                    duration_ms: u64::try_from(open.running_ms).unwrap_or(0),
                    adopted: true,
                });
            }
            _ => {
                let error = describe_leftovers(
                    "interrupted: its server process ended before the rebuild completed".to_owned(),
                    &dropped,
                    &kept,
                );
                tracing::warn!(target = %self.key.target, database = %self.key.database_name,
                    index = %shown, error = %error, "reindex failed");
                self.ctx
                    .control
                    .finish_reindex_failed(open.history_id, &error, None, &kept)
                    .await?;
                report.failed.push(Failed {
                    index: shown,
                    error,
                });
            }
        }
        Ok(())
    }

    /// Drops the invalid leftovers our own failed rebuilds recorded (when no build
    /// runs on their table); reports everyone else's. `dry_run` only reports.
    async fn clean_up_leftovers(&mut self, report: &mut TargetReport) -> Result<(), DatabaseError> {
        let leftovers = self.db.interrupted_builds(None).await?;
        if leftovers.is_empty() {
            return Ok(());
        }
        let ours = self.ctx.control.recorded_leftovers(self.key).await?;
        for leftover in leftovers {
            let action = if self.db.builds_in_progress(leftover.table_oid).await? > 0 {
                "an index build is in progress on its table (this may be that build)".to_owned()
            } else if !ours.contains(&leftover.name) {
                "not ours: reported only".to_owned()
            } else if self.ctx.request.mode == Mode::DryRun {
                "ours: a run drops it".to_owned()
            } else {
                let lock_timeout = self
                    .ctx
                    .settings
                    .for_index(&self.subject(&leftover.name, &leftover.table))
                    .lock_timeout;
                let (dropped, _) = self
                    .drop_leftovers(
                        leftover.table_oid,
                        vec![leftover.name.clone()],
                        lock_timeout,
                    )
                    .await?;
                if dropped.is_empty() {
                    "ours: kept for now (a build runs on its table, or the drop failed)".to_owned()
                } else {
                    self.ctx
                        .control
                        .forget_leftover(self.key, &leftover.name)
                        .await?;
                    "ours: dropped".to_owned()
                }
            };
            report.leftovers.push(Leftover {
                index: leftover.name.to_string(),
                table: leftover.table,
                action,
            });
        }
        Ok(())
    }

    /// `DROP INDEX CONCURRENTLY` each leftover on a table where no build is in
    /// progress. Returns (dropped, kept) names.
    async fn drop_leftovers(
        &mut self,
        table_oid: u32,
        leftovers: Vec<QualifiedName>,
        lock_timeout: Duration,
    ) -> Result<(Vec<String>, Vec<String>), DatabaseError> {
        let mut dropped = Vec::new();
        let mut kept = Vec::new();
        for leftover in leftovers {
            let result = if self.db.builds_in_progress(table_oid).await? > 0 {
                Err("an index build is in progress on its table".to_owned())
            } else {
                match self.rebuilder().await {
                    Ok(r) => r.drop_index(&leftover, lock_timeout).await,
                    Err(error) => Err(error.to_string()),
                }
            };
            match result {
                Ok(()) => dropped.push(leftover.to_string()),
                Err(error) => {
                    tracing::warn!(index = %leftover, error = %error, "leftover kept");
                    kept.push(leftover.name);
                }
            }
        }
        Ok((dropped, kept))
    }

    async fn rebuild(
        &mut self,
        candidate: Candidate<'_>,
        fit: Fit,
        report: &mut TargetReport,
    ) -> Result<Outcome, DatabaseError> {
        let Candidate { assessment, reason } = candidate;
        let index = &assessment.index;
        let shown = index.name.to_string();
        if let Some(reason) = self.db.recheck(index).await? {
            report.deferred.push(Deferred {
                index: shown,
                reason,
            });
            return Ok(Outcome::Finished);
        }
        let before: HashSet<QualifiedName> = self
            .db
            .interrupted_builds(Some(index.table_oid))
            .await?
            .into_iter()
            .map(|b| b.name)
            .collect();
        let backend_pid = self.rebuilder().await?.backend_pid;
        let history_id = self
            .ctx
            .control
            .start_reindex(ReindexStart {
                run_id: self.ctx.run_id,
                database: self.key,
                index,
                reason: reason.as_str(),
                estimated_bloat: assessment.bloat,
                backend_pid,
            })
            .await?;
        tracing::info!(target = %self.key.target, database = %self.key.database_name, index = %shown,
            size_bytes = index.size_bytes, estimated_bloat = ?assessment.bloat, pid = backend_pid,
            outlives_invocation = fit == Fit::StartAndLeave, "reindex started");
        let started = Instant::now();
        let left = self.ctx.budget.left();
        let lock_timeout = assessment.settings.lock_timeout;
        let outcome = match self.rebuilder().await {
            Ok(r) => tokio::time::timeout(left, r.reindex(&index.name, lock_timeout)).await,
            Err(error) => Ok(Err(error.to_string())),
        };
        let duration_ms = elapsed_ms(started);

        match outcome {
            Err(_time_is_up) => {
                // Closing the connection leaves the server process building: with
                // client_connection_check_interval = 0 it does not look at its client.
                // A later invocation follows it by its pid and records how it ends.
                self.rebuilder = None;
                tracing::info!(target = %self.key.target, index = %shown, pid = backend_pid,
                    "reindex continues past this invocation");
                report.in_progress.push(InProgress {
                    index: shown,
                    pid: backend_pid,
                    phase: "started by this invocation".to_owned(),
                    percent_done: None,
                    running_ms: duration_ms,
                });
                Ok(Outcome::StillRunning)
            }
            Ok(Ok(())) => {
                let Some(rebuilt) = self.db.find_index(&index.name).await? else {
                    let error = "the rebuild finished but the index is gone (dropped meanwhile?)";
                    self.ctx
                        .control
                        .finish_reindex_failed(history_id, error, Some(to_i64(duration_ms)), &[])
                        .await?;
                    report.failed.push(Failed {
                        index: shown,
                        error: error.to_owned(),
                    });
                    return Ok(Outcome::Finished);
                };
                self.record_completed(history_id, assessment, rebuilt, duration_ms)
                    .await?;
                report.reindexed.push(Reindexed {
                    index: shown,
                    table: index.table.clone(),
                    access_method: index.access_method.clone(),
                    size_before: index.size_bytes,
                    size_after: rebuilt.size_bytes,
                    estimated_bloat_before: assessment.bloat.map(round2),
                    duration_ms,
                    adopted: false,
                });
                Ok(Outcome::Finished)
            }
            Ok(Err(error)) => {
                tracing::warn!(target = %self.key.target, database = %self.key.database_name, index = %shown,
                    error = %error, "reindex failed");
                let new_leftovers: Vec<QualifiedName> = self
                    .db
                    .interrupted_builds(Some(index.table_oid))
                    .await?
                    .into_iter()
                    .map(|b| b.name)
                    .filter(|name| !before.contains(name))
                    .collect();
                let (dropped, kept) = self
                    .drop_leftovers(index.table_oid, new_leftovers, lock_timeout)
                    .await?;
                self.ctx
                    .control
                    .finish_reindex_failed(history_id, &error, Some(to_i64(duration_ms)), &kept)
                    .await?;
                report.failed.push(Failed {
                    index: shown,
                    error: describe_leftovers(error, &dropped, &kept),
                });
                Ok(Outcome::Finished)
            }
        }
    }

    async fn record_completed(
        &self,
        history_id: i64,
        assessment: &Assessment,
        rebuilt: RebuiltIndex,
        duration_ms: u64,
    ) -> Result<(), DatabaseError> {
        let index = &assessment.index;
        let reliable = is_reliable(
            rebuilt.size_bytes,
            rebuilt.reltuples,
            assessment.settings.minimum_reliable_index_size,
        );
        let baseline = fresh_baseline(rebuilt.size_bytes, rebuilt.reltuples, reliable);
        self.ctx
            .control
            .finish_reindex_completed(
                history_id,
                self.key,
                index.oid,
                rebuilt,
                baseline,
                Some(to_i64(duration_ms)),
            )
            .await?;
        tracing::info!(target = %self.key.target, database = %self.key.database_name, index = %index.name,
            size_before = index.size_bytes, size_after = rebuilt.size_bytes, duration_ms, "reindex completed");
        Ok(())
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `<index>_ccnew[N]` / `<index>_ccold[N]`, where `<index>` may be cut short so the
/// whole name fits in 63 bytes.
fn is_leftover_of(leftover: &QualifiedName, index: &QualifiedName) -> bool {
    if leftover.schema != index.schema {
        return false;
    }
    let stem = leftover.name.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = stem
        .strip_suffix("_ccnew")
        .or_else(|| stem.strip_suffix("_ccold"));
    base.is_some_and(|base| !base.is_empty() && index.name.starts_with(base))
}

fn describe_leftovers(mut error: String, dropped: &[String], kept: &[String]) -> String {
    if !dropped.is_empty() {
        error.push_str(&format!("; dropped its leftover {}", dropped.join(", ")));
    }
    if !kept.is_empty() {
        error.push_str(&format!(
            "; leftover {} kept for a later run",
            kept.join(", ")
        ));
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_names() {
        let index = QualifiedName::new("public", "orders_created_at_idx");
        let named = |n: &str| QualifiedName::new("public", n);
        assert!(is_leftover_of(
            &named("orders_created_at_idx_ccnew"),
            &index
        ));
        assert!(is_leftover_of(
            &named("orders_created_at_idx_ccold2"),
            &index
        ));
        assert!(
            is_leftover_of(&named("orders_created_at_ccnew"), &index),
            "truncated base"
        );
        assert!(!is_leftover_of(&named("orders_ccnew_x"), &index));
        assert!(!is_leftover_of(&named("other_ccnew"), &index));
        assert!(!is_leftover_of(
            &QualifiedName::new("x", "orders_created_at_idx_ccnew"),
            &index
        ));
    }
}
