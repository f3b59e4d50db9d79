//! Event → assignment → work → report. The Lambda entry point and the local
//! `invoke` command both call [`handle`]. Which targets an invocation gets is in
//! `assignment`; the work on one target in `engine`; what is decided without I/O
//! (shards, order, hand-over) in `domain::fleet`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use crate::aws::{CloudWatch, Sdk, SdkSigner};
use crate::config::{Config, DatabaseChoiceError};
use crate::control::{ControlError, ControlStore, TargetProgress};
use crate::domain::budget::{allowance, Budget};
use crate::domain::fleet::{hand_over, longest_waiting_first, TargetState};
use crate::domain::plan::Mode;
use crate::domain::preflight::ControlRows;
use crate::domain::settings::Settings;
use crate::domain::window::MaintenanceWindows;
use crate::engine::free_storage::{FreeStorageSource, Readings, READING_REUSE};
use crate::engine::{configuration, process_target, Progress, Rebuilds, RunContext, TargetOutcome};
use crate::invocation::assignment::{assign, chain_event, fan_out, Assignment};
use crate::invocation::continuation::ReInvoker;
use crate::invocation::event::{parse_event, EventError, Request};
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
    pub signer: Arc<dyn TokenSigner>,
    /// The free storage of the instances targets name: CloudWatch unless
    /// [`App::with_free_storage`] says otherwise.
    pub free_storage: Arc<dyn FreeStorageSource>,
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

