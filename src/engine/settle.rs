//! How a rebuild of ours ended, decided from what the target shows now: a new valid
//! index under the name means it did its work, whatever failed after the swap;
//! otherwise it failed. Then what it left behind (known by identity) is dropped or
//! kept for later, the history row is closed, and repeated or hopeless failures put
//! the index in quarantine.

use super::leftovers::DropOutcome;
use super::work::{to_i64, Started, Took, Work};
use super::DatabaseError;
use crate::control::{LeftoverRecord, QuarantineEntry, RebuiltIndex, ReindexFailure};
use crate::domain::bloat::{fresh_baseline, is_reliable};
use crate::domain::blocker::Blocker;
use crate::domain::failure::{classify, failures_in_a_row, quarantines, FailureClass};
use crate::domain::leftovers::{ended, Ended, InvalidIndexRef};
use crate::domain::settle::{note_after_swap, LeftBehind};
use crate::pg::PgError;
use crate::report::{round2, Failed, Reindexed, TargetReport};
use crate::target_db::RebuildSession;

/// How the rebuild's statement ended, as far as we saw it.
pub(super) enum End {
    /// It reported success.
    Succeeded,
    /// It failed: the server's error, or a broken connection.
    Failed {
        error: PgError,
        blocked_by: Vec<Blocker>,
        /// Set when we cancelled it after it had waited this long.
        cancelled_after: Option<std::time::Duration>,
    },
    /// An earlier invocation's rebuild whose server process has ended; how, nobody saw.
    ProcessEnded,
}

impl End {
    fn describe(&self) -> Option<String> {
        match self {
            End::Succeeded => None,
            End::Failed {
                error,
                blocked_by,
                cancelled_after: Some(waited),
            } => Some(format!(
                "cancelled by index-pilot after waiting {}s (longer than max_rebuild_wait) for {}: {error}",
                waited.as_secs(),
                describe_all(blocked_by)
            )),
            End::Failed {
                error, blocked_by, ..
            } if !blocked_by.is_empty() => {
                Some(format!("{error}; it was waiting for {}", describe_all(blocked_by)))
            }
            End::Failed { error, .. } => Some(error.to_string()),
            End::ProcessEnded => Some(
                "interrupted: its server process ended before the rebuild completed".to_owned(),
            ),
        }
    }
}

