//! One target, database by database, from the catalog scan to the last rebuild this
//! invocation has time for. This file orchestrates; each step has its own:
//! `follow` (rebuilds earlier invocations left running), `leftovers` (invalid
//! indexes: ours dropped, others' reported), `rebuild` (look, start, watch),
//! `settle` (how a rebuild ended, what it left, quarantine).

mod confirm;
mod dry_run;
mod estimate;
mod follow;
pub mod free_storage;
mod hazards;
mod inspect;
mod leftovers;
mod outcome;
mod preflight;
mod rebuild;
mod said;
mod servers;
mod settle;
mod start;
mod watch;
mod work;

pub use crate::domain::fleet::Progress;
pub use outcome::TargetOutcome;
pub use preflight::configuration;
pub use servers::Rebuilds;

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;
use uuid::Uuid;

use crate::config::{TargetEntry, TargetSpec};
use crate::control::{ControlError, ControlStore, DatabaseKey};
use crate::domain::budget::{target_bound, Budget};
use crate::domain::deferral::DeferralKind;
use crate::domain::pgvector::PgvectorGates;
use crate::domain::plan::{candidates_in_order, Assessor, Known, Mode, Selection, Verdict};
use crate::domain::settings::Settings;
use crate::domain::sift::Sift;
use crate::domain::stored;
use crate::domain::target_error::{classify, Stopped, TargetErrorClass, Unanswered};
use crate::domain::window::{MaintenanceWindows, WindowState};
use crate::engine::free_storage::Readings;
use crate::invocation::event::Request;
use crate::login::connect::{open_with_rotation, Logins, OpenError};
use crate::login::iam::TokenSigner;
use crate::login::secrets::{SecretCache, SecretError};
use crate::report::{NewBaseline, Quarantined, TargetReport};
use crate::target_db::{TargetDb, TargetError};
use jiff::Timestamp;
use work::Work;

/// What every target of an invocation shares.
pub struct RunContext<'a> {
    pub run_id: Uuid,
    pub request: &'a Request,
    pub control: &'a ControlStore,
    pub settings: &'a Settings,
    pub secrets: &'a SecretCache,
    /// Makes the token of every connection to an IAM endpoint.
    pub signer: &'a dyn TokenSigner,
    /// The free storage of the instances targets name, read once a minute at most.
    pub free_storage: &'a Readings<'a>,
    pub budget: Budget,
    /// This invocation, as the holder of target leases.
    pub invocation: Uuid,
    /// How long a lease outlives this invocation's budget, so a killed invocation's
    /// lease expires and another can take over.
    pub lease_slack: Duration,
    /// The rebuilds this invocation watches, per server and in all.
    pub rebuilds: &'a Rebuilds,
    pub windows: &'a MaintenanceWindows,
    /// The settings and windows rows as stored, for the preflight of `check` and
    /// `dry_run`.
    pub rows: &'a crate::domain::preflight::ControlRows,
    /// What the invocation spent before its targets' work (the control database):
    /// every invocation pays it before it can start a rebuild.
    pub setup: Duration,
    /// How often a running rebuild's progress is logged.
    pub progress_interval: Duration,
    /// Every target of the configuration, by name: a rebuild recorded for another
    /// name has nobody to settle it.
    pub configured: &'a [&'a str],
}

impl RunContext<'_> {
    fn logins(&self) -> Logins<'_> {
        Logins {
            secrets: self.secrets,
            signer: self.signer,
        }
    }
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

