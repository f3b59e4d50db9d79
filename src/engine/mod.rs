//! One target, database by database, from the catalog scan to the last rebuild this
//! invocation has time for. This file orchestrates; each step has its own:
//! `follow` (rebuilds earlier invocations left running), `leftovers` (invalid
//! indexes: ours dropped, others' reported), `rebuild` (look, start, watch),
//! `settle` (how a rebuild ended, what it left, quarantine).

mod confirm;
mod dry_run;
mod estimate;
mod follow;
pub(crate) mod free_storage;
mod hazards;
mod inspect;
mod leftovers;
mod outcome;
mod preflight;
mod rebuild;
mod run;
mod said;
mod servers;
mod settle;
mod start;
mod statement;
mod survey;
mod watch;
mod work;

pub(crate) use crate::domain::fleet::Progress;
pub(crate) use outcome::{TargetOutcome, TargetProgress, Why};
pub(crate) use preflight::configuration;
pub(crate) use servers::Rebuilds;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;
use uuid::Uuid;

use crate::config::{TargetEntry, TargetSpec};
use crate::control::{ControlError, ControlStore, DatabaseKey};
use crate::domain::budget::{target_bound, Budget};
use crate::domain::mode::Mode;
use crate::domain::pgvector::PgvectorGates;
use crate::domain::settings::Settings;
use crate::domain::target_error::{classify, Stopped, TargetErrorClass, Unanswered};
use crate::domain::window::MaintenanceWindows;
use crate::engine::free_storage::Readings;
use crate::invocation::event::Request;
use crate::login::connect::{open_with_rotation, Logins, OpenError};
use crate::login::iam::TokenSigner;
use crate::login::secrets::{SecretCache, SecretError};
use crate::report::TargetReport;
use crate::target_db::{TargetDb, TargetError};
use survey::Survey;
use tokio_postgres::Config as PgConfig;
use work::Work;

