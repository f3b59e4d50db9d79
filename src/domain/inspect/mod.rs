//! Our own reads of whole relations, and whether one may happen. pgstattuple (a
//! GiST's first estimate) and pgstatindex (a large btree's confirmation) read every
//! page of an index; ANALYZE (stale statistics before a rebuild) reads a sample of its
//! table. On a production primary each of them costs I/O and holds a snapshot while
//! it runs, so each is bounded: by size (`max_inspect_size`, whole-index reads only),
//! by time (`max_inspect_time`, and never past the invocation's budget or the
//! maintenance window), not again soon after it timed out, and only where a rebuild
//! could start now.

use std::time::Duration;

use jiff::Timestamp;

use super::settings::IndexSettings;
use super::units::{format_elapsed, format_size};
use super::window::WindowState;
use super::words::plural;

/// How long a read that hit `max_inspect_time` on an index is not tried again there.
/// An index that took longer than that to read will take as long next time (it only
/// grows until it is rebuilt), and trying again on every hop of every schedule would
/// spend the whole cap each time. A week lets a changed setting, a rebuild or a quieter
/// server give it another chance without a DBA having to clear anything.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// statement_timeout counts whole milliseconds, and 0 would mean no limit at all:
/// less time than this left is no time.
pub(crate) const SMALLEST_TIMEOUT: Duration = Duration::from_millis(1);

/// What is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReadKind {
    /// pgstattuple over a whole GiST index (its first estimate).
    Pgstattuple,
    /// pgstatindex over a whole btree (its confirmation).
    Pgstatindex,
    /// ANALYZE of the index's table (its confirmation, when statistics are stale).
    Analyze,
}

impl ReadKind {
    pub(crate) const ALL: [ReadKind; 3] = [
        ReadKind::Pgstattuple,
        ReadKind::Pgstatindex,
        ReadKind::Analyze,
    ];

    /// The name the control database keeps.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ReadKind::Pgstattuple => "pgstattuple",
            ReadKind::Pgstatindex => "pgstatindex",
            ReadKind::Analyze => "analyze",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<ReadKind> {
        ReadKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// As the report names it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ReadKind::Analyze => "ANALYZE",
            other => other.as_str(),
        }
    }

    /// ANALYZE reads at most 300 × the statistics target pages of its table, whatever
    /// the table's size: only the whole-index reads grow with the index.
    fn reads_whole_index(self) -> bool {
        self != ReadKind::Analyze
    }
}

/// A read that hit `max_inspect_time` on an index, as the control database keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimedOut {
    /// How long ago, by the control database's clock (the one that recorded it).
    pub(crate) age: Duration,
    /// When, for people (UTC).
    pub(crate) at: String,
    /// The statement_timeout it hit.
    pub(crate) after: Duration,
}

/// What an index's settings allow a read of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct InspectLimits {
    /// `max_inspect_size`: larger indexes are not read whole.
    pub(crate) max_size: u64,
    /// `max_inspect_time`: every read's statement_timeout, at most.
    pub(crate) max_time: Duration,
}

impl InspectLimits {
    pub(crate) fn of(settings: &IndexSettings) -> InspectLimits {
        InspectLimits {
            max_size: settings.max_inspect_size,
            max_time: settings.max_inspect_time,
        }
    }
}

/// One read the engine would make, and what bears on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    pub(crate) kind: ReadKind,
    pub(crate) size_bytes: u64,
    pub(crate) limits: InspectLimits,
    /// This read's recorded timeout on this index, if any.
    pub(crate) recorded: Option<&'a TimedOut>,
    /// What is left of the invocation's budget.
    pub(crate) budget_left: Duration,
    pub(crate) window: &'a WindowState,
    pub(crate) now: Timestamp,
}

/// Why a read does not happen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    TooLarge {
        size: u64,
        cap: u64,
    },
    /// It timed out on this index less than [`RETRY_AFTER`] ago.
    TimedOutBefore(TimedOut),
    /// Outside the database's maintenance windows (described).
    OutsideWindow(String),
    /// The invocation's budget is spent.
    BudgetSpent,
}

impl Refusal {
    /// Whether the read may happen later in the same circumstances (in a window, in
    /// an invocation with time left): the index waits for it. Too large, or timed
    /// out lately, it will not: what needs it goes without.
    pub(crate) fn passes(&self) -> bool {
        matches!(self, Refusal::OutsideWindow(_) | Refusal::BudgetSpent)
    }