impl DatabaseError {
    fn class(&self) -> TargetErrorClass {
        let stopped = match self {
            DatabaseError::Target(TargetError::Connect(error)) => {
                Stopped::Connecting(error.sqlstate())
            }
            DatabaseError::Target(TargetError::Query { error, .. }) => Stopped::Working(
                error.sqlstate(),
                if error.is_connection_lost() {
                    Unanswered::ConnectionLost
                } else {
                    Unanswered::UnexpectedAnswer
                },
            ),
            DatabaseError::Control(_) => Stopped::Control,
            DatabaseError::Secret(_) => Stopped::Credentials,
        };
        classify(stopped)
    }
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
/// target. Modes that change targets hold the target's lease while they work. A
/// failure here, even a bug that panics, stays with this target.
pub async fn process_target(ctx: &RunContext<'_>, entry: &TargetEntry) -> TargetOutcome {
    // What this target costs before a rebuild can start counts from here: a fresh
    // invocation pays the lease, and the earlier databases of the target, too.
    let began = Instant::now();
    let failed = |class: TargetErrorClass, reason: String| {
        let mut report = TargetReport::new(&entry.name, None);
        report.fail(class, reason);
        TargetOutcome::served((vec![report], Progress::Done))
    };
    let spec = match &entry.spec {
        Ok(spec) => spec,
        Err(problem) => return failed(TargetErrorClass::Configuration, problem.clone()),
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
                return TargetOutcome {
                    reports: vec![report],
                    progress: Progress::Blocked,
                    served: false,
                };
            }
            Err(error) => return failed(TargetErrorClass::Control, error.to_string()),
        }
    }
    // A server or network that stops answering (accepting, never replying) must not
    // keep the invocation past its time: the target's work ends with it.
    let bound = target_bound(ctx.budget.left(), ctx.lease_slack);
    let work = AssertUnwindSafe(process_databases(ctx, &entry.name, spec, began)).catch_unwind();
    let Ok(worked) = tokio::time::timeout(bound, work).await else {
        tracing::warn!(target = %entry.name, bound_s = bound.as_secs(), "the target did not answer in time");
        return failed(TargetErrorClass::Connect, format!(
            "no answer from the target within this invocation's time ({}s): its server or the network stopped answering; a later run takes it again",
            bound.as_secs()
        ));
    };
    let outcome = worked
        .map(TargetOutcome::served)
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(target = %entry.name, panic = %message, "a bug stopped the work on this target");
            failed(TargetErrorClass::Internal, format!(
                "internal error, the work on this target stopped (please report it): {message}"
            ))
        });
    if leased {
        if let Err(error) = ctx.control.release_lease(&entry.name, ctx.invocation).await {
            tracing::warn!(target = %entry.name, error = %error, "lease not released; it expires by itself");
        }
    }
    outcome
}

async fn process_databases(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    began: Instant,
) -> (Vec<TargetReport>, Progress) {
    let mut reports = Vec::new();
    let mut progress = Progress::Done;
    let databases = if ctx.request.mode == Mode::Reindex {
        match spec.database_of_order(ctx.request.database.as_deref()) {
            Ok(database) => vec![database],
            Err(problem) => {
                let mut report = TargetReport::new(target, None);
                report.fail(TargetErrorClass::Order, problem.to_string());
                return (vec![report], progress);
            }
        }
    } else {
        spec.database_names()
    };
    for database in databases {
        let mut report = TargetReport::new(target, database.clone());
        match process_database(ctx, target, spec, database.as_deref(), began, &mut report).await {
            Ok(outcome) => progress = progress.max(outcome),
            Err(error) => {
                tracing::warn!(target = %target, database = database.as_deref(), error = %error, "target failed");
                report.preflight = preflight::unreachable(ctx.request.mode, &error);
                report.fail(error.class(), error.to_string());
            }
        }
        reports.push(report);
    }
    (reports, progress)
}

