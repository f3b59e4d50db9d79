//! The report for people (`index-pilot invoke --format text`): per target what was
//! rebuilt, what a dry run would take in the order a run takes it, what waits and
//! why, what failed; then totals. Sizes as `pg_size_pretty` shows them, everywhere.

use std::fmt::Write;
use std::time::Duration;

use super::{Report, Status, TargetReport};
use crate::domain::mode::Mode;
use crate::domain::target_error::TargetErrorClass;
use crate::domain::units::{format_elapsed, format_size};
use crate::domain::words::plural;

mod lists;
mod preflight;
mod unknown;

use lists::{
    confirmations, forecast, in_progress, left_alone, leftovers_and_quarantine, plan, rebuilt,
    waiting,
};

/// The reports of one local invocation and the hops that continued it.
pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        invocation(&mut out, report);
    }
    totals(&mut out, reports);
    out
}

fn invocation(out: &mut String, report: &Report) {
    let state = if report.complete {
        "complete"
    } else {
        "more to do"
    };
    let shard = if report.shard > 0 {
        format!(" · shard {}", report.shard)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "index-pilot {} · run {}{shard} · hop {} · {} · {state}",
        report.mode.as_str(),
        report.run_id,
        report.hop,
        elapsed_ms(report.duration_ms),
    );
    for note in &report.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    preflight::configuration(out, &report.configuration);
    for shard in &report.shards {
        let outcome = shard.error.as_deref().unwrap_or("invoked");
        let _ = writeln!(
            out,
            "  shard {}: {} targets ({} … {}): {outcome}",
            shard.shard, shard.targets, shard.first, shard.last
        );
    }
    if !report.continued_with.is_empty() {
        let _ = writeln!(
            out,
            "  continues in the next hop: {}",
            report.continued_with.join(", ")
        );
    }
    for target in &report.targets {
        out.push('\n');
        target_section(out, report.mode, target);
    }
}

fn target_section(out: &mut String, mode: Mode, t: &TargetReport) {
    title_line(out, t);
    preflight::target(out, t);
    if mode == Mode::Check {
        return;
    }
    if let Some(window) = &t.window {
        let _ = writeln!(out, "  maintenance window: {window}");
    }
    // A target that stopped before its scan has nothing to count or plan.
    if t.status != Status::Ok && t.scanned == 0 {
        return;
    }
    counts(out, t);
    rebuilt(out, t);
    // A run's plan became what was rebuilt, deferred or failed: shown there.
    if mode == Mode::DryRun {
        plan(out, t);
    }
    in_progress(out, t);
    confirmations(out, t);
    waiting(out, t);
    unknown::unknown_bloat(out, t);
    leftovers_and_quarantine(out, t);
    forecast(out, t);
    left_alone(out, t);
    omitted(out, t);
}

/// The target's name, status and server, with its reason and warnings.
fn title_line(out: &mut String, t: &TargetReport) {
    let name = match &t.database {
        Some(database) => format!("{}, database {database}", t.name),
        None => t.name.clone(),
    };
    let status = match (t.status, t.error_class) {
        (Status::Ok, _) => "ok".to_owned(),
        (Status::Skipped, _) => "skipped".to_owned(),
        (Status::Error, None) => "error".to_owned(),
        (Status::Error, Some(class)) => format!("error ({})", class.as_str()),
    };
    let version = t
        .server_version
        .as_deref()
        .map(|v| format!(" (PostgreSQL {v})"))
        .unwrap_or_default();
    let _ = writeln!(out, "{name}: {status}{version}");
    if let Some(reason) = &t.reason {
        let _ = writeln!(out, "  {reason}");
    }
    for warning in &t.warnings {
        let _ = writeln!(out, "  warning: {}", warning.message);
    }
}

/// What the scan counted, and the baselines it set.
fn counts(out: &mut String, t: &TargetReport) {
    let _ = writeln!(
        out,
        "  {} scanned, {}",
        plural(t.scanned as u64, "index", "indexes"),
        plural(t.candidates as u64, "candidate", "candidates")
    );
    if let Some(set) = t.baselines_set {
        let _ = writeln!(
            out,
            "  {} set from the current sizes",
            plural(set as u64, "baseline", "baselines")
        );
    }
    if !t.baseline_sources.is_empty() {
        let sources: Vec<String> = t
            .baseline_sources
            .iter()
            .map(|(source, n)| format!("{n} {source}"))
            .collect();
        let _ = writeln!(out, "  new baselines: {}", sources.join(", "));
    }
}