    /// For the report, where the read would have been: "pgstatindex not read: …".
    pub(crate) fn explain(&self, kind: ReadKind) -> String {
        let label = kind.label();
        match self {
            Refusal::TooLarge { size, cap } => format!(
                "{label} not read: larger than max_inspect_size ({} > {})",
                format_size(*size),
                format_size(*cap)
            ),
            Refusal::TimedOutBefore(timed_out) => format!(
                "{label} not run: it timed out on this index at {} (after {}, max_inspect_time) and is not tried again there before {} have passed",
                timed_out.at,
                format_elapsed(timed_out.after),
                days(RETRY_AFTER)
            ),
            Refusal::OutsideWindow(window) => format!(
                "{label} not run: {window}, and our own reads happen only where a rebuild could start"
            ),
            Refusal::BudgetSpent => format!("{label} not run: this invocation's budget is spent"),
        }
    }
}

fn days(duration: Duration) -> String {
    plural(duration.as_secs() / 86_400, "day", "days")
}

/// What ends a permitted read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    MaxInspectTime,
    Budget,
    Window,
}

/// A read that may happen, and the statement_timeout it runs under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Permit {
    /// Whole milliseconds, at least [`SMALLEST_TIMEOUT`].
    pub(crate) timeout: Duration,
    pub(crate) bound: Bound,
}

impl Permit {
    /// Whether a read cancelled at this permit's timeout is recorded: only one that
    /// hit `max_inspect_time` says something about the index; the budget's or the
    /// window's end says only that this invocation stopped it.
    pub(crate) fn records_timeout(&self) -> bool {
        self.bound == Bound::MaxInspectTime
    }

    /// For the report, a read cancelled at this permit's timeout; `recorded`: the
    /// timeout is kept (a mode that writes).
    pub(crate) fn explain_timeout(&self, kind: ReadKind, recorded: bool) -> String {
        let label = kind.label();
        let after = format_elapsed(self.timeout);
        match (self.bound, recorded) {
            (Bound::MaxInspectTime, true) => format!(
                "{label} timed out after {after} (max_inspect_time): recorded, not tried again on this index for {}",
                days(RETRY_AFTER)
            ),
            (Bound::MaxInspectTime, false) => format!(
                "{label} timed out after {after} (max_inspect_time): a run records it and does not try again on this index for {}",
                days(RETRY_AFTER)
            ),
            (Bound::Budget, _) => {
                format!("{label} stopped after {after}: this invocation's budget ran out")
            }
            (Bound::Window, _) => {
                format!("{label} stopped after {after}: the maintenance window closed")
            }
        }
    }
}

/// Whether a read may happen, and under which timeout: not on an index larger than
/// `max_inspect_size` (whole-index reads), not within [`RETRY_AFTER`] of a timeout on
/// it, only while the maintenance windows allow a rebuild, and never past what is left
/// of the budget or the window.
pub(crate) fn may_read(ask: &Ask<'_>) -> Result<Permit, Refusal> {
    if ask.kind.reads_whole_index() && ask.size_bytes > ask.limits.max_size {
        return Err(Refusal::TooLarge {
            size: ask.size_bytes,
            cap: ask.limits.max_size,
        });
    }
    if let Some(timed_out) = ask.recorded.filter(|t| t.age < RETRY_AFTER) {
        return Err(Refusal::TimedOutBefore(timed_out.clone()));
    }
    let window_left = match ask.window {
        WindowState::Always => None,
        WindowState::Open { closes_at } => Some(Duration::from_millis(
            u64::try_from(closes_at.timestamp().as_millisecond() - ask.now.as_millisecond())
                .unwrap_or(0),
        )),
        closed @ WindowState::Closed { .. } => {
            return Err(Refusal::OutsideWindow(closed.describe()))
        }
    };
    if window_left.is_some_and(|left| left < SMALLEST_TIMEOUT) {
        return Err(Refusal::OutsideWindow(ask.window.describe()));
    }
    if ask.budget_left < SMALLEST_TIMEOUT {
        return Err(Refusal::BudgetSpent);
    }
    let mut permit = Permit {
        timeout: ask.limits.max_time,
        bound: Bound::MaxInspectTime,
    };
    for (left, bound) in [
        (Some(ask.budget_left), Bound::Budget),
        (window_left, Bound::Window),
    ] {
        if let Some(left) = left.filter(|left| *left < permit.timeout) {
            permit = Permit {
                timeout: left,
                bound,
            };
        }
    }
    permit.timeout = whole_milliseconds(permit.timeout);
    Ok(permit)
}

/// Rounded up to whole milliseconds, at least one: statement_timeout's unit, where 0
/// would mean no limit.
fn whole_milliseconds(duration: Duration) -> Duration {
    let ms = u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
    Duration::from_millis(ms.max(1))
}

/// Whether confirmations may still read anything: none once the budget is spent.
pub(crate) fn budget_spent(budget_left: Duration) -> bool {
    budget_left < SMALLEST_TIMEOUT
}

#[cfg(test)]
mod tests;
