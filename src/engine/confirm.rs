//! Looking again at a large candidate before it is rebuilt (`confirm_size_threshold`):
//! stale statistics are refreshed first (ANALYZE, unless `analyze_before_rebuild` is
//! off; a dry run only says it would), and a btree's pages are read with pgstatindex.
//! A candidate that is not bloated after all is a false alarm: not rebuilt, reported,
//! and where pgstatindex showed it, its baseline is corrected so the next run does
//! not raise the same alarm. Nothing here runs beside an index build in the database:
//! these reads hold a snapshot the build would wait for. Each read asks first
//! (`ask_to_read`: size, a recent timeout, the window, the budget) and runs under the
//! timeout it is given; once the invocation's budget is spent nothing is looked at.

use super::work::Work;
use super::DatabaseError;
use crate::domain::bloat::{bytes_per_tuple, estimated_bloat, shown_against};
use crate::domain::confirm::reading_overrules;
use crate::domain::ident::QualifiedName;
use crate::domain::inspect::{budget_spent, ReadKind};
use crate::domain::plan::{Assessment, CandidateReason};
use crate::report::{round2, Confirmation};
use crate::target_db::{Pgstattuple, ReadError};

/// A candidate's confirmation before anything was looked at.
fn unconfirmed(assessment: &Assessment) -> Confirmation {
    Confirmation {
        index: assessment.index.name.to_string(),
        size_bytes: assessment.index.size_bytes,
        estimated_bloat: assessment.bloat.map(round2),
        confirmed_bloat: None,
        false_alarm: false,
        how: String::new(),
    }
}

