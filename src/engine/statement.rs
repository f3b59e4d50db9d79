//! The statement of one rebuild of ours: REINDEX INDEX CONCURRENTLY on the rebuild
//! connection, watched, then how it ended. One still running when the invocation's
//! time is up, or whose connection broke while the server goes on building, is left
//! to the server; any other end is settled, and what it means for the rest of the
//! target (a stop, a better prediction) is taken in.

use std::time::Instant;

use super::rebuild::Outcome;
use super::settle::End;
use super::watch::{RunEnd, Watch, Watched};
use super::work::{duration_ms, elapsed_ms, Started, Stop, Took, Work};
use super::DatabaseError;
use crate::domain::budget::Fit;
use crate::domain::eligibility::IndexInfo;
use crate::domain::failure::{after_rebuild, what_to_grant, AfterRebuild, FailureClass};
use crate::domain::ident::QualifiedName;
use crate::domain::plan::Assessment;
use crate::domain::target_error::TargetErrorClass;
use crate::report::{InProgress, TargetReport};
use crate::target_db::Rebuilder;

impl Work<'_> {
    /// The statement, watched; then how it ended.
    pub(super) async fn run_under_watch(
        &mut self,
        assessment: &Assessment,
        started: &Started,
        rebuilder: Rebuilder,
        fit: Fit,
        report: &mut TargetReport,
    ) -> Result<Outcome, DatabaseError> {
        let index = &assessment.index;
        let (watched, took) = self.reindex_watched(&index.name, started, &rebuilder).await;
        let mut started = started.clone();
        started.server_messages = self.server_messages(&index.name, &rebuilder);
        let Some(end) = self
            .how_it_ended(index, watched, rebuilder, took, report)
            .await?
        else {
            return Ok(Outcome::StillRunning(fit));
        };
        let failure = self.settle(&started, end, took, true, report).await?;
        self.after_settling(index, failure, report).await?;
        Ok(Outcome::Finished)
    }

    /// REINDEX INDEX CONCURRENTLY on the rebuild connection while the watch follows
    /// it; what the watch saw, and what the statement took.
    async fn reindex_watched(
        &self,
        name: &QualifiedName,
        started: &Started,
        rebuilder: &Rebuilder,
    ) -> (Watched, Took) {
        // Only what the server says during the statement belongs to it.
        let _before = rebuilder.take_notices();
        let began = Instant::now();
        let watched = Watch {
            db: self.db,
            control: self.ctx.control,
            rebuilder,
            started,
            ours: &[rebuilder.backend_pid],
            left: self.ctx.budget.left(),
            target: &self.key.target,
            progress_interval: self.ctx.progress_interval,
        }
        .run(rebuilder.reindex(name))
        .await;
        let took = Took {
            duration_ms: elapsed_ms(began),
            blocked_ms: duration_ms(watched.waited),
        };
        (watched, took)
    }

    /// How the statement ended, to be settled; `None` when the rebuild is left to the
    /// server (reported in progress). The rebuild connection goes back for the next
    /// rebuild unless it was closed or broke. One flat `match` over the statement's
    /// three ends, a little over 60 lines: each end keeps the connection's fate beside
    /// it, which reads better whole than split.
    async fn how_it_ended(
        &mut self,
        index: &IndexInfo,
        watched: Watched,
        rebuilder: Rebuilder,
        took: Took,
        report: &mut TargetReport,
    ) -> Result<Option<End>, DatabaseError> {
        let (backend_pid, backend_start) = (rebuilder.backend_pid, rebuilder.backend_start);
        let Watched {
            end,
            blocked_by,
            cancelled_after,
            ..
        } = watched;
        let in_progress = |phase: &str| still_running(&index.name, backend_pid, took, phase);
        Ok(Some(match end {
            RunEnd::TimeUp => {
                // Closing the connection leaves the server process building: with
                // client_connection_check_interval = 0 it does not look at its client.
                // A later invocation follows it by its pid and process start.
                drop(rebuilder);
                tracing::info!(target = %self.key.target, index = %index.name, pid = backend_pid,
                    "reindex continues past this invocation");
                report
                    .in_progress
                    .push(in_progress("started by this invocation"));
                return Ok(None);
            }
            RunEnd::Returned(Err(error)) if error.is_connection_lost() => {
                drop(rebuilder);
                // Whether the server goes on building is asked of the server, by the
                // process it ran in: the statement's error does not say.
                if self
                    .db
                    .rebuild_state(backend_pid, Some(backend_start))
                    .await?
                    .is_some()
                {
                    tracing::warn!(target = %self.key.target, index = %index.name, pid = backend_pid,
                        error = %error, "the rebuild connection broke; the server goes on building");
                    report.in_progress.push(in_progress(
                        "its connection broke; the server goes on building",
                    ));
                    return Ok(None);
                }
                End::Failed {
                    error,
                    blocked_by,
                    cancelled_after,
                }
            }
            RunEnd::Returned(result) => {
                self.rebuilder = Some(rebuilder);
                match result {
                    Ok(()) => End::Succeeded,
                    Err(error) => End::Failed {
                        error,
                        blocked_by,
                        cancelled_after,
                    },
                }
            }
        }))
    }

    /// What a settled rebuild means for the rest of the target: a stop, or (after a
    /// completed one) a better prediction for the next ones.
    async fn after_settling(
        &mut self,
        index: &IndexInfo,
        failure: Option<FailureClass>,
        report: &mut TargetReport,
    ) -> Result<(), DatabaseError> {
        let failed = report
            .failed
            .last()
            .map(|f| f.error.clone())
            .unwrap_or_default();
        let sqlstate = report.failed.last().and_then(|f| f.sqlstate.clone());
        match after_rebuild(failure, sqlstate.as_deref()) {
            AfterRebuild::StopForPermission => {
                let table = QualifiedName::new(index.name.schema.clone(), index.table.clone());
                let why = what_to_grant(&self.role(), &table.quoted(), self.db.server.0);
                report.fail(TargetErrorClass::Permission, why);
                self.stop = Some(Stop::Setup);
            }
            AfterRebuild::StopBlocked => self.stop = Some(Stop::Blocked(failed)),
            AfterRebuild::StopTarget => self.stop = Some(Stop::Target(failed)),
            AfterRebuild::GoOn => {}
            AfterRebuild::Learn => {
                self.throughput = self
                    .ctx
                    .control
                    .learned_throughput(&self.key.target)
                    .await?
            }
        }
        Ok(())
    }
}

/// A rebuild left to the server, as the report shows it.
fn still_running(index: &QualifiedName, pid: i32, took: Took, phase: &str) -> InProgress {
    InProgress {
        index: index.to_string(),
        pid,
        phase: phase.to_owned(),
        percent_done: None,
        running_ms: took.duration_ms,
        blocked_ms: took.blocked_ms,
    }
}