async fn process_database(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    database: Option<&str>,
    began: Instant,
    report: &mut TargetReport,
) -> Result<Progress, DatabaseError> {
    let endpoint = &spec.endpoint;
    let (db, connection) =
        open_with_rotation(endpoint, database, &ctx.logins(), |config| async move {
            TargetDb::open(&config, &endpoint.tls).await
        })
        .await?;
    report.server_version = Some(db.server.to_string());
    // `check` and `dry_run` have them as findings of their preflight.
    if !matches!(ctx.request.mode, Mode::Check | Mode::DryRun) {
        report.warnings = PgvectorGates::of(db.pgvector.as_deref()).warnings;
    }
    if preflight::first(ctx, target, spec, &db, report).await? {
        return Ok(Progress::Done);
    }
    if let Some(refusal) = db.server.refusal() {
        report.fail(TargetErrorClass::Version, refusal);
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
    let throughput = ctx.control.learned_throughput(target).await?;
    let mut work = Work::new(ctx, &db, &key, endpoint, &connection, throughput);
    work.began = began;
    work.free_storage = spec.free_storage.as_ref();
    // First what earlier invocations left running: a rebuild that has ended since
    // gets its baseline before the scan below judges its index.
    let running = if mode.changes_targets() {
        work.follow_earlier_rebuilds(report).await?
    } else {
        Vec::new()
    };

    let (stored, mut quarantine) = tokio::try_join!(
        ctx.control.load_index_states(&key),
        ctx.control.quarantined(&key),
    )?;
    // An index dropped since it was quarantined has nothing left to release by hand.
    let oids: Vec<u32> = quarantine.iter().map(|q| q.index_oid).collect();
    let gone = db.missing_indexes(&oids).await?;
    if mode.changes_targets() {
        ctx.control.release_gone_indexes(&key, &gone).await?;
    }
    quarantine.retain(|q| !gone.contains(&q.index_oid));
    let quarantined: HashSet<u32> = quarantine.iter().map(|q| q.index_oid).collect();
    report.quarantined = quarantine.into_iter().map(Quarantined::from).collect();
    let selection = Selection {
        mode,
        only: ctx.request.index.as_ref(),
        force: ctx.request.force,
        reseed: ctx.request.reseed,
    };
    let known = Known {
        stored: &stored,
        quarantined: &quarantined,
    };
    let mut sifted = db
        .scan(|| {
            let assessor = Assessor::new(known, ctx.settings, key.location(), db.server, selection);
            Sift::new(assessor, &stored, &key.database_name)
        })
        .await?
        .finish();
    // Before the estimates: a whole-index read happens only where a rebuild could.
    if mode == Mode::Run || mode == Mode::DryRun {
        work.window = ctx
            .windows
            .state(target, &db.database_name, Timestamp::now());
        if work.window != WindowState::Always {
            report.window = Some(work.window.describe());
        }
    }
    if sifted
        .kept
        .iter()
        .any(|a| a.verdict == Verdict::AwaitingEstimate)
    {
        let builds_running = !running.is_empty() || !db.index_builds().await?.is_empty();
        work.estimate_baselines(&mut sifted, builds_running).await;
    }
    report.scanned = sifted.scanned;
    report.vanished = sifted.vanished.iter().map(ToString::to_string).collect();
    report.baseline_sources = estimate::sources(&sifted);
    let assessments = &sifted.kept;
    report.new_baselines = assessments
        .iter()
        .filter(|a| a.was_estimated())
        .map(NewBaseline::from)
        .collect();
    report.unknown_bloat = estimate::unknown(&sifted);
    for assessment in assessments {
        if let (Some(kind), Some(reason)) = (assessment.deferral_kind(), assessment.deferral()) {
            report.defer(&assessment.index.name, kind, reason);
        }
    }
    if mode != Mode::DryRun {
        let changes = stored::changes(&stored, &sifted);
        ctx.control.save_index_states(&key, &changes).await?;
    }
    if mode == Mode::Baseline {
        report.baselines_set = Some(sifted.seeded.iter().map(|(_, n)| n).sum());
        return Ok(Progress::Done);
    }
    if let Some(wanted) = &ctx.request.index {
        match assessments.iter().find(|a| a.index.name == *wanted) {
            None => {
                report.fail(
                    TargetErrorClass::Order,
                    format!(
                        "the order names index {wanted}, which does not exist in database {}",
                        db.database_name
                    ),
                );
                return Ok(Progress::Done);
            }
            Some(a) if !a.is_candidate() && a.deferral().is_none() => {
                report.defer(wanted, DeferralKind::NotACandidate, a.why_not())
            }
            Some(_) => {}
        }
    }

    let mut candidates = candidates_in_order(assessments);
    report.candidates = candidates.len();
    if mode == Mode::DryRun {
        candidates = preflight::dry_run(ctx, target, spec, &db, candidates, report).await?;
    }
    report.plan = work.plan(&candidates);
    if mode == Mode::DryRun {
        report.left_alone = dry_run::left_alone(assessments);
        let healthy: Vec<u32> = assessments
            .iter()
            .filter(|a| a.verdict == Verdict::Healthy)
            .map(|a| a.index.oid)
            .collect();
        let anchors = ctx.control.load_anchors(&key, &healthy).await?;
        report.forecast = dry_run::forecasts(assessments, &anchors, Timestamp::now());
    }
    // Nothing is dropped beside a rebuild of ours still running in this database.
    let may_drop = mode.changes_targets() && running.is_empty();
    work.clean_up_leftovers(report, may_drop, &running).await?;
    if mode == Mode::DryRun {
        work.preview(&candidates, running.is_empty(), report)
            .await?;
        return Ok(Progress::Done);
    }
    if let Some(busy) = running.first() {
        for candidate in &candidates {
            report.defer(
                &candidate.assessment.index.name,
                DeferralKind::RebuildRunning,
                running
                    .iter()
                    .find(|r| r.index == candidate.assessment.index.name)
                    .unwrap_or(busy)
                    .holds_back(&candidate.assessment.index.name),
            );
        }
        return Ok(Progress::Blocked);
    }
    work.rebuild_all(candidates, report).await
}