impl Work<'_> {
    /// The pgstattuple extension of this database, looked up once.
    pub(super) async fn pgstattuple_extension(&mut self) -> Result<Option<&Pgstattuple>, String> {
        if self.extension.is_none() {
            let found = self.db.pgstattuple().await.map_err(|e| e.to_string())?;
            self.extension = Some(found);
        }
        Ok(self.extension.as_ref().and_then(Option::as_ref))
    }

    /// Confirms a candidate's bloat, or finds it a false alarm; `None`: nothing to
    /// confirm (small, of unknown bloat, forced, a TOAST index). What cannot be read
    /// (a lock taken meanwhile, a failing query) leaves the estimate standing: the
    /// rebuild's own checks and lock_timeout follow.
    pub(super) async fn confirm(
        &mut self,
        assessment: &Assessment,
        reason: CandidateReason,
    ) -> Result<Option<Confirmation>, DatabaseError> {
        match self.look_again(assessment, reason).await {
            Err(DatabaseError::Target(error)) => Ok(Some(Confirmation {
                how: format!("not confirmed ({error}): the estimate stands"),
                ..unconfirmed(assessment)
            })),
            other => other,
        }
    }

    async fn look_again(
        &mut self,
        assessment: &Assessment,
        reason: CandidateReason,
    ) -> Result<Option<Confirmation>, DatabaseError> {
        let index = &assessment.index;
        let settings = &assessment.settings;
        let large = settings
            .confirm_size_threshold
            .is_some_and(|threshold| index.size_bytes >= threshold);
        let (Some(best), Some(_)) = (assessment.best_ratio, assessment.bloat) else {
            return Ok(None);
        };
        if reason != CandidateReason::Bloated || !large || index.toast_owner.is_some() {
            return Ok(None);
        }
        let mut confirmation = unconfirmed(assessment);
        if budget_spent(self.ctx.budget.left()) {
            confirmation.how = "not confirmed: this invocation's budget is spent".into();
            return Ok(Some(confirmation));
        }
        if !self.db.index_builds().await?.is_empty() {
            confirmation.how = "not confirmed: an index build runs in this database, and looking would hold a snapshot it waits for".into();
            return Ok(Some(confirmation));
        }
        let mut looks: Vec<String> = Vec::new();
        let activity = self.db.table_activity(index.table_oid).await?;
        let mut ratio = assessment.ratio;
        if let Some(stale) = activity.as_ref().and_then(|a| a.stale()) {
            let (look, fresh) = self
                .refresh_statistics(assessment, &stale, best, &mut confirmation)
                .await?;
            looks.push(look);
            ratio = fresh.unwrap_or(ratio);
            if confirmation.false_alarm {
                confirmation.how = looks.join("; ");
                return Ok(Some(confirmation));
            }
        }
        if index.access_method == "btree" {
            let clouded = activity.as_ref().and_then(|a| a.clouds_density());
            let look = match self.pgstattuple_extension().await {
                Err(error) => format!("pgstatindex not read: {error}"),
                Ok(Some(found)) if found.pgstatindex => match clouded {
                    Some(why) => format!("pgstatindex not conclusive: {why}"),
                    None => {
                        let found = found.clone();
                        self.read_density(&found, assessment, ratio, &mut confirmation)
                            .await?
                    }
                },
                Ok(_) => "pgstatindex not available (CREATE EXTENSION pgstattuple; GRANT pg_stat_scan_tables)".into(),
            };
            looks.push(look);
        }
        confirmation.how = looks.join("; ");
        Ok(Some(confirmation))
    }

    /// Stale statistics (`stale` says how): the table is analyzed (a dry run says a
    /// run would) and the index judged again on its fresh tuple count, a false alarm
    /// when that puts it below its threshold. Returns what was done, and the index's
    /// size per tuple after it when it was measured again.
    async fn refresh_statistics(
        &mut self,
        assessment: &Assessment,
        stale: &str,
        best: f64,
        confirmation: &mut Confirmation,
    ) -> Result<(String, Option<f64>), DatabaseError> {
        let index = &assessment.index;
        let table = QualifiedName::new(&index.name.schema, &index.table);
        if !assessment.settings.analyze_before_rebuild {
            let look = format!("statistics are stale ({stale}); analyze_before_rebuild is off");
            return Ok((look, None));
        }
        let kind = ReadKind::Analyze;
        let permit = match self.ask_to_read(kind, assessment).await? {
            Err(refusal) => {
                let look = format!("statistics are stale ({stale}); {}", refusal.explain(kind));
                return Ok((look, None));
            }
            Ok(permit) => permit,
        };
        if self.ctx.request.mode.only_looks() {
            let look = format!("statistics are stale ({stale}): a run would ANALYZE {table} first");
            return Ok((look, None));
        }
        let as_they_were = "judged on the statistics as they were";
        match self.db.analyze(&table, permit.timeout).await {
            Err(ReadError::TimedOut { .. }) => {
                let why = self.read_timed_out(kind, assessment, permit).await?;
                Ok((
                    format!("statistics are stale ({stale}); {why}: {as_they_were}"),
                    None,
                ))
            }
            Err(ReadError::Failed(error)) => Ok((
                format!("ANALYZE {table} failed ({error}): {as_they_were}"),
                None,
            )),
            Ok(()) => match self.db.measure_index(index.oid).await? {
                Some((size, tuples)) if tuples > 0.0 => {
                    let ratio = bytes_per_tuple(size, tuples);
                    let bloat = estimated_bloat(ratio, best);
                    confirmation.confirmed_bloat = Some(round2(bloat));
                    confirmation.false_alarm = bloat < assessment.settings.rebuild_scale_factor;
                    let look = format!(
                        "ANALYZE {table} ({stale}): reltuples {} → {tuples}, estimated bloat {}",
                        index.reltuples,
                        shown_against(bloat, assessment.settings.rebuild_scale_factor)
                    );
                    Ok((look, Some(ratio)))
                }
                _ => Ok((
                    format!("ANALYZE {table}: the index could not be measured after it"),
                    None,
                )),
            },
        }
    }

    /// Reads a btree's pages with pgstatindex, when it may; says what it showed.
    async fn read_density(
        &mut self,
        extension: &Pgstattuple,
        assessment: &Assessment,
        ratio: f64,
        confirmation: &mut Confirmation,
    ) -> Result<String, DatabaseError> {
        let index = &assessment.index;
        let kind = ReadKind::Pgstatindex;
        let permit = match self.ask_to_read(kind, assessment).await? {
            Err(refusal) => return Ok(refusal.explain(kind)),
            Ok(permit) => permit,
        };
        let density = match self
            .db
            .btree_density(extension, index.oid, permit.timeout)
            .await
        {
            Ok(density) => density,
            Err(ReadError::TimedOut { .. }) => {
                let why = self.read_timed_out(kind, assessment, permit).await?;
                return Ok(format!("{why}; the estimate stands"));
            }
            Err(ReadError::Failed(error)) => return Ok(format!("pgstatindex failed: {error}")),
        };
        let Some(bloat) = density.bloat() else {
            return Ok("pgstatindex: no leaf pages to judge".into());
        };
        confirmation.confirmed_bloat = Some(round2(bloat));
        let read = format!(
            "pgstatindex: leaf pages {:.0} % full, about {bloat:.2}× a fresh build",
            density.avg_leaf_density
        );
        if !reading_overrules(bloat, assessment.settings.rebuild_scale_factor) {
            return Ok(read);
        }
        confirmation.false_alarm = true;
        if self.ctx.request.mode.changes_targets() {
            self.ctx
                .control
                .correct_baseline(self.key, index.oid, ratio / bloat.max(1.0))
                .await?;
            return Ok(format!("{read}: its baseline is corrected"));
        }
        Ok(read)
    }
}
