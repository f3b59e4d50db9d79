//! Event → assignment → work → report. The Lambda entry point and the local
//! `invoke` command both call [`handle`]. Which targets an invocation gets is in
//! `assignment`; the work on one target in `engine`; what is decided without I/O
//! (shards, order, hand-over) in `domain::fleet`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use crate::aws::{CloudWatch, Sdk, SdkSigner};
use crate::config::{Config, DatabaseChoiceError};
use crate::control::{ControlError, ControlStore};
use crate::domain::budget::{allowance, Budget};
use crate::domain::fleet::{select_targets, UnknownTarget};
use crate::domain::preflight::ControlRows;
use crate::domain::settings::Settings;
use crate::domain::window::MaintenanceWindows;
use crate::engine::free_storage::FreeStorageSource;
use crate::engine::{configuration, Progress};
use crate::invocation::assignment::assign;
use crate::invocation::continuation::ReInvoker;
use crate::invocation::event::{parse_event, EventError, Request};
use crate::invocation::hop::{continue_chain, purge, take, work, Scope};
use crate::login::connect::{open_with_rotation, Logins, OpenError};
use crate::login::iam::TokenSigner;
use crate::login::secrets::{SecretCache, SecretSource};
use crate::report::{metrics, Report, Status};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("the event names target {name:?}, which is not configured (configured: {known})")]
    UnknownTarget { name: String, known: String },
    #[error("the order for target {target:?}: {problem}")]
    OrderDatabase {
        target: String,
        problem: DatabaseChoiceError,
    },
}

/// An order's database is checked before anything runs, so that an ambiguous order
/// is refused as an event, not reported as a target's error.
fn order_database_problem(
    config: &Config,
    request: &Request,
) -> Option<(String, DatabaseChoiceError)> {
    config
        .targets
        .iter()
        .filter(|entry| request.targets.iter().flatten().any(|n| *n == entry.name))
        .find_map(|entry| {
            let spec = entry.spec.as_ref().ok()?;
            let problem = spec.database_of_order(request.database.as_deref()).err()?;
            Some((entry.name.clone(), problem))
        })
}