async fn invocation<R: ReInvoker>(
    app: &App<R>,
    context: &Context,
    request: Request,
    run_id: Uuid,
) -> Result<Report, HandlerError> {
    let known: Vec<&str> = app.config.targets.iter().map(|t| t.name.as_str()).collect();
    let mut unknown: Vec<&str> = Vec::new();
    for name in request.targets.iter().flatten() {
        if !known.contains(&name.as_str()) {
            // A chain's event may outlive a target removed from the configuration.
            if request.run_id.is_some() {
                unknown.push(name);
                continue;
            }
            return Err(HandlerError::UnknownTarget {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    if request.mode == Mode::Reindex {
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
    let control_tls = &app.config.control.tls;
    let (control, _) = open_with_rotation(
        &app.config.control,
        None,
        &Logins {
            secrets: &app.secrets,
            signer: &*app.signer,
        },
        |config| async move { ControlStore::open(&config, control_tls).await },
    )
    .await?;
    let mut notes = Vec::new();
    if request.mode.writes_control() {
        // For the `targets` view only: no reason to stop the run.
        if let Err(error) = control.record_configuration(&known).await {
            notes.push(format!("the configured targets were not recorded: {error}"));
        }
    }
    let rows = ControlRows {
        settings: control.load_settings().await?,
        windows: control.load_maintenance_windows().await?,
    };
    // A bad row stops only the databases it applies to (`engine`), not the invocation.
    let settings = Settings::tolerant(&rows.settings);
    let windows = MaintenanceWindows::tolerant(&rows.windows);

    let selected: Vec<String> = known
        .iter()
        .filter(|name| {
            request
                .targets
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|w| w == *name))
        })
        .map(|name| (*name).to_owned())
        .collect();
    let function_arn = &context.invoked_function_arn;
    let mut report = Report::new(request.mode);
    report.notes = notes;
    if !unknown.is_empty() {
        report.notes.push(format!(
            "no longer configured, left out: {}",
            unknown.join(", ")
        ));
    }
    let (run_id, shard, hop, targets) = match assign(
        &control,
        &request,
        run_id,
        selected,
        app.config.shard_size,
    )
    .await?
    {
        Assignment::Work {
            run_id,
            shard,
            hop,
            targets,
        } => (run_id, shard, hop, targets),
        Assignment::FanOut { run_id, shards } => {
            report.run_id = run_id;
            report.shards = fan_out(&app.reinvoker, function_arn, run_id, &shards).await;
            tracing::info!(shards = shards.len(), "run fanned out over shards");
            return Ok(finish(report, &budget));
        }
        Assignment::Duplicate { run_id, shard, hop } => {
            report.run_id = run_id;
            (report.shard, report.hop) = (shard, hop);
            report.notes.push(format!("hop {hop} of shard {shard} of run {run_id} was already taken, or the run is unknown (a duplicate delivery): nothing done"));
            return Ok(finish(report, &budget));
        }
    };
    (report.run_id, report.shard, report.hop) = (run_id, shard, hop);
    tracing::info!(targets = targets.len(), request_id = %context.request_id,
        budget_ms = budget.whole().as_millis() as u64, "invocation started");

    let targets = if request.mode == Mode::Run {
        longest_waiting_first(&targets, &control.targets_served(&targets).await?)
    } else {
        targets
    };
    let rebuilds = Rebuilds::new(app.config.max_concurrent_rebuilds);
    let free_storage = Readings::new(&*app.free_storage, READING_REUSE);
    let ctx = RunContext {
        run_id,
        request: &request,
        control: &control,
        settings: &settings,
        secrets: &app.secrets,
        signer: &*app.signer,
        free_storage: &free_storage,
        budget,
        invocation: Uuid::new_v4(),
        lease_slack: app.config.safety_margin,
        rebuilds: &rebuilds,
        windows: &windows,
        rows: &rows,
        setup: budget.whole().saturating_sub(budget.left()),
        progress_interval: app.config.progress_interval,
        configured: &known,
    };
    let entries = targets
        .iter()
        .filter_map(|name| app.config.targets.iter().find(|t| t.name == *name));
    let outcomes: Vec<_> = stream::iter(entries)
        .map(|entry| async {
            let span = tracing::info_span!("target", target = %entry.name);
            let outcome = process_target(&ctx, entry).instrument(span).await;
            (entry.name.as_str(), outcome)
        })
        .buffered(app.config.parallel_targets)
        .collect()
        .await;

    let mut progress = Vec::new();
    for (name, outcome) in outcomes {
        if request.mode == Mode::Run && outcome.served {
            if let Err(error) = record_progress(&control, run_id, hop, name, &outcome).await {
                report
                    .notes
                    .push(format!("progress of {name} not saved: {error}"));
            }
        }
        progress.push((name.to_owned(), outcome.progress));
        report.targets.extend(outcome.reports);
    }
    report.complete = progress.iter().all(|(_, p)| *p == Progress::Done);
    // Against every configured target, whichever this invocation looked at.
    report.configuration = configuration(&request, &rows, &known, &report);
    if request.mode == Mode::Run {
        let next = hand_over(&progress, hop, app.config.max_hops);
        report.notes.extend(next.notes);
        if !next.next.is_empty() {
            let event = chain_event(run_id, shard, hop + 1, &next.next);
            match app.reinvoker.reinvoke(function_arn, &event).await {
                Ok(()) => {
                    tracing::info!(next_hop = hop + 1, "next hop invoked");
                    report.continued_with = next.next;
                }
                Err(error) => report
                    .notes
                    .push(format!("{error}; the next schedule takes these targets")),
            }
        }
    }
    // The retention is a global setting: not purged while a row cannot be read.
    if request.mode.changes_targets() && !settings.has_invalid_rows() {
        match control.purge_history(&settings.history_retention()).await {
            Ok(purged) if purged > 0 => tracing::info!(purged, "old history purged"),
            Ok(_) => {}
            Err(error) => report.notes.push(format!("history not purged: {error}")),
        }
    }
    Ok(finish(report, &budget))
}

/// Where `target` stands after this invocation, for the next ones and for people.
async fn record_progress(
    control: &ControlStore,
    run_id: Uuid,
    hop: u32,
    target: &str,
    outcome: &TargetOutcome,
) -> Result<(), ControlError> {
    let failed = outcome.reports.iter().any(|r| r.status == Status::Error);
    let reason = outcome.reason();
    control
        .save_target_progress(&TargetProgress {
            target,
            run_id,
            hop,
            state: TargetState::of(outcome.progress, failed),
            reason: reason.as_deref(),
            error_class: outcome.error_class().map(|c| c.as_str()),
        })
        .await
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
