//! Judging every index of a database and choosing what to rebuild, in which order.

use std::sync::Arc;

use serde::Serialize;

use super::baseline::BaselineSource;
use super::bloat::{estimated_bloat, expected_reclaim, shown_against};
use super::deferral::DeferralKind;
use super::eligibility::{IndexInfo, Ineligible};
use super::ident::QualifiedName;
use super::mode::Mode;
use super::settings::{IndexSettings, Origin};
use super::units::format_size;

/// What the event asks for beyond the mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selection<'a> {
    pub(crate) mode: Mode,
    /// `reindex` mode: the one index to consider.
    pub(crate) only: Option<&'a QualifiedName>,
    /// Ignore the size threshold and the bloat factor (never `skip`, never eligibility).
    pub(crate) force: bool,
    /// `baseline` mode: seed every index, not only those without a baseline.
    pub(crate) reseed: bool,
}

/// Where the indexes live, for settings that name a target or a database.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Location<'a> {
    pub(crate) target: &'a str,
    pub(crate) database: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CandidateReason {
    /// Estimated bloat at or above the scale factor.
    Bloated,
    /// No baseline yet: its bloat is unknown.
    NoBaseline,
    /// `force` in `reindex` mode.
    Forced,
}

impl CandidateReason {
    /// The name the report and the history use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CandidateReason::Bloated => "bloated",
            CandidateReason::NoBaseline => "no_baseline",
            CandidateReason::Forced => "forced",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Ineligible(Ineligible),
    Skipped(Origin),
    /// A settings row naming its schema, table or index cannot be read (its id):
    /// nothing is done to it until the row is fixed.
    InvalidSetting(i64),
    /// `reindex` mode: not the index asked for.
    NotSelected,
    /// This session holds or waits for an exclusive lock on the index or its table:
    /// the scan did not measure it (it never waits), and it cannot be rebuilt now.
    Locked(i32),
    /// Put aside after its rebuilds failed, until an operator releases it.
    Quarantined,
    BelowSizeThreshold,
    /// Found at its database's first scan without a baseline, under `initial_baseline
    /// = estimate`: judged once a fresh build's size is estimated.
    AwaitingEstimate,
    /// `reltuples` is 0 or -1 (a truncated table, or one never vacuumed or analyzed):
    /// a size per tuple means nothing, so the index is not judged.
    NoStatistics,
    Healthy,
    /// Below its scale factor against a baseline that no estimate backs (its size
    /// when its database's first scan found it): how bloated it is, nobody knows.
    UnknownBloat,
    Candidate(CandidateReason),
}

impl Verdict {
    /// The verdict on a judged index's bloat: a candidate at or above its scale factor.
    pub(crate) fn of_bloat(bloat: f64, settings: &IndexSettings) -> Verdict {
        if bloat >= settings.rebuild_scale_factor {
            Verdict::Candidate(CandidateReason::Bloated)
        } else {
            Verdict::Healthy
        }
    }

