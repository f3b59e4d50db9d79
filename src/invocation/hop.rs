//! The hop of a shard an invocation works on: which hop it is (or why there is
//! none), the work on its targets with each one's stored progress, the hand-over to
//! the next hop, and the history's purge.

use futures::stream::{self, StreamExt};
use lambda_runtime::Context;
use tracing::Instrument;
use uuid::Uuid;

use super::assignment::{chain_event, fan_out, Assignment};
use super::continuation::ReInvoker;
use super::event::Request;
use super::handler::{App, HandlerError};
use crate::control::{ControlStore, ProgressRecord};
use crate::domain::budget::Budget;
use crate::domain::fleet::{hand_over, longest_waiting_first};
use crate::domain::preflight::ControlRows;
use crate::domain::settings::Settings;
use crate::domain::window::MaintenanceWindows;
use crate::engine::free_storage::{Readings, READING_REUSE};
use crate::engine::{process_target, Progress, Rebuilds, RunContext, TargetProgress, Why};
use crate::report::Report;

/// The hop of a shard this invocation works on.
pub(super) struct Hop {
    pub(crate) run_id: Uuid,
    pub(crate) shard: u32,
    pub(crate) hop: u32,
    pub(crate) targets: Vec<String>,
}

/// What the work on the targets shares besides the application.
pub(super) struct Scope<'a> {
    pub(crate) request: &'a Request,
    pub(crate) control: &'a ControlStore,
    pub(crate) rows: &'a ControlRows,
    pub(crate) settings: Settings,
    pub(crate) windows: MaintenanceWindows,
    pub(crate) known: &'a [&'a str],
    pub(crate) budget: Budget,
}

/// The assignment's hop to work on; a fan-out or a duplicate delivery ends the
/// invocation here, with the report saying so.
pub(super) async fn take<R: ReInvoker>(
    app: &App<R>,
    context: &Context,
    assignment: Assignment,
    report: &mut Report,
) -> Option<Hop> {
    match assignment {
        Assignment::Work {
            run_id,
            shard,
            hop,
            targets,
        } => {
            (report.run_id, report.shard, report.hop) = (run_id, shard, hop);
            Some(Hop {
                run_id,
                shard,
                hop,
                targets,
            })
        }
        Assignment::FanOut { run_id, shards } => {
            report.run_id = run_id;
            let function_arn = &context.invoked_function_arn;
            report.shards = fan_out(&app.reinvoker, function_arn, run_id, &shards).await;
            tracing::info!(shards = shards.len(), "run fanned out over shards");
            None
        }
        Assignment::Duplicate { run_id, shard, hop } => {
            report.run_id = run_id;
            (report.shard, report.hop) = (shard, hop);
            report.notes.push(format!("hop {hop} of shard {shard} of run {run_id} was already taken, or the run is unknown (a duplicate delivery): nothing done"));
            None
        }
    }
}

/// The hop's targets, a few at a time (longest waiting first in a run); each one's
/// progress stored (a run's) and its reports in the report.
pub(super) async fn work<R: ReInvoker>(
    app: &App<R>,
    scope: &Scope<'_>,
    hop: &Hop,
    report: &mut Report,
) -> Result<Vec<(String, Progress)>, HandlerError> {
    let (request, control) = (scope.request, scope.control);
    let targets = if request.mode.is_scheduled_run() {
        longest_waiting_first(&hop.targets, &control.targets_served(&hop.targets).await?)
    } else {
        hop.targets.clone()
    };
    let rebuilds = Rebuilds::new(app.config.max_concurrent_rebuilds);
    let free_storage = Readings::new(&*app.free_storage, READING_REUSE);
    let budget = scope.budget;
    let ctx = RunContext {
        run_id: hop.run_id,
        request,
        control,
        settings: &scope.settings,
        secrets: &app.secrets,
        signer: &*app.signer,
        free_storage: &free_storage,
        budget,
        invocation: Uuid::new_v4(),
        lease_slack: app.config.safety_margin,
        rebuilds: &rebuilds,
        windows: &scope.windows,
        rows: scope.rows,
        setup: budget.whole().saturating_sub(budget.left()),
        progress_interval: app.config.progress_interval,
        configured: scope.known,
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
        if request.mode.is_scheduled_run() && outcome.served {
            let target_progress = outcome.target_progress();
            let record = record(name, hop, &target_progress);
            if let Err(error) = control.save_progress_record(&record).await {
                (report.notes).push(format!("progress of {name} not saved: {error}"));
            }
        }
        progress.push((name.to_owned(), outcome.progress));
        report.targets.extend(outcome.reports);
    }
    Ok(progress)
}

/// Where `target` stands after this invocation, for the next ones and for people.
fn record<'a>(target: &'a str, hop: &Hop, progress: &'a TargetProgress) -> ProgressRecord<'a> {
    ProgressRecord {
        target,
        run_id: hop.run_id,
        hop: hop.hop,
        state: progress.state,
        reason: progress.why.as_ref().map(Why::render),
        error_class: progress.error_class.map(|c| c.as_str()),
    }
}

/// Hands the targets with work left to the next hop, when the chain may go on.
pub(super) async fn continue_chain<R: ReInvoker>(
    app: &App<R>,
    context: &Context,
    hop: &Hop,
    progress: &[(String, Progress)],
    report: &mut Report,
) {
    let next = hand_over(progress, hop.hop, app.config.max_hops);
    report.notes.extend(next.notes);
    if next.next.is_empty() {
        return;
    }
    let event = chain_event(hop.run_id, hop.shard, hop.hop + 1, &next.next);
    match (app.reinvoker)
        .reinvoke(&context.invoked_function_arn, &event)
        .await
    {
        Ok(()) => {
            tracing::info!(next_hop = hop.hop + 1, "next hop invoked");
            report.continued_with = next.next;
        }
        Err(error) => report
            .notes
            .push(format!("{error}; the next schedule takes these targets")),
    }
}

/// The retention is a global setting: not purged while a row cannot be read.
pub(super) async fn purge(control: &ControlStore, settings: &Settings, report: &mut Report) {
    if settings.has_invalid_rows() {
        return;
    }
    match control.purge_history(&settings.history_retention()).await {
        Ok(purged) if purged > 0 => tracing::info!(purged, "old history purged"),
        Ok(_) => {}
        Err(error) => report.notes.push(format!("history not purged: {error}")),
    }
}
