//! The per-index lists of a target, as tables.

use std::fmt::Write;

use super::{bloat, elapsed_ms, heading, took};
use crate::domain::rebuild_memory::SessionUsed;
use crate::domain::units::format_size;
use crate::domain::words::plural;
use crate::pg::ServerMessage;
use crate::report::table::{draw, number, text};
use crate::report::TargetReport;

pub(super) fn rebuilt(out: &mut String, t: &TargetReport) {
    if t.reindexed.is_empty() {
        return;
    }
    heading(out, "Rebuilt:");
    let rows = t
        .reindexed
        .iter()
        .map(|r| {
            let mut index = r.index.clone();
            if r.adopted {
                index.push_str(" (started earlier)");
            }
            vec![
                index,
                r.access_method.clone(),
                format_size(r.size_before),
                format_size(r.size_after),
                format_size(r.size_before.saturating_sub(r.size_after)),
                bloat(r.estimated_bloat_before),
                took(r.duration_ms, r.blocked_ms),
            ]
        })
        .collect();
    out.push_str(&draw(
        &[
            text("index"),
            text("method"),
            number("before"),
            number("after"),
            number("saved"),
            number("bloat before"),
            number("took"),
        ],
        rows,
        2,
    ));
    for r in t.reindexed.iter().filter(|r| r.note.is_some()) {
        let _ = writeln!(out, "  {}: {}", r.index, r.note.as_deref().unwrap_or(""));
    }
    for r in &t.reindexed {
        said(out, &r.index, r.session.as_ref(), &r.server_messages);
    }
}

/// What index-pilot set in a rebuild's session (when it set more than the
/// settings), and what the server said while it ran.
fn said(out: &mut String, index: &str, session: Option<&SessionUsed>, said: &[ServerMessage]) {
    if let Some(session) = session.filter(|s| {
        s.maintenance_work_mem_raised_from.is_some() || s.max_parallel_maintenance_workers.is_some()
    }) {
        let _ = writeln!(out, "  {index}: ran with {}", session.describe());
    }
    for message in said {
        let _ = writeln!(
            out,
            "  {index}: the server said {}: {} (SQLSTATE {})",
            message.severity, message.message, message.code
        );
    }
}

pub(super) fn plan(out: &mut String, t: &TargetReport) {
    if t.plan.is_empty() {
        heading(out, "A run would rebuild nothing here.");
        return;
    }
    heading(out, "A run would rebuild, in this order:");
    let rows = t
        .plan
        .iter()
        .enumerate()
        .map(|(i, p)| {
            vec![
                (i + 1).to_string(),
                p.index.clone(),
                p.access_method.clone(),
                format_size(p.size_bytes),
                bloat(p.estimated_bloat),
                format_size(p.expected_reclaim_bytes),
                format!(
                    "{} ({})",
                    elapsed_ms(p.predicted_duration_ms),
                    p.prediction_source.as_str()
                ),
                p.reason.as_str().replace('_', " "),
            ]
        })
        .collect();
    out.push_str(&draw(
        &[
            number("#"),
            text("index"),
            text("method"),
            number("size"),
            number("est. bloat"),
            number("expected saving"),
            number("predicted"),
            text("why"),
        ],
        rows,
        2,
    ));
}

pub(super) fn in_progress(out: &mut String, t: &TargetReport) {
    if t.in_progress.is_empty() {
        return;
    }
    heading(out, "Still running in the server:");
    let rows = t
        .in_progress
        .iter()
        .map(|p| {
            vec![
                p.index.clone(),
                p.pid.to_string(),
                p.phase.clone(),
                p.percent_done
                    .map_or_else(|| "?".to_owned(), |d| format!("{d:.0} %")),
                elapsed_ms(p.running_ms),
            ]
        })
        .collect();
    out.push_str(&draw(
        &[
            text("index"),
            number("pid"),
            text("phase"),
            number("done"),
            number("running for"),
        ],
        rows,
        2,
    ));
}

pub(super) fn confirmations(out: &mut String, t: &TargetReport) {
    for c in t.confirmations.iter().filter(|c| c.false_alarm) {
        let _ = writeln!(
            out,
            "\n  {} ({}) not rebuilt after all: {}",
            c.index,
            format_size(c.size_bytes),
            c.how
        );
    }
}

pub(super) fn waiting(out: &mut String, t: &TargetReport) {
    if !t.deferred.is_empty() {
        heading(out, "Deferred:");
        let rows = t
            .deferred
            .iter()
            .map(|d| vec![d.index.clone(), d.reason.clone()])
            .collect();
        out.push_str(&draw(&[text("index"), text("why")], rows, 2));
    }
    if !t.failed.is_empty() {
        heading(out, "Failed:");
        let rows = t
            .failed
            .iter()
            .map(|f| {
                let mut error = f.error.clone();
                if let Some(state) = &f.sqlstate {
                    error = format!("{error} (SQLSTATE {state})");
                }
                if f.quarantined {
                    error.push_str("; quarantined");
                }
                vec![f.index.clone(), error]
            })
            .collect();
        out.push_str(&draw(&[text("index"), text("error")], rows, 2));
        for f in &t.failed {
            said(out, &f.index, f.session.as_ref(), &f.server_messages);
        }
    }
}

pub(super) fn leftovers_and_quarantine(out: &mut String, t: &TargetReport) {
    if !t.leftovers.is_empty() {
        heading(out, "Invalid indexes:");
        let rows = t
            .leftovers
            .iter()
            .map(|l| {
                vec![
                    l.index.clone(),
                    l.size_bytes.map_or_else(|| "?".to_owned(), format_size),
                    l.action.clone(),
                ]
            })
            .collect();
        out.push_str(&draw(
            &[text("index"), number("size"), text("what was done")],
            rows,
            2,
        ));
    }
    if !t.quarantined.is_empty() {
        heading(out, "In quarantine (not rebuilt until released):");
        let rows = t
            .quarantined
            .iter()
            .map(|q| vec![q.index.clone(), q.since.clone(), q.error.clone()])
            .collect();
        out.push_str(&draw(
            &[text("index"), text("since"), text("last error")],
            rows,
            2,
        ));
    }
}

pub(super) fn forecast(out: &mut String, t: &TargetReport) {
    if t.forecast.is_empty() {
        return;
    }
    heading(out, "Growing, expected to need a rebuild:");
    let rows = t
        .forecast
        .iter()
        .map(|f| {
            vec![
                f.index.clone(),
                format_size(f.size_bytes),
                bloat(Some(f.estimated_bloat)),
                format!("{:.2}×", f.threshold),
                f.expected_at.clone(),
            ]
        })
        .collect();
    out.push_str(&draw(
        &[
            text("index"),
            number("size"),
            number("est. bloat"),
            number("rebuilt at"),
            text("expected"),
        ],
        rows,
        2,
    ));
}

/// `dry_run`: the indexes a run would leave alone, by name, with their estimate.
pub(super) fn left_alone(out: &mut String, t: &TargetReport) {
    if t.left_alone.is_empty() {
        return;
    }
    heading(
        out,
        &format!(
            "{} at or above the size threshold, not bloated enough to rebuild:",
            plural(t.left_alone.len() as u64, "index", "indexes")
        ),
    );
    let rows = t
        .left_alone
        .iter()
        .map(|e| {
            vec![
                e.index.clone(),
                format_size(e.size_bytes),
                bloat(e.estimated_bloat),
            ]
        })
        .collect();
    out.push_str(&draw(
        &[text("index"), number("size"), number("est. bloat")],
        rows,
        2,
    ));
}