    /// [`Verdict::of_bloat`] against a baseline that no estimate backs: a candidate
    /// all the same at or above the scale factor (it grew that much since it was
    /// first seen), unknown below it.
    pub(crate) fn of_unproven_bloat(bloat: f64, settings: &IndexSettings) -> Verdict {
        match Verdict::of_bloat(bloat, settings) {
            Verdict::Healthy => Verdict::UnknownBloat,
            other => other,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Assessment {
    pub(crate) index: IndexInfo,
    /// Shared by the indexes whose settings are the same (nearly all, usually).
    pub(crate) settings: Arc<IndexSettings>,
    /// Bytes per tuple now.
    pub(crate) ratio: f64,
    /// The baseline to keep after this scan (`None`: unknown).
    pub(crate) best_ratio: Option<f64>,
    pub(crate) bloat: Option<f64>,
    pub(crate) verdict: Verdict,
    /// The verdict of a plain run, which `current_bloat` shows: the same as `verdict`
    /// but in `reindex` mode, which judges only the index asked for (and `force`
    /// ignores the thresholds).
    pub(crate) plain_verdict: Verdict,
    /// Its database's first scan found it (or finds it now): `initial_baseline`
    /// applies while it has no baseline.
    pub(crate) from_first_scan: bool,
    /// How the baseline was set, when this scan set it.
    pub(crate) seeded: Option<BaselineSource>,
    /// Why the baseline is not what the policy asked for (no estimate could be made),
    /// or why the estimate waits.
    pub(crate) seed_note: Option<String>,
}

impl Assessment {
    pub(crate) fn is_candidate(&self) -> bool {
        matches!(self.verdict, Verdict::Candidate(_))
    }

    pub(crate) fn expected_reclaim(&self) -> u64 {
        self.bloat
            .map_or(0, |bloat| expected_reclaim(self.index.size_bytes, bloat))
    }

    /// Why the report lists this index as deferred in every mode: it would be judged,
    /// but cannot be now.
    pub(crate) fn deferral(&self) -> Option<String> {
        self.deferral_kind().map(|_| self.why_not())
    }

    /// Which kind of deferral [`Self::deferral`] is.
    pub(crate) fn deferral_kind(&self) -> Option<DeferralKind> {
        match self.verdict {
            Verdict::Locked(_) => Some(DeferralKind::Locked),
            Verdict::NoStatistics => Some(DeferralKind::NoStatistics),
            Verdict::AwaitingEstimate => Some(DeferralKind::AwaitingEstimate),
            Verdict::InvalidSetting(_) => Some(DeferralKind::Configuration),
            _ => None,
        }
    }

    /// Whether the estimate after the scan set its baseline (or had to take its
    /// current size).
    pub(crate) fn was_estimated(&self) -> bool {
        matches!(
            self.seeded,
            Some(BaselineSource::Estimate | BaselineSource::Pgstattuple)
        ) || (self.seeded.is_some() && self.seed_note.is_some())
    }

    /// The baseline an estimate gave (or, `Err`, why there is none: then the current
    /// size is taken, and the bloat is unknown), and the judgement that follows.
    pub(crate) fn settle_estimate(&mut self, estimate: Result<(f64, BaselineSource), String>) {
        let (best, source) = match estimate {
            Ok((best, source)) => (best, source),
            Err(note) => {
                self.seed_note = Some(note);
                (self.ratio, BaselineSource::NoEstimate)
            }
        };
        let bloat = estimated_bloat(self.ratio, best);
        let judged = match source {
            BaselineSource::NoEstimate => Verdict::of_unproven_bloat(bloat, &self.settings),
            _ => Verdict::of_bloat(bloat, &self.settings),
        };
        self.best_ratio = Some(best);
        self.seeded = Some(source);
        self.bloat = Some(bloat);
        self.verdict = judged.clone();
        if self.plain_verdict == Verdict::AwaitingEstimate {
            self.plain_verdict = judged;
        }
    }

    /// Whether its bloat is unknown: below its scale factor against a baseline no
    /// estimate backs, as a plain run judges it.
    pub(crate) fn is_unknown(&self) -> bool {
        self.plain_verdict == Verdict::UnknownBloat
    }

    /// Why a `reindex` of this index would not go ahead, for the report.
    pub(crate) fn why_not(&self) -> String {
        match &self.verdict {
            Verdict::Ineligible(reason) => format!("not eligible: {}", reason.explain()),
            Verdict::Skipped(Origin::Row(id)) => format!("skip is set (setting #{id})"),
            Verdict::Skipped(Origin::BuiltIn(rule)) => format!("skip is set ({rule})"),
            Verdict::InvalidSetting(_) => match &self.settings.invalid_row {
                Some((_, problem)) => format!(
                    "invalid row in index_pilot.settings: {problem}; nothing is done to this index until it is fixed"
                ),
                None => "invalid row in index_pilot.settings".to_owned(),
            },
            Verdict::NotSelected => "not the index asked for".to_owned(),
            Verdict::Locked(pid) => format!(
                "{} holds or waits for an exclusive lock on it or its table: not measured, retried by a later run",
                match pid {
                    0 => "a prepared transaction".to_owned(),
                    pid => format!("pid {pid}"),
                }
            ),
            Verdict::Quarantined => {
                "quarantined after failed rebuilds (see index_pilot.quarantined); an operator releases it".to_owned()
            }
            Verdict::BelowSizeThreshold => format!(
                "{} is below index_size_threshold ({}) or minimum_reliable_index_size ({}); force ignores them",
                format_size(self.index.size_bytes),
                format_size(self.settings.index_size_threshold),
                format_size(self.settings.minimum_reliable_index_size)
            ),
            Verdict::AwaitingEstimate => format!(
                "first seen at its database's first scan: judged once its baseline is estimated ({})",
                self.seed_note.as_deref().unwrap_or("after the scan")
            ),
            Verdict::NoStatistics => {
                let (schema, table) = self.index.settings_table();
                format!(
                    "no statistics: run ANALYZE on {} (reltuples is {})",
                    QualifiedName::new(schema, table),
                    self.index.reltuples
                )
            }
            Verdict::Healthy => format!(
                "estimated bloat {} is below index_rebuild_scale_factor {}; force ignores it",
                shown_against(self.bloat.unwrap_or(1.0), self.settings.rebuild_scale_factor),
                self.settings.rebuild_scale_factor
            ),
            Verdict::UnknownBloat => format!(
                "its bloat is unknown: no estimate of a fresh build could be made when it was first seen, and it grew {} since; force rebuilds it (then its baseline is known)",
                shown_against(self.bloat.unwrap_or(1.0), self.settings.rebuild_scale_factor)
            ),
            Verdict::Candidate(_) => "a candidate".to_owned(),
        }
    }
}

/// An index chosen for a rebuild, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate<'a> {
    pub(crate) assessment: &'a Assessment,
    pub(crate) reason: CandidateReason,
}

/// Candidates, most bytes expected back first; those of unknown bloat after, largest first.
pub(crate) fn candidates_in_order(assessments: &[Assessment]) -> Vec<Candidate<'_>> {
    let mut candidates: Vec<Candidate<'_>> = assessments
        .iter()
        .filter_map(|assessment| match assessment.verdict {
            Verdict::Candidate(reason) => Some(Candidate { assessment, reason }),
            _ => None,
        })
        .collect();
    candidates.sort_by(|a, b| {
        let (a, b) = (a.assessment, b.assessment);
        b.expected_reclaim()
            .cmp(&a.expected_reclaim())
            .then(b.index.size_bytes.cmp(&a.index.size_bytes))
            .then(a.index.name.cmp(&b.index.name))
    });
    candidates
}

mod assessor;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use assessor::assess;
pub(crate) use assessor::{Assessor, Known};
