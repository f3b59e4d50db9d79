//! Invalid indexes: the ones our rebuilds left (recorded by oid) are dropped with
//! DROP INDEX CONCURRENTLY once that is safe; everyone else's are reported with
//! their size and whether writes still maintain them, and never touched.

use std::collections::HashMap;

use super::follow::Running;
use super::work::Work;
use super::DatabaseError;
use crate::control::LeftoverRecord;
use crate::domain::leftovers::InvalidIndexRef;
use crate::report::{Leftover, TargetReport};
use crate::target_db::{IndexBuilds, InvalidIndex, RebuildSession};

/// What became of one of our leftovers.
pub(super) enum DropOutcome {
    Dropped,
    /// Someone else dropped it already.
    Gone,
    /// Its oid now carries another name, or it is valid: not what we left, untouched.
    NoLongerOurs(String),
    /// Not now: why.
    Kept(String),
}

impl Work<'_> {
    /// Drops one of our leftovers, after checking that its oid still carries its name,
    /// is still invalid, and that no index build runs on its table.
    pub(super) async fn drop_leftover(
        &mut self,
        leftover: &LeftoverRecord,
        session: RebuildSession,
    ) -> Result<DropOutcome, DatabaseError> {
        let Some(now) = self.db.index_by_oid(leftover.oid).await? else {
            return Ok(DropOutcome::Gone);
        };
        if now.name != leftover.name || now.is_valid {
            return Ok(DropOutcome::NoLongerOurs(format!(
                "its oid now is {}{}",
                now.name,
                if now.is_valid { ", valid" } else { "" }
            )));
        }
        if self.db.build_on(leftover.table_oid).await? {
            return Ok(DropOutcome::Kept(
                "an index build is in progress on its table".to_owned(),
            ));
        }
        let result = match self.rebuilder().await {
            Ok(rebuilder) => rebuilder.drop_index(&leftover.name, session).await,
            Err(error) => return Ok(DropOutcome::Kept(error.to_string())),
        };
        Ok(match result {
            Ok(()) => {
                tracing::info!(target = %self.key.target, index = %leftover.name, "leftover dropped");
                DropOutcome::Dropped
            }
            Err(error) => {
                tracing::warn!(target = %self.key.target, index = %leftover.name, error = %error, "leftover kept");
                DropOutcome::Kept(error.to_string())
            }
        })
    }

    /// One of our recorded leftovers, still there: dropped when that is allowed and
    /// safe. Returns what was done, for the report.
    async fn drop_recorded(
        &mut self,
        record: &LeftoverRecord,
        dry_run: bool,
        may_drop: bool,
    ) -> Result<String, DatabaseError> {
        if dry_run {
            return Ok("ours: a run drops it".to_owned());
        }
        if !may_drop {
            return Ok("ours: kept while a rebuild of ours runs in this database".to_owned());
        }
        let settings = self.settings_of(&record.name, &record.table, None);
        Ok(
            match self.drop_leftover(record, (&settings).into()).await? {
                DropOutcome::Dropped | DropOutcome::Gone => {
                    self.ctx
                        .control
                        .forget_leftover(self.key, record.oid)
                        .await?;
                    "ours: dropped".to_owned()
                }
                DropOutcome::NoLongerOurs(why) => {
                    self.ctx
                        .control
                        .forget_leftover(self.key, record.oid)
                        .await?;
                    format!("no longer ours ({why}): reported only")
                }
                DropOutcome::Kept(why) => format!("ours: kept for a later run ({why})"),
            },
        )
    }

    /// Every invalid index of the database, reported; ours dropped when `may_drop`.
    /// `running`: our rebuilds still running, whose copies are ours too.
    pub(super) async fn clean_up_leftovers(
        &mut self,
        report: &mut TargetReport,
        may_drop: bool,
        running: &[Running],
    ) -> Result<(), DatabaseError> {
        let invalid = self.db.invalid_indexes(None).await?;
        let builds = if invalid.is_empty() {
            IndexBuilds::default()
        } else {
            self.db.index_builds().await?
        };
        let mut recorded: HashMap<u32, LeftoverRecord> = self
            .ctx
            .control
            .leftovers(self.key)
            .await?
            .into_iter()
            .map(|record| (record.oid, record))
            .collect();
        let dry_run = self.ctx.request.mode.only_looks();
        for index in invalid {
            let record = self
                .still_recorded(recorded.remove(&index.oid), &index, dry_run)
                .await?;
            let (ours, action) = match (record, building(running, &index)) {
                (Some(record), _) => (true, self.drop_recorded(&record, dry_run, may_drop).await?),
                (None, Some(running)) => (
                    true,
                    format!(
                        "ours: the copy our rebuild of {} is building",
                        running.index
                    ),
                ),
                (None, None) if builds.on(index.table_oid) => (
                    false,
                    "not ours: an index build is in progress on its table (this may be that build)"
                        .to_owned(),
                ),
                (None, None) => (false, "not ours: reported only".to_owned()),
            };
            report.leftovers.push(Leftover {
                index: index.name.to_string(),
                table: index.table,
                size_bytes: index.size_bytes,
                maintained_by_writes: index.is_ready,
                ours,
                action,
            });
        }
        // Recorded, but no longer an invalid index with that oid and name: gone (or
        // someone else's now). Nothing to drop.
        if !dry_run {
            for record in recorded.into_values() {
                self.ctx
                    .control
                    .forget_leftover(self.key, record.oid)
                    .await?;
            }
        }
        Ok(())
    }

    /// The record of an invalid index with its oid, if it still names it: one whose
    /// oid carries another name now is not what we left, and is forgotten (not in a
    /// dry run).
    async fn still_recorded(
        &self,
        record: Option<LeftoverRecord>,
        index: &InvalidIndex,
        dry_run: bool,
    ) -> Result<Option<LeftoverRecord>, DatabaseError> {
        Ok(match record {
            Some(record) if record.name == index.name => Some(record),
            Some(record) if !dry_run => {
                self.ctx
                    .control
                    .forget_leftover(self.key, record.oid)
                    .await?;
                None
            }
            _ => None,
        })
    }
}

/// The rebuild of ours still running whose copy this invalid index is, if any.
fn building<'r>(running: &'r [Running], index: &InvalidIndex) -> Option<&'r Running> {
    running.iter().find(|r| {
        r.trace.as_ref().is_some_and(|trace| {
            trace
                .leftover(InvalidIndexRef {
                    oid: index.oid,
                    name: &index.name.name,
                    table_oid: index.table_oid,
                })
                .is_some()
        })
    })
}
