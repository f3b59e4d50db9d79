//! Event → run → report → maybe continue. The Lambda entry point and the local
//! `invoke` command both call [`handle`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::Config;
use crate::connect::{open_with_rotation, OpenError};
use crate::continuation::ReInvoker;
use crate::control::{ControlError, ControlStore, RunClaim};
use crate::credentials::{SecretCache, SecretSource};
use crate::domain::budget::{allowance, Budget};
use crate::domain::plan::Mode;
use crate::domain::settings::{Settings, SettingsError};
use crate::engine::{process_target, Progress, RunContext};
use crate::event::{parse_event, EventError, Request};
use crate::report::Report;

/// Targets worked on at the same time; within a target, one rebuild at a time.
const PARALLEL_TARGETS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("invalid settings in index_pilot.settings: {0}")]
    Settings(#[from] SettingsError),
    #[error("the event names target {name:?}, which is not configured (configured: {known})")]
    UnknownTarget { name: String, known: String },
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
            HandlerError::Event(_) | HandlerError::UnknownTarget { .. } => "InvalidEvent",
            HandlerError::Config(_) => "InvalidConfiguration",
            HandlerError::Control(_) => "ControlDatabaseError",
            HandlerError::Settings(_) => "InvalidSettings",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// What the handler needs besides the event: configuration, the secret cache (kept
/// across warm invocations) and the way to continue a run.
pub struct App<S, R> {
    pub config: Config,
    pub secrets: SecretCache<S>,
    pub reinvoker: R,
}

impl<S: SecretSource, R: ReInvoker> App<S, R> {
    pub fn new(config: Config, secrets: S, reinvoker: R) -> Self {
        let ttl = config.secret_ttl;
        App {
            config,
            secrets: SecretCache::new(secrets, ttl),
            reinvoker,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Which run this invocation serves, at which hop, over which targets.
struct Assignment {
    run_id: Uuid,
    hop: u32,
    targets: Vec<String>,
    /// Set when there is nothing to do: why.
    idle: Option<String>,
}

async fn assignment(
    control: &ControlStore,
    request: &Request,
    selected: Vec<String>,
    stale_after: Duration,
) -> Result<Assignment, ControlError> {
    let assigned = |run_id, hop, targets| Assignment {
        run_id,
        hop,
        targets,
        idle: None,
    };
    let idle = |run_id, hop, why: String| Assignment {
        run_id,
        hop,
        targets: Vec::new(),
        idle: Some(why),
    };
    if request.mode != Mode::Run {
        return Ok(assigned(Uuid::new_v4(), 0, selected));
    }
    if let Some(run_id) = request.run_id {
        if !control.claim_hop(run_id, request.hop).await? {
            return Ok(idle(
                run_id,
                request.hop,
                format!("hop {} of run {run_id} was already taken or the run is over (a duplicate delivery): nothing done", request.hop),
            ));
        }
        let pending = control.pending_targets(run_id).await?;
        return Ok(assigned(run_id, request.hop, pending));
    }
    let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
    Ok(match control.claim_run(&selected, stale_ms).await? {
        RunClaim::Started(run_id) => assigned(run_id, 0, selected),
        RunClaim::Resumed(run_id, hop) => {
            tracing::info!(%run_id, hop, "resuming a run whose chain went quiet");
            let pending = control.pending_targets(run_id).await?;
            assigned(run_id, hop, pending)
        }
        RunClaim::Busy(run_id, hop) => idle(
            run_id,
            hop,
            format!(
                "run {run_id} is in progress (hop {hop}); this invocation leaves it to its chain"
            ),
        ),
    })
}

pub async fn handle<S: SecretSource, R: ReInvoker>(
    app: &App<S, R>,
    event: LambdaEvent<Value>,
) -> Result<Report, HandlerError> {
    let request = parse_event(&event.payload)?;
    let known: Vec<&str> = app.config.targets.iter().map(|t| t.name.as_str()).collect();
    for name in request.targets.iter().flatten() {
        if !known.contains(&name.as_str()) {
            return Err(HandlerError::UnknownTarget {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    let budget = Budget::new(allowance(
        event.context.deadline,
        now_ms(),
        app.config.fallback_budget,
        app.config.safety_margin,
    ));
    let control_tls = &app.config.control.tls;
    let (control, _) = open_with_rotation(
        &app.config.control,
        None,
        &app.secrets,
        |config| async move { ControlStore::open(&config, control_tls).await },
    )
    .await?;
    let settings = Settings::from_rows(&control.load_settings().await?)?;

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
    let stale_after = budget.whole() + app.config.safety_margin;
    let assignment = assignment(&control, &request, selected, stale_after).await?;
    let run_id = assignment.run_id;
    let hop = assignment.hop;
    tracing::info!(%run_id, mode = ?request.mode, hop, request_id = %event.context.request_id,
        budget_ms = budget.whole().as_millis() as u64, "invocation started");

    let ctx = RunContext {
        run_id,
        request: &request,
        control: &control,
        settings: &settings,
        secrets: &app.secrets,
        budget,
        invocation: Uuid::new_v4(),
        lease_slack: app.config.safety_margin,
    };
    let entries = app
        .config
        .targets
        .iter()
        .filter(|t| assignment.targets.contains(&t.name));
    let outcomes: Vec<_> = stream::iter(entries)
        .map(|entry| async { (entry.name.as_str(), process_target(&ctx, entry).await) })
        .buffered(PARALLEL_TARGETS)
        .collect()
        .await;

    let mut notes: Vec<String> = assignment.idle.into_iter().collect();
    let mut targets = Vec::new();
    let mut more_work = false;
    let mut complete = notes.is_empty();
    for (name, (reports, progress)) in outcomes {
        targets.extend(reports);
        match progress {
            Progress::Done if request.mode == Mode::Run => {
                control.finish_run_target(run_id, name).await?
            }
            Progress::Done => {}
            Progress::Blocked => complete = false,
            Progress::MoreWork => {
                complete = false;
                more_work = true;
            }
        }
    }
    if request.mode == Mode::Run && notes.is_empty() {
        if complete {
            control.finish_run(run_id).await?;
        } else if more_work && hop < app.config.max_hops {
            let next = json!({"mode": "run", "run_id": run_id, "hop": hop + 1});
            match app
                .reinvoker
                .reinvoke(&event.context.invoked_function_arn, &next)
                .await
            {
                Ok(()) => tracing::info!(%run_id, hop = hop + 1, "next hop invoked"),
                Err(error) => {
                    notes.push(format!("{error}; the next scheduled run resumes this one"))
                }
            }
        } else if more_work {
            notes.push(format!(
                "hop cap {} reached: the next scheduled run resumes this run",
                app.config.max_hops
            ));
        } else {
            notes.push("waiting for rebuilds running in the server or for another invocation: the next scheduled run resumes this run".to_owned());
        }
    }
    if request.mode.changes_targets() {
        match control.purge_history(&settings.history_retention()).await {
            Ok(purged) if purged > 0 => tracing::info!(purged, "old history purged"),
            Ok(_) => {}
            Err(error) => notes.push(format!("history not purged: {error}")),
        }
    }
    let report = Report {
        run_id,
        mode: request.mode,
        hop,
        complete,
        duration_ms: u64::try_from(budget.whole().saturating_sub(budget.left()).as_millis())
            .unwrap_or(u64::MAX),
        notes,
        targets,
    };
    match serde_json::to_string(&report) {
        Ok(json) => tracing::info!(report = %json, "invocation finished"),
        Err(error) => tracing::warn!(error = %error, "report not serialisable"),
    }
    Ok(report)
}

/// Outside Lambda: runs `event`, then every hop it hands over, in this process.
/// `context` makes each invocation's context (its deadline sets the budget).
pub async fn run_in_process<S: SecretSource>(
    app: &App<S, crate::continuation::InProcess>,
    event: Value,
    context: impl Fn() -> lambda_runtime::Context,
) -> Result<Vec<Report>, HandlerError> {
    let mut reports = vec![handle(app, LambdaEvent::new(event, context())).await?];
    while let Some(next) = app.reinvoker.next_event() {
        reports.push(handle(app, LambdaEvent::new(next, context())).await?);
    }
    Ok(reports)
}