impl From<OpenError<ControlError>> for HandlerError {
    fn from(error: OpenError<ControlError>) -> Self {
        HandlerError::Control(match error {
            OpenError::Secret(e) => ControlError::Secret(e),
            OpenError::Open(e) => e,
        })
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        let error_type = match &error {
            HandlerError::Event(_)
            | HandlerError::UnknownTarget { .. }
            | HandlerError::OrderDatabase { .. } => "InvalidEvent",
            HandlerError::Config(_) => "InvalidConfiguration",
            HandlerError::Control(_) => "ControlDatabaseError",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What the handler needs besides the event: configuration, the secret cache (kept
/// across warm invocations) and the way to continue a run.
pub struct App<R> {
    pub config: Config,
    pub secrets: SecretCache,
    pub reinvoker: R,
    /// IAM tokens: the SDK's credential chain unless [`App::with_signer`] says otherwise.
    pub(crate) signer: Arc<dyn TokenSigner>,
    /// The free storage of the instances targets name: CloudWatch unless
    /// [`App::with_free_storage`] says otherwise.
    pub(crate) free_storage: Arc<dyn FreeStorageSource>,
}

impl<R: ReInvoker> App<R> {
    pub fn new(config: Config, secrets: impl SecretSource + 'static, reinvoker: R) -> Self {
        let ttl = config.secret_ttl;
        App {
            config,
            secrets: SecretCache::new(secrets, ttl),
            reinvoker,
            // Load the AWS configuration only when first asked for a token or a reading.
            signer: Arc::new(SdkSigner::new(Sdk::from_environment())),
            free_storage: Arc::new(CloudWatch::new(Sdk::from_environment())),
        }
    }

    pub fn with_signer(mut self, signer: impl TokenSigner + 'static) -> Self {
        self.signer = Arc::new(signer);
        self
    }

    pub fn with_free_storage(mut self, source: impl FreeStorageSource + 'static) -> Self {
        self.free_storage = Arc::new(source);
        self
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub async fn handle<R: ReInvoker>(
    app: &App<R>,
    event: LambdaEvent<Value>,
) -> Result<Report, HandlerError> {
    let request = parse_event(&event.payload)?;
    // Known before anything is logged, so that every line of the invocation names it.
    let run_id = request.run_id.unwrap_or_else(Uuid::new_v4);
    let span = tracing::info_span!("invocation", %run_id, shard = request.shard,
        hop = request.hop, mode = request.mode.as_str());
    invocation(app, &event.context, request, run_id)
        .instrument(span)
        .await
}

/// Select the targets, work on them, continue the chain, purge the history.
async fn invocation<R: ReInvoker>(
    app: &App<R>,
    context: &Context,
    request: Request,
    run_id: Uuid,
) -> Result<Report, HandlerError> {
    let known: Vec<&str> = app.config.targets.iter().map(|t| t.name.as_str()).collect();
    let selected = select_targets(&known, request.targets.as_deref(), request.run_id.is_some())
        .map_err(|UnknownTarget { name, known }| HandlerError::UnknownTarget { name, known })?;
    if request.mode.is_an_order() {
        if let Some((target, problem)) = order_database_problem(&app.config, &request) {
            return Err(HandlerError::OrderDatabase { target, problem });
        }
    }
    let budget = Budget::new(allowance(
        context.deadline,
        now_ms(),
        app.config.fallback_budget,
        app.config.safety_margin,
    ));
    let control = open_control(app).await?;
    let mut report = Report::new(request.mode);
    let rows = load_rows(&control, &request, &known, &mut report).await?;
    if !selected.unknown.is_empty() {
        report.notes.push(format!(
            "no longer configured, left out: {}",
            selected.unknown.join(", ")
        ));
    }
    let assignment = assign(
        &control,
        &request,
        run_id,
        selected.targets,
        app.config.shard_size,
    );
    let Some(hop) = take(app, context, assignment.await?, &mut report).await else {
        return Ok(finish(report, &budget));
    };
    tracing::info!(targets = hop.targets.len(), request_id = %context.request_id,
        budget_ms = budget.whole().as_millis() as u64, "invocation started");
    // A bad row stops only the databases it applies to (`engine`), not the invocation.
    let scope = Scope {
        request: &request,
        control: &control,
        rows: &rows,
        settings: Settings::tolerant(&rows.settings),
        windows: MaintenanceWindows::tolerant(&rows.windows),
        known: &known,
        budget,
    };
    let progress = work(app, &scope, &hop, &mut report).await?;
    report.complete = progress.iter().all(|(_, p)| *p == Progress::Done);
    // Against every configured target, whichever this invocation looked at.
    report.configuration = configuration(&request, &rows, &known, &report);
    if request.mode.is_scheduled_run() {
        continue_chain(app, context, &hop, &progress, &mut report).await;
    }
    if request.mode.changes_targets() {
        purge(&control, &scope.settings, &mut report).await;
    }
    Ok(finish(report, &budget))
}

/// The settings and windows rows, after recording the configured targets for the
/// `targets` view (a failure there is a note: no reason to stop the run).
async fn load_rows(
    control: &ControlStore,
    request: &Request,
    known: &[&str],
    report: &mut Report,
) -> Result<ControlRows, HandlerError> {
    if request.mode.writes_control() {
        if let Err(error) = control.record_configuration(known).await {
            (report.notes).push(format!("the configured targets were not recorded: {error}"));
        }
    }
    Ok(ControlRows {
        settings: control.load_settings().await?,
        windows: control.load_maintenance_windows().await?,
    })
}

/// The control database, with the credentials of its secret (fetched again once
/// when they were rotated).
async fn open_control<R: ReInvoker>(app: &App<R>) -> Result<ControlStore, HandlerError> {
    let control_tls = &app.config.control.tls;
    let logins = Logins {
        secrets: &app.secrets,
        signer: &*app.signer,
    };
    let (control, _) =
        open_with_rotation(&app.config.control, None, &logins, |config| async move {
            ControlStore::open(&config, control_tls).await
        })
        .await?;
    Ok(control)
}

/// The report, bounded, timed and logged.
fn finish(report: Report, budget: &Budget) -> Report {
    let (metrics, mut report) =
        metrics::measure_then_bound(report, &metrics::namespace_from_env(), now_ms());
    if metrics::enabled() {
        metrics::print(&metrics);
    }
    report.duration_ms =
        u64::try_from(budget.whole().saturating_sub(budget.left()).as_millis()).unwrap_or(u64::MAX);
    let target_errors = report
        .targets
        .iter()
        .filter(|t| t.status == Status::Error)
        .count();
    // At a terminal the report is printed for people: the log line says only how
    // it ended. Elsewhere (Lambda, a file) the log keeps the whole report.
    if std::io::stderr().is_terminal() {
        tracing::info!(
            targets = report.targets.len(),
            target_errors,
            complete = report.complete,
            "invocation finished"
        );
        return report;
    }
    match serde_json::to_string(&report) {
        Ok(json) => tracing::info!(report = %json, target_errors, "invocation finished"),
        Err(error) => tracing::warn!(error = %error, "report not serialisable"),
    }
    report
}

/// Outside Lambda: runs `event`, then every hop it hands over, in this process.
/// `context` makes each invocation's context (its deadline sets the budget).
pub async fn run_in_process(
    app: &App<crate::invocation::continuation::InProcess>,
    event: Value,
    context: impl Fn() -> lambda_runtime::Context,
) -> Result<Vec<Report>, HandlerError> {
    let mut reports = vec![handle(app, LambdaEvent::new(event, context())).await?];
    while let Some(next) = app.reinvoker.next_event() {
        reports.push(handle(app, LambdaEvent::new(next, context())).await?);
    }
    Ok(reports)
}