/// The lists cut to keep the report within its bounds.
fn omitted(out: &mut String, t: &TargetReport) {
    if !t.omitted.is_empty() {
        let cut: Vec<String> = t
            .omitted
            .iter()
            .map(|(list, n)| format!("{n} {list}"))
            .collect();
        let _ = writeln!(
            out,
            "  (left out of this report: {}; the control DB's views have them all)",
            cut.join(", ")
        );
    }
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n  {title}");
}

fn bloat(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".to_owned(), |b| format!("{b:.2}×"))
}

fn elapsed_ms(ms: u64) -> String {
    format_elapsed(Duration::from_millis(ms))
}

/// A duration, and of it the time blocked by other sessions when there was any.
fn took(duration_ms: u64, blocked_ms: u64) -> String {
    if blocked_ms == 0 {
        return elapsed_ms(duration_ms);
    }
    format!(
        "{} ({} blocked)",
        elapsed_ms(duration_ms),
        elapsed_ms(blocked_ms)
    )
}

fn totals(out: &mut String, reports: &[Report]) {
    let all = || reports.iter().flat_map(|r| r.targets.iter());
    // Where each target (and database) stands after the last hop that served it.
    let mut last: Vec<&TargetReport> = Vec::new();
    for t in all() {
        match last
            .iter_mut()
            .find(|l| l.name == t.name && l.database == t.database)
        {
            Some(seen) => *seen = t,
            None => last.push(t),
        }
    }
    let rebuilt: Vec<_> = all().flat_map(|t| t.reindexed.iter()).collect();
    let before: u64 = rebuilt.iter().map(|r| r.size_before).sum();
    let after: u64 = rebuilt.iter().map(|r| r.size_after).sum();
    let rebuilding: u64 = rebuilt.iter().map(|r| r.duration_ms).sum();
    let blocked: u64 = rebuilt.iter().map(|r| r.blocked_ms).sum();
    let in_last = |f: fn(&TargetReport) -> usize| last.iter().map(|t| f(t)).sum::<usize>();
    let _ = writeln!(out, "\nTotals");
    if reports.iter().any(|r| r.mode == Mode::DryRun) {
        let planned: Vec<_> = last.iter().flat_map(|t| t.plan.iter()).collect();
        let saving: u64 = planned.iter().map(|p| p.expected_reclaim_bytes).sum();
        let _ = writeln!(
            out,
            "  a run would rebuild {}, expected saving {}",
            plural(planned.len() as u64, "index", "indexes"),
            format_size(saving)
        );
    }
    if !rebuilt.is_empty() || reports.iter().any(|r| r.mode.changes_targets()) {
        let _ = writeln!(
            out,
            "  rebuilt {}: {} → {}, saved {}, in {}",
            plural(rebuilt.len() as u64, "index", "indexes"),
            format_size(before),
            format_size(after),
            format_size(before.saturating_sub(after)),
            took(rebuilding, blocked)
        );
    }
    let _ = writeln!(
        out,
        "  {} ({}), {} scanned, {} deferred, {} failed, {} in quarantine",
        plural(last.len() as u64, "target", "targets"),
        errors(&last),
        plural(in_last(|t| t.scanned) as u64, "index", "indexes"),
        in_last(|t| t.deferred.len()),
        all().map(|t| t.failed.len()).sum::<usize>(),
        in_last(|t| t.quarantined.len()),
    );
}

/// `0 with errors`, or `3 with errors: 1 connect, 2 login`.
fn errors(targets: &[&TargetReport]) -> String {
    let failed: Vec<&&TargetReport> = targets
        .iter()
        .filter(|t| t.status == Status::Error)
        .collect();
    let by_class: Vec<String> = TargetErrorClass::ALL
        .iter()
        .filter_map(|class| {
            let n = failed
                .iter()
                .filter(|t| t.error_class == Some(*class))
                .count();
            (n > 0).then(|| format!("{n} {}", class.as_str()))
        })
        .collect();
    if by_class.is_empty() {
        format!("{} with errors", failed.len())
    } else {
        format!("{} with errors: {}", failed.len(), by_class.join(", "))
    }
}

#[cfg(test)]
mod tests;
