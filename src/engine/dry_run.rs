//! What a dry run shows beyond the plan: the estimates of the others, the forecast, and
//! what the windows and the look before each rebuild would make of the candidates.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;

use super::survey::Survey;
use super::work::Work;
use super::{preflight, Database, DatabaseError, Progress};
use crate::domain::deferral::DeferralKind;
use crate::domain::forecast::{forecast, Anchor};
use crate::domain::hazard::Replication;
use crate::domain::inspect::budget_spent;
use crate::domain::plan::{candidates_in_order, Assessment, Candidate, Verdict};
use crate::report::{round2, Estimate, ForecastEntry, TargetReport};

/// Mode `dry_run`: after its gates and the survey, the candidates this role may
/// rebuild, the plan, the estimates and forecast of the others, the leftovers (none
/// dropped), and what the look before each rebuild would make of the candidates.
pub(super) async fn database(
    database: &Database<'_>,
    report: &mut TargetReport,
) -> Result<Progress, DatabaseError> {
    let (ctx, db, target) = (database.ctx, database.db, database.key.target.as_str());
    if preflight::stopped_by_invalid_row(ctx, target, db, report) {
        return Ok(Progress::Done);
    }
    // A server it will not work on: the preflight says so, with what else it sees.
    if db.server.refusal().is_some() || db.in_recovery {
        preflight::refused(ctx, target, database.spec, db, report).await?;
        return Ok(Progress::Done);
    }
    let Survey {
        mut work,
        sifted,
        running,
    } = database.survey(report).await?;
    let assessments = &sifted.kept;
    let candidates = candidates_in_order(assessments);
    report.candidates = candidates.len();
    let candidates = preflight::dry_run(ctx, target, database.spec, db, candidates, report).await?;
    report.plan = work.plan(&candidates);
    report.left_alone = left_alone(assessments);
    let healthy: Vec<u32> = assessments
        .iter()
        .filter(|a| a.verdict == Verdict::Healthy)
        .map(|a| a.index.oid)
        .collect();
    let anchors = ctx.control.load_anchors(&database.key, &healthy).await?;
    report.forecast = forecasts(assessments, &anchors, Timestamp::now());
    work.clean_up_leftovers(report, false, &running).await?;
    work.preview(&candidates, running.is_empty(), report)
        .await?;
    Ok(Progress::Done)
}

/// The estimates of the indexes a run leaves alone (the plan shows the candidates):
/// most bloated first.
fn left_alone(assessments: &[Assessment]) -> Vec<Estimate> {
    let mut estimates: Vec<Estimate> = assessments
        .iter()
        .filter(|a| a.verdict == Verdict::Healthy)
        .map(Estimate::from)
        .collect();
    estimates.sort_by(|a, b| {
        let key = |e: &Estimate| e.estimated_bloat.unwrap_or(f64::INFINITY);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.index.cmp(&b.index))
    });
    estimates
}

/// The dry run's forecast: every healthy index that grows, soonest threshold first.
fn forecasts(
    assessments: &[Assessment],
    anchors: &HashMap<u32, Anchor>,
    now: Timestamp,
) -> Vec<ForecastEntry> {
    let mut entries: Vec<(Timestamp, ForecastEntry)> = assessments
        .iter()
        .filter(|a| a.verdict == Verdict::Healthy)
        .filter_map(|a| {
            let anchor = anchors.get(&a.index.oid)?;
            let best = a.best_ratio?;
            let threshold = a.settings.rebuild_scale_factor;
            let f = forecast(*anchor, a.ratio, best, threshold, now)?;
            Some((
                f.expected_at,
                ForecastEntry {
                    index: a.index.name.to_string(),
                    size_bytes: a.index.size_bytes,
                    estimated_bloat: round2(a.bloat.unwrap_or(1.0)),
                    threshold,
                    bloat_per_day: (f.bloat_per_day * 10_000.0).round() / 10_000.0,
                    expected_at: f.expected_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                },
            ))
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.index.cmp(&b.1.index)));
    entries.into_iter().map(|(_, entry)| entry).collect()
}

impl Work<'_> {
    /// What a run would make of the candidates: those outside the maintenance windows
    /// or held back by the cluster around the primary deferred, the large ones confirmed (`quiet`: no rebuild of ours runs here), and
    /// the false alarms out of the plan. Confirmations read only while the budget
    /// lasts (each read ends with it at the latest); the candidates after that say
    /// they were not confirmed, so a dry run over hundreds of large candidates still
    /// ends in its time.
    pub(super) async fn preview(
        &mut self,
        candidates: &[Candidate<'_>],
        quiet: bool,
        report: &mut TargetReport,
    ) -> Result<(), DatabaseError> {
        // The server's replication, read once for all the candidates.
        let mut replication: Option<Replication> = None;
        for candidate in candidates {
            let index = &candidate.assessment.index;
            if let Some(why) = self.outside_window(index) {
                report.defer(&index.name, DeferralKind::Window, why);
                continue;
            }
            if let Some(stop) = &self.stop {
                report.deferred.push(stop.deferral(&index.name));
                continue;
            }
            if !budget_spent(self.ctx.budget.left()) {
                if replication.is_none() {
                    replication = Some(self.db.replication().await?);
                }
                let hazard = match &replication {
                    Some(read) => self.hazard_beside(read, candidate.assessment).await?,
                    None => None,
                };
                if let Some(hazard) = hazard {
                    let deferred = self.held_back(&index.name, hazard);
                    report.deferred.push(deferred);
                    continue;
                }
            }
            if quiet {
                if let Some(confirmation) =
                    self.confirm(candidate.assessment, candidate.reason).await?
                {
                    report.confirmations.push(confirmation);
                }
            }
        }
        let false_alarms: HashSet<&str> = report
            .confirmations
            .iter()
            .filter(|c| c.false_alarm)
            .map(|c| c.index.as_str())
            .collect();
        let plan = std::mem::take(&mut report.plan);
        report.plan = plan
            .into_iter()
            .filter(|p| !false_alarms.contains(p.index.as_str()))
            .collect();
        Ok(())
    }
}