/// What every target of an invocation shares.
pub(crate) struct RunContext<'a> {
    pub(crate) run_id: Uuid,
    pub(crate) request: &'a Request,
    pub(crate) control: &'a ControlStore,
    pub(crate) settings: &'a Settings,
    pub(crate) secrets: &'a SecretCache,
    /// Makes the token of every connection to an IAM endpoint.
    pub(crate) signer: &'a dyn TokenSigner,
    /// The free storage of the instances targets name, read once a minute at most.
    pub(crate) free_storage: &'a Readings<'a>,
    pub(crate) budget: Budget,
    /// This invocation, as the holder of target leases.
    pub(crate) invocation: Uuid,
    /// How long a lease outlives this invocation's budget, so a killed invocation's
    /// lease expires and another can take over.
    pub(crate) lease_slack: Duration,
    /// The rebuilds this invocation watches, per server and in all.
    pub(crate) rebuilds: &'a Rebuilds,
    pub(crate) windows: &'a MaintenanceWindows,
    /// The settings and windows rows as stored, for the preflight of `check` and
    /// `dry_run`.
    pub(crate) rows: &'a crate::domain::preflight::ControlRows,
    /// What the invocation spent before its targets' work (the control database):
    /// every invocation pays it before it can start a rebuild.
    pub(crate) setup: Duration,
    /// How often a running rebuild's progress is logged.
    pub(crate) progress_interval: Duration,
    /// Every target of the configuration, by name: a rebuild recorded for another
    /// name has nobody to settle it.
    pub(crate) configured: &'a [&'a str],
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
pub(crate) async fn process_target(ctx: &RunContext<'_>, entry: &TargetEntry) -> TargetOutcome {
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
        if let Some(outcome) = lease(ctx, &entry.name).await {
            return outcome;
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

/// Takes the target's lease for this invocation's time; the outcome when it cannot.
async fn lease(ctx: &RunContext<'_>, target: &str) -> Option<TargetOutcome> {
    let lease_ms =
        i64::try_from((ctx.budget.left() + ctx.lease_slack).as_millis()).unwrap_or(i64::MAX);
    let mut report = TargetReport::new(target, None);
    match ctx
        .control
        .acquire_lease(target, ctx.invocation, lease_ms)
        .await
    {
        Ok(true) => None,
        Ok(false) => {
            report
                .skip("another invocation is working on this target (it holds the target's lease)");
            Some(TargetOutcome {
                reports: vec![report],
                progress: Progress::Blocked,
                served: false,
            })
        }
        Err(error) => {
            report.fail(TargetErrorClass::Control, error.to_string());
            Some(TargetOutcome::served((vec![report], Progress::Done)))
        }
    }
}

async fn process_databases(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    began: Instant,
) -> (Vec<TargetReport>, Progress) {
    let mut reports = Vec::new();
    let mut progress = Progress::Done;
    let databases = if ctx.request.mode.is_an_order() {
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

/// Opens the database, then picks the mode's branch once. `dry_run`, `baseline` and
/// the rebuilding modes take the same steps: the gates of the mode, the [`Survey`],
/// then what the mode does with it; `check` is only the preflight.
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
    let database = Database {
        ctx,
        key: DatabaseKey {
            target: target.to_owned(),
            database_name: db.database_name.clone(),
            database_oid: db.database_oid,
        },
        spec,
        db: &db,
        connection: &connection,
        began,
    };
    match ctx.request.mode {
        Mode::Check => {
            preflight::check_database(ctx, target, spec, &db, report).await?;
            Ok(Progress::Done)
        }
        Mode::DryRun => dry_run::database(&database, report).await,
        Mode::Baseline => baseline(&database, report).await,
        Mode::Run | Mode::Reindex => run::database(&database, report).await,
    }
}

/// One database of a target, connected: where each mode's steps start.
struct Database<'a> {
    ctx: &'a RunContext<'a>,
    key: DatabaseKey,
    spec: &'a TargetSpec,
    db: &'a TargetDb,
    connection: &'a PgConfig,
    began: Instant,
}

impl Database<'_> {
    /// What every mode but `check` and `dry_run` refuses before its survey: a bad
    /// row, a server version with a known corruption bug, a standby. True when the
    /// report says why nothing more is done here.
    fn refused(&self, report: &mut TargetReport) -> bool {
        let db = self.db;
        // `check` and `dry_run` have them as findings of their preflight.
        report.warnings = PgvectorGates::of(db.pgvector.as_deref()).warnings;
        if preflight::stopped_by_invalid_row(self.ctx, &self.key.target, db, report) {
            return true;
        }
        if let Some(refusal) = db.server.refusal() {
            report.fail(TargetErrorClass::Version, refusal);
            return true;
        }
        if db.in_recovery {
            report.skip("the server is a standby (pg_is_in_recovery() is true); index-pilot works on primaries only");
            return true;
        }
        false
    }

    /// The survey, with the work it started (the connection, what was learned).
    async fn survey(&self, report: &mut TargetReport) -> Result<Survey<'_>, DatabaseError> {
        let ctx = self.ctx;
        let throughput = ctx.control.learned_throughput(&self.key.target).await?;
        let endpoint = &self.spec.endpoint;
        let mut work = Work::new(
            ctx,
            self.db,
            &self.key,
            endpoint,
            self.connection,
            throughput,
        );
        work.began = self.began;
        work.free_storage = self.spec.free_storage.as_ref();
        survey::survey(work, report).await
    }
}

/// Mode `baseline`: the survey seeded the baselines; the report counts them.
async fn baseline(
    database: &Database<'_>,
    report: &mut TargetReport,
) -> Result<Progress, DatabaseError> {
    if database.refused(report) {
        return Ok(Progress::Done);
    }
    let survey = database.survey(report).await?;
    report.baselines_set = Some(survey.sifted.seeded.iter().map(|(_, n)| n).sum());
    Ok(Progress::Done)
}
