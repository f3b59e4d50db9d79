//! What every mode that scans a database does first: follow the rebuilds earlier
//! invocations left running, drop from quarantine what is gone, scan and sift the
//! catalog, read the maintenance windows, estimate the missing baselines and save
//! the indexes' states. The mode then decides what to do with the [`Survey`].

use std::collections::HashSet;

use jiff::Timestamp;

use super::follow::Running;
use super::work::Work;
use super::{estimate, DatabaseError};
use crate::control::QuarantineEntry;
use crate::domain::plan::{Assessor, Known, Selection, Verdict};
use crate::domain::sift::{Sift, Sifted};
use crate::domain::stored;
use crate::domain::window::WindowState;
use crate::report::{NewBaseline, Quarantined, TargetReport};

/// A database as the survey found it.
pub(super) struct Survey<'a> {
    pub(crate) work: Work<'a>,
    pub(crate) sifted: Sifted,
    /// Our rebuilds still running in this database (only modes that change targets
    /// follow them).
    pub(crate) running: Vec<Running>,
}

/// Surveys the database `work` is connected to; the report gets what was found.
pub(super) async fn survey<'a>(
    mut work: Work<'a>,
    report: &mut TargetReport,
) -> Result<Survey<'a>, DatabaseError> {
    let (ctx, db, key) = (work.ctx, work.db, work.key);
    let mode = ctx.request.mode;
    // First what earlier invocations left running: a rebuild that has ended since
    // gets its baseline before the scan below judges its index.
    let running = if mode.changes_targets() {
        work.follow_earlier_rebuilds(report).await?
    } else {
        Vec::new()
    };
    let (stored, quarantine) = tokio::try_join!(
        ctx.control.load_index_states(key),
        ctx.control.quarantined(key),
    )?;
    let quarantined = still_there(&work, quarantine, report).await?;
    let selection = Selection {
        mode,
        only: ctx.request.index.as_ref(),
        force: ctx.request.force,
        reseed: ctx.request.reseed,
    };
    let known = Known {
        stored: &stored,
        quarantined: &quarantined,
    };
    let mut sifted = db
        .scan(|| {
            let assessor = Assessor::new(known, ctx.settings, key.location(), db.server, selection);
            Sift::new(assessor, &stored, &key.database_name)
        })
        .await?
        .finish();
    // Before the estimates: a whole-index read happens only where a rebuild could.
    if mode.heeds_windows() {
        work.window = ctx
            .windows
            .state(&key.target, &db.database_name, Timestamp::now());
        if work.window != WindowState::Always {
            report.window = Some(work.window.describe());
        }
    }
    if sifted
        .kept
        .iter()
        .any(|a| a.verdict == Verdict::AwaitingEstimate)
    {
        let builds_running = !running.is_empty() || !db.index_builds().await?.is_empty();
        work.estimate_baselines(&mut sifted, builds_running).await;
    }
    found(&sifted, report);
    if mode.writes_control() {
        let changes = stored::changes(&stored, &sifted);
        ctx.control.save_index_states(key, &changes).await?;
    }
    Ok(Survey {
        work,
        sifted,
        running,
    })
}

/// The quarantined indexes that still exist (the report lists them). One dropped
/// since it was quarantined has nothing left to release by hand: modes that change
/// targets release it.
async fn still_there(
    work: &Work<'_>,
    mut quarantine: Vec<QuarantineEntry>,
    report: &mut TargetReport,
) -> Result<HashSet<u32>, DatabaseError> {
    let (ctx, key) = (work.ctx, work.key);
    let oids: Vec<u32> = quarantine.iter().map(|q| q.index_oid).collect();
    let gone = work.db.missing_indexes(&oids).await?;
    if ctx.request.mode.changes_targets() {
        ctx.control.release_gone_indexes(key, &gone).await?;
    }
    quarantine.retain(|q| !gone.contains(&q.index_oid));
    let quarantined = quarantine.iter().map(|q| q.index_oid).collect();
    report.quarantined = quarantine.into_iter().map(Quarantined::from).collect();
    Ok(quarantined)
}

/// What the scan found, in the report: counts, new baselines, deferrals.
fn found(sifted: &Sifted, report: &mut TargetReport) {
    report.scanned = sifted.scanned;
    report.vanished = sifted.vanished.iter().map(ToString::to_string).collect();
    report.baseline_sources = estimate::sources(sifted);
    report.new_baselines = sifted
        .kept
        .iter()
        .filter(|a| a.was_estimated())
        .map(NewBaseline::from)
        .collect();
    report.unknown_bloat = estimate::unknown(sifted);
    for assessment in &sifted.kept {
        if let (Some(kind), Some(reason)) = (assessment.deferral_kind(), assessment.deferral()) {
            report.defer(&assessment.index.name, kind, reason);
        }
    }
}
