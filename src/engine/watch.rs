//! A rebuild under watch: while REINDEX INDEX CONCURRENTLY runs on the rebuild
//! connection, the scan connection follows it with short autocommit queries: its
//! phase and progress (logged at a steady interval), the copy it builds (recorded at
//! once, so a later invocation knows it), and whether it waits for others. One that
//! has waited longer than `max_rebuild_wait` is cancelled, ours only, by its
//! connection's own cancel key. Every look is bounded: a control database or a scan
//! connection that stops answering (a failover) must not keep the watch from its
//! cancel and from the end of the invocation's time.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;

use super::work::Started;
use crate::control::ControlStore;
use crate::domain::blocker::{waiting_for, Blocker};
use crate::domain::ident::QualifiedName;
use crate::domain::watch::Cadence;
use crate::pg::PgError;
use crate::target_db::{RebuildState, Rebuilder, TargetDb};

/// How often a running rebuild is looked at: at most once a second.
pub(super) const POLL: Duration = Duration::from_secs(1);

/// How long one look may wait for its answer before the watch goes on without it.
const LOOK_WITHIN: Duration = Duration::from_secs(5);

/// `look`, or `None` (logged) when it fails or goes unanswered within [`LOOK_WITHIN`].
async fn look<T, E: std::fmt::Display>(
    index: &QualifiedName,
    what: &'static str,
    look: impl Future<Output = Result<T, E>>,
) -> Option<T> {
    match tokio::time::timeout(LOOK_WITHIN, look).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            tracing::warn!(index = %index, error = %error, "{what} failed; the watch goes on");
            None
        }
        Err(_) => {
            tracing::warn!(index = %index, within_s = LOOK_WITHIN.as_secs(),
                "{what}: no answer in time; the watch goes on");
            None
        }
    }
}

pub(super) enum RunEnd {
    /// The statement returned.
    Returned(Result<(), PgError>),
    /// This invocation's time is up; the statement still runs in the server.
    TimeUp,
}

pub(super) struct Watched {
    pub(crate) end: RunEnd,
    /// The sessions it waited for when last seen, if it was waiting then; the oldest
    /// first.
    pub(crate) blocked_by: Vec<Blocker>,
    /// Set when we cancelled it: how long it had waited.
    pub(crate) cancelled_after: Option<Duration>,
    /// How long it was seen waiting for other sessions (locks, old snapshots).
    pub(crate) waited: Duration,
}

/// What the watch needs besides the statement.
pub(super) struct Watch<'a> {
    pub(crate) db: &'a TargetDb,
    pub(crate) control: &'a ControlStore,
    pub(crate) rebuilder: &'a Rebuilder,
    pub(crate) started: &'a Started,
    /// Our own processes: never counted as blockers.
    pub(crate) ours: &'a [i32],
    /// Time left in this invocation.
    pub(crate) left: Duration,
    /// The target's name, for the progress lines.
    pub(crate) target: &'a str,
    pub(crate) progress_interval: Duration,
}

/// What the watch has seen of the rebuild so far.
#[derive(Default)]
struct Seen {
    /// The copy it builds is recorded in the control database.
    copy_recorded: bool,
    /// The sessions it waits for when last seen waiting; the oldest first.
    blocked_by: Vec<Blocker>,
    /// Their pids: the sessions are looked up again only when these change.
    waiting_pids: Vec<i32>,
    waited: Duration,
    cancelled_after: Option<Duration>,
}