fn describe_all(blockers: &[Blocker]) -> String {
    if blockers.is_empty() {
        return "other sessions".to_owned();
    }
    blockers
        .iter()
        .map(Blocker::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A failed rebuild as the history and the report keep it.
struct Failure {
    error: String,
    class: FailureClass,
    sqlstate: Option<String>,
    blocked_by: Vec<Blocker>,
}

impl End {
    /// What failed, for a rebuild whose name does not point to a new valid index.
    /// `what_failed`: this end's [`End::describe`].
    fn failure(&self, what_failed: Option<String>) -> Failure {
        match self {
            End::Failed {
                error, blocked_by, ..
            } => Failure {
                error: what_failed.unwrap_or_default(),
                class: classify(error.sqlstate()),
                sqlstate: error.sqlstate().map(str::to_owned),
                blocked_by: blocked_by.clone(),
            },
            End::Succeeded => Failure {
                error: "the rebuild finished but the index is gone (dropped meanwhile?)".to_owned(),
                class: FailureClass::Gone,
                sqlstate: None,
                blocked_by: Vec::new(),
            },
            End::ProcessEnded => Failure {
                error: what_failed.unwrap_or_default(),
                class: FailureClass::Other,
                sqlstate: None,
                blocked_by: Vec::new(),
            },
        }
    }
}

impl Work<'_> {
    /// Records how `started` ended. `may_drop`: no other rebuild of ours runs in this
    /// database, so its leftovers may be dropped now. Returns the failure's class.
    pub(super) async fn settle(
        &mut self,
        started: &Started,
        end: End,
        took: Took,
        may_drop: bool,
        report: &mut TargetReport,
    ) -> Result<Option<FailureClass>, DatabaseError> {
        // After an error, what the index name points to now tells whether the swap
        // happened: a statement's error can come after it.
        let now = self.db.find_index(&started.index).await?;
        let outcome = ended(
            started.trace.index_oid_before,
            now.map(|(index, valid)| (index.oid, valid)),
        );
        let what_failed = end.describe();
        let left = if matches!(end, End::Succeeded) {
            LeftBehind::default()
        } else {
            self.clear_leftovers(started, may_drop).await?
        };
        // An adopted rebuild's true duration is unknown: it teaches no throughput.
        let learned_ms = (!started.adopted).then(|| to_i64(took.duration_ms));
        if let (Ended::Swapped { .. }, Some((rebuilt, _))) = (outcome, now) {
            let error = what_failed.filter(|_| matches!(end, End::Failed { .. }));
            let note = note_after_swap(error.as_deref(), &left);
            self.settle_completed(started, rebuilt, note, took, learned_ms, report)
                .await?;
            return Ok(None);
        }
        let failure = end.failure(what_failed);
        let class = failure.class;
        self.settle_failed(started, failure, &left, took, learned_ms, report)
            .await?;
        Ok(Some(class))
    }

    /// A rebuild whose name points to a new valid index: completed, with a fresh
    /// baseline.
    async fn settle_completed(
        &mut self,
        started: &Started,
        rebuilt: RebuiltIndex,
        note: Option<String>,
        took: Took,
        learned_ms: Option<i64>,
        report: &mut TargetReport,
    ) -> Result<(), DatabaseError> {
        let shown = started.index.to_string();
        let Took {
            duration_ms,
            blocked_ms,
        } = took;
        let reliable = is_reliable(
            rebuilt.size_bytes,
            rebuilt.reltuples,
            started.settings.minimum_reliable_index_size,
        );
        let baseline = fresh_baseline(rebuilt.size_bytes, rebuilt.reltuples, reliable);
        self.ctx
            .control
            .finish_reindex_completed(
                started.history_id,
                rebuilt,
                baseline,
                learned_ms,
                note.as_deref(),
            )
            .await?;
        tracing::info!(target = %self.key.target, database = %self.key.database_name, index = %shown,
            size_before = started.size_before, size_after = rebuilt.size_bytes, duration_ms,
            adopted = started.adopted, note = note.as_deref(), "reindex completed");
        report.reindexed.push(Reindexed {
            index: shown,
            table: started.table.clone(),
            toast_of: started.toast_owner.as_ref().map(ToString::to_string),
            access_method: started.access_method.clone(),
            size_before: started.size_before,
            size_after: rebuilt.size_bytes,
            estimated_bloat_before: started.estimated_bloat.map(round2),
            duration_ms,
            blocked_ms,
            adopted: started.adopted,
            note,
            session: started.session.clone(),
            server_messages: started.server_messages.clone(),
        });
        Ok(())
    }

    /// A rebuild that failed: the history row closed with its error and what it
    /// left, the index quarantined when due.
    async fn settle_failed(
        &mut self,
        started: &Started,
        failure: Failure,
        left: &LeftBehind,
        took: Took,
        learned_ms: Option<i64>,
        report: &mut TargetReport,
    ) -> Result<(), DatabaseError> {
        let Failure {
            error,
            class,
            sqlstate,
            blocked_by,
        } = failure;
        let shown = started.index.to_string();
        let error = left.describe(error);
        tracing::warn!(target = %self.key.target, database = %self.key.database_name, index = %shown,
            error = %error, class = class.as_str(), "reindex failed");
        self.ctx
            .control
            .finish_reindex_failed(
                started.history_id,
                ReindexFailure {
                    error: &error,
                    sqlstate: sqlstate.as_deref(),
                    class,
                    duration_ms: learned_ms,
                    blocked_by: &blocked_by,
                },
            )
            .await?;
        let quarantined = self
            .quarantine_if_due(started, class, &error, sqlstate.as_deref())
            .await?;
        if let Some(entry) = &quarantined {
            report.quarantined.push(entry.clone().into());
        }
        report.failed.push(Failed {
            index: shown,
            error,
            sqlstate,
            class,
            quarantined: quarantined.is_some(),
            blocked_by,
            blocked_ms: took.blocked_ms,
            session: started.session.clone(),
            server_messages: started.server_messages.clone(),
        });
        Ok(())
    }

    /// Quarantines the index when this failure calls for it; returns the entry.
    async fn quarantine_if_due(
        &self,
        started: &Started,
        class: FailureClass,
        error: &str,
        sqlstate: Option<&str>,
    ) -> Result<Option<QuarantineEntry>, DatabaseError> {
        let index_oid = started.trace.index_oid_before;
        let past = self.ctx.control.past_rebuilds(self.key, index_oid).await?;
        let in_a_row = failures_in_a_row(&past);
        if !quarantines(class, in_a_row, started.settings.quarantine_after) {
            return Ok(None);
        }
        let mut entry = QuarantineEntry {
            index_oid,
            index: started.index.clone(),
            table: started.table.clone(),
            sqlstate: sqlstate.map(str::to_owned),
            error: error.to_owned(),
            failures: i32::try_from(in_a_row).unwrap_or(i32::MAX),
            since: String::new(),
        };
        let Some(since) = self
            .ctx
            .control
            .quarantine(self.key, &entry, started.history_id)
            .await?
        else {
            return Ok(None);
        };
        entry.since = since;
        tracing::warn!(target = %self.key.target, index = %started.index, failures = in_a_row,
            class = class.as_str(), "index quarantined");
        Ok(Some(entry))
    }

    /// What this rebuild left on its table, ours by identity: dropped when `may_drop`
    /// and possible, else recorded for a later run.
    async fn clear_leftovers(
        &mut self,
        started: &Started,
        may_drop: bool,
    ) -> Result<LeftBehind, DatabaseError> {
        let mut left = LeftBehind::default();
        let trace = &started.trace;
        let session = RebuildSession::from(&started.settings);
        for invalid in self.db.invalid_indexes(Some(trace.table_oid)).await? {
            let candidate = InvalidIndexRef {
                oid: invalid.oid,
                name: &invalid.name.name,
                table_oid: invalid.table_oid,
            };
            if trace.leftover(candidate).is_none() {
                continue;
            }
            let leftover = LeftoverRecord {
                oid: invalid.oid,
                name: invalid.name,
                table_oid: invalid.table_oid,
                table: invalid.table,
            };
            let shown = leftover.name.to_string();
            let outcome = if may_drop {
                self.drop_leftover(&leftover, session).await?
            } else {
                DropOutcome::Kept("a rebuild of ours runs in this database".to_owned())
            };
            match outcome {
                DropOutcome::Dropped | DropOutcome::Gone => left.dropped.push(shown),
                DropOutcome::NoLongerOurs(_) => {}
                DropOutcome::Kept(_) => {
                    self.ctx
                        .control
                        .record_leftover(self.key, &leftover, Some(started.history_id))
                        .await?;
                    left.kept.push(shown);
                }
            }
        }
        Ok(left)
    }
}
