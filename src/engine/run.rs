//! Modes `run` and `reindex`: after the survey, the candidates in order, the
//! leftovers, then the rebuilds this invocation has time for.

use super::survey::Survey;
use super::{Database, DatabaseError, Progress};
use crate::domain::deferral::DeferralKind;
use crate::domain::plan::{candidates_in_order, Assessment};
use crate::domain::target_error::TargetErrorClass;
use crate::report::TargetReport;

pub(super) async fn database(
    database: &Database<'_>,
    report: &mut TargetReport,
) -> Result<Progress, DatabaseError> {
    if database.refused(report) {
        return Ok(Progress::Done);
    }
    let Survey {
        mut work,
        sifted,
        running,
    } = database.survey(report).await?;
    let assessments = &sifted.kept;
    if !ordered_index_found(database, assessments, report) {
        return Ok(Progress::Done);
    }
    let candidates = candidates_in_order(assessments);
    report.candidates = candidates.len();
    report.plan = work.plan(&candidates);
    // Nothing is dropped beside a rebuild of ours still running in this database.
    work.clean_up_leftovers(report, running.is_empty(), &running)
        .await?;
    if let Some(busy) = running.first() {
        for candidate in &candidates {
            let index = &candidate.assessment.index.name;
            let holder = running.iter().find(|r| r.index == *index).unwrap_or(busy);
            report.defer(
                index,
                DeferralKind::RebuildRunning,
                holder.holds_back(index),
            );
        }
        return Ok(Progress::Blocked);
    }
    work.rebuild_all(candidates, report).await
}

/// An order's index must exist; one that is no candidate is deferred with why not.
/// False when the order cannot be served (the report says why).
fn ordered_index_found(
    database: &Database<'_>,
    assessments: &[Assessment],
    report: &mut TargetReport,
) -> bool {
    let Some(wanted) = &database.ctx.request.index else {
        return true;
    };
    match assessments.iter().find(|a| a.index.name == *wanted) {
        None => {
            report.fail(
                TargetErrorClass::Order,
                format!(
                    "the order names index {wanted}, which does not exist in database {}",
                    database.key.database_name
                ),
            );
            return false;
        }
        Some(a) if !a.is_candidate() && a.deferral().is_none() => {
            report.defer(wanted, DeferralKind::NotACandidate, a.why_not())
        }
        Some(_) => {}
    }
    true
}