impl Watch<'_> {
    pub(crate) async fn run(self, statement: impl Future<Output = Result<(), PgError>>) -> Watched {
        let mut seen = Seen {
            copy_recorded: self.started.trace.copy_oid.is_some(),
            ..Seen::default()
        };
        let mut last_look = Instant::now();
        let began = Instant::now();
        let mut cadence = Cadence::new(began, self.progress_interval);
        let mut statement = std::pin::pin!(statement);
        let mut deadline = std::pin::pin!(tokio::time::sleep(self.left));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + POLL, POLL);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let end = loop {
            tokio::select! {
                biased;
                result = &mut statement => break RunEnd::Returned(result),
                _ = &mut deadline => break RunEnd::TimeUp,
                _ = ticker.tick() => {}
            }
            let since_last = last_look.elapsed();
            last_look = Instant::now();
            let looked = look(
                &self.started.index,
                "looking at the rebuild",
                self.db.rebuild_state(
                    self.rebuilder.backend_pid,
                    Some(self.rebuilder.backend_start),
                ),
            )
            .await;
            // Between its statements, just ended (the statement tells), or not seen.
            let Some(Some(state)) = looked else {
                continue;
            };
            self.record_copy(&state, &mut seen).await;
            self.follow_waiting(&state, since_last, &mut seen).await;
            self.cancel_if_waited_too_long(&mut seen).await;
            if cadence.due(Instant::now()) {
                self.log_progress(began, &state);
            }
        };
        Watched {
            end,
            blocked_by: seen.blocked_by,
            cancelled_after: seen.cancelled_after,
            waited: seen.waited,
        }
    }

    /// The copy the rebuild builds, recorded the first time it is seen, so that a
    /// later invocation knows it for ours.
    async fn record_copy(&self, state: &RebuildState, seen: &mut Seen) {
        let started = self.started;
        let Some(copy) = state
            .index_oid
            .filter(|oid| *oid != started.trace.index_oid_before)
        else {
            return;
        };
        if !seen.copy_recorded {
            let recorded = look(
                &started.index,
                "recording the rebuild's copy",
                self.control.record_copy(started.history_id, copy),
            )
            .await;
            // Tried again at the next look when it did not go through.
            seen.copy_recorded = recorded.is_some();
        }
    }

    /// How long the rebuild waits for other sessions, and for which (looked up when
    /// they change).
    async fn follow_waiting(&self, state: &RebuildState, since_last: Duration, seen: &mut Seen) {
        match &state.waiting_for {
            Some(pids) => {
                seen.waited += since_last;
                if *pids != seen.waiting_pids && !pids.is_empty() {
                    seen.waiting_pids.clone_from(pids);
                    let sessions = look(
                        &self.started.index,
                        "looking at the sessions the rebuild waits for",
                        self.db
                            .sessions(self.started.trace.table_oid, self.ours, Some(pids)),
                    )
                    .await;
                    if let Some(sessions) = sessions {
                        seen.blocked_by = waiting_for(&sessions);
                    }
                }
            }
            // Whom it waited for earlier says nothing about how it ends.
            None => {
                seen.waiting_pids.clear();
                seen.blocked_by.clear();
            }
        }
    }

    /// One that has waited longer than `max_rebuild_wait` is cancelled, once, by its
    /// own connection's cancel key: ours only.
    async fn cancel_if_waited_too_long(&self, seen: &mut Seen) {
        let started = self.started;
        if seen.waited > started.settings.max_rebuild_wait && seen.cancelled_after.is_none() {
            tracing::warn!(index = %started.index, waited_s = seen.waited.as_secs(),
                blocked_by = %seen.blocked_by.iter().map(Blocker::describe).collect::<Vec<_>>().join("; "),
                "the rebuild waited longer than max_rebuild_wait: cancelling it");
            seen.cancelled_after = Some(seen.waited);
            look(
                &started.index,
                "the cancel request",
                self.rebuilder.canceller().cancel(),
            )
            .await;
        }
    }

    fn log_progress(&self, began: Instant, state: &RebuildState) {
        log_progress(
            &ProgressLine {
                target: self.target,
                database: &self.db.database_name,
                index: &self.started.index,
                pid: self.rebuilder.backend_pid,
                elapsed: began.elapsed(),
            },
            state,
        );
    }
}

/// Which rebuild a progress line is about.
pub(super) struct ProgressLine<'a> {
    pub(crate) target: &'a str,
    pub(crate) database: &'a str,
    pub(crate) index: &'a QualifiedName,
    pub(crate) pid: i32,
    /// Since it started (as far as this invocation knows, for an adopted one).
    pub(crate) elapsed: Duration,
}

/// One line per look that is due: where the rebuild is, and when it waits, for whom
/// and for what (never anyone's query text).
pub(super) fn log_progress(line: &ProgressLine<'_>, state: &RebuildState) {
    let counters = &state.counters;
    let blocking_pids = state.waiting_for.as_ref().map(|pids| {
        pids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    tracing::info!(target = %line.target, database = %line.database, index = %line.index,
        pid = line.pid, phase = %state.phase, percent_done = state.percent_done,
        blocks_done = counters.blocks.0, blocks_total = counters.blocks.1,
        tuples_done = counters.tuples.0, tuples_total = counters.tuples.1,
        lockers = counters.lockers().as_deref(), elapsed_s = line.elapsed.as_secs(),
        waiting = state.waiting_for.is_some(), wait_kind = state.wait_kind,
        blocking_pids = blocking_pids.as_deref(), "rebuild in progress");
}
