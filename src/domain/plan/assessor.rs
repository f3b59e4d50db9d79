//! Judging one index as a scan brings it: its settings, its ratio against its
//! baseline (or where a baseline comes from when it has none), and its verdict.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Assessment, CandidateReason, Location, Selection, Verdict};
use crate::domain::baseline::{
    from_first_scan, seeding, unproven, BaselineSource, Seeding, Unproven,
};
use crate::domain::bloat::{
    bytes_per_tuple, estimated_bloat, fresh_baseline, is_reliable, ratchet,
};
use crate::domain::eligibility::{check_eligibility, IndexInfo, ServerVersion};
use crate::domain::mode::Mode;
use crate::domain::settings::{IndexSettings, IndexSubject, Settings};
use crate::domain::stored::StoredStates;

/// What the control database knows of a database's indexes, by index oid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known<'a> {
    pub(crate) stored: &'a StoredStates,
    pub(crate) quarantined: &'a HashSet<u32>,
}

/// Judges every index at once: the tests' shorthand for an [`Assessor`].
#[cfg(test)]
pub(crate) fn assess(
    indexes: Vec<IndexInfo>,
    known: Known<'_>,
    settings: &Settings,
    location: Location<'_>,
    server: ServerVersion,
    selection: Selection<'_>,
) -> Vec<Assessment> {
    let mut assessor = Assessor::new(known, settings, location, server, selection);
    indexes
        .into_iter()
        .map(|index| assessor.assess(index))
        .collect()
}

/// Judges indexes one at a time, as a scan brings them.
#[derive(Debug)]
pub(crate) struct Assessor<'a> {
    known: Known<'a>,
    settings: &'a Settings,
    location: Location<'a>,
    server: ServerVersion,
    selection: Selection<'a>,
    /// The settings of the index before: the next one usually has the same.
    previous: Option<Arc<IndexSettings>>,
}

impl<'a> Assessor<'a> {
    pub(crate) fn new(
        known: Known<'a>,
        settings: &'a Settings,
        location: Location<'a>,
        server: ServerVersion,
        selection: Selection<'a>,
    ) -> Assessor<'a> {
        Assessor {
            known,
            settings,
            location,
            server,
            selection,
            previous: None,
        }
    }

    pub(crate) fn selection(&self) -> Selection<'a> {
        self.selection
    }

    pub(crate) fn assess(&mut self, index: IndexInfo) -> Assessment {
        let index_settings = self.settings_for(&index);
        let stored = self.known.stored;
        let from_first_scan = from_first_scan(
            stored
                .digests
                .contains_key(&index.oid)
                .then(|| stored.awaiting_initial.contains(&index.oid)),
            stored.scanned_before,
        );
        let Baseline {
            ratio,
            best_ratio,
            mut seeded,
            awaiting_estimate,
        } = self.baseline(&index, &index_settings, from_first_scan);
        // A baseline kept from a first scan that could not estimate it: the index's
        // initial_baseline now says whether it stays unknown.
        let fate =
            (seeded.is_none() && best_ratio.is_some() && stored.unestimated.contains(&index.oid))
                .then(|| unproven(index_settings.initial_baseline));
        if fate == Some(Unproven::Accepted) && index.locked_by.is_none() {
            seeded = Some(BaselineSource::Current);
        }
        let bloat = best_ratio
            .filter(|_| index.locked_by.is_none() && index.reltuples > 0.0)
            .filter(|_| fate != Some(Unproven::Rebuild))
            .map(|best| estimated_bloat(ratio, best));
        let (verdict, plain_verdict) =
            self.verdicts(&index, &index_settings, bloat, awaiting_estimate, fate);
        Assessment {
            index,
            settings: index_settings,
            ratio,
            best_ratio,
            bloat,
            verdict,
            plain_verdict,
            from_first_scan,
            seeded,
            seed_note: None,
        }
    }

    /// The index's settings, shared with the index before when they are the same.
    fn settings_for(&mut self, index: &IndexInfo) -> Arc<IndexSettings> {
        let resolved = self
            .settings
            .for_index(&IndexSubject::of(self.location, index));
        let index_settings = match self.previous.take() {
            Some(shared) if *shared == resolved => shared,
            _ => Arc::new(resolved),
        };
        self.previous = Some(Arc::clone(&index_settings));
        index_settings
    }

    /// The index's ratio and the baseline it is held against: the stored one
    /// (ratcheted), or one this scan seeds, or none yet.
    fn baseline(
        &self,
        index: &IndexInfo,
        index_settings: &IndexSettings,
        from_first_scan: bool,
    ) -> Baseline {
        let stored = self.known.stored.baselines.get(&index.oid).copied();
        if index.locked_by.is_some() {
            return Baseline {
                ratio: 0.0,
                best_ratio: stored,
                seeded: None,
                awaiting_estimate: false,
            };
        }
        let mut awaiting_estimate = false;
        let ratio = bytes_per_tuple(index.size_bytes, index.reltuples);
        let reliable = is_reliable(
            index.size_bytes,
            index.reltuples,
            index_settings.minimum_reliable_index_size,
        );
        let seed = |source| {
            fresh_baseline(index.size_bytes, index.reltuples, reliable).map(|best| (best, source))
        };
        let (best_ratio, seeded) = match (self.selection.mode, stored) {
            (Mode::Baseline, None) => seed(BaselineSource::Accepted).unzip(),
            (Mode::Baseline, Some(_)) if self.selection.reseed => seed(BaselineSource::Accepted)
                .map_or((stored, None), |(best, source)| (Some(best), Some(source))),
            (_, Some(_)) => (ratchet(stored, ratio, reliable), None),
            (_, None) => match seeding(from_first_scan, index_settings.initial_baseline) {
                Seeding::TakeCurrent(source) => seed(source).unzip(),
                Seeding::Rebuild => (None, None),
                Seeding::Estimate => {
                    awaiting_estimate = reliable;
                    (None, None)
                }
            },
        };
        Baseline {
            ratio,
            best_ratio,
            seeded,
            awaiting_estimate,
        }
    }

    /// The verdict under this selection, and the one a plain run would give (they
    /// differ only when one index is selected to be rebuilt).
    fn verdicts(
        &self,
        index: &IndexInfo,
        index_settings: &IndexSettings,
        bloat: Option<f64>,
        awaiting_estimate: bool,
        fate: Option<Unproven>,
    ) -> (Verdict, Verdict) {
        let quarantined = self.known.quarantined.contains(&index.oid);
        let judged = |selection| match judge(
            index,
            index_settings,
            bloat,
            quarantined,
            self.server,
            selection,
        ) {
            Verdict::Candidate(CandidateReason::NoBaseline) if awaiting_estimate => {
                Verdict::AwaitingEstimate
            }
            Verdict::Healthy if fate == Some(Unproven::Unknown) => Verdict::UnknownBloat,
            other => other,
        };
        let verdict = judged(self.selection);
        let plain_verdict = if self.selection.mode == Mode::Reindex {
            judged(Selection {
                mode: Mode::Run,
                only: None,
                force: false,
                reseed: false,
            })
        } else {
            verdict.clone()
        };
        (verdict, plain_verdict)
    }
}

/// An index's ratio against the baseline it is held to, and where that came from.
struct Baseline {
    ratio: f64,
    best_ratio: Option<f64>,
    /// How this scan set the baseline, when it did.
    seeded: Option<BaselineSource>,
    /// No baseline yet: an estimate will set it (the first scan asked for one).
    awaiting_estimate: bool,
}

fn judge(
    index: &IndexInfo,
    settings: &IndexSettings,
    bloat: Option<f64>,
    quarantined: bool,
    server: ServerVersion,
    selection: Selection<'_>,
) -> Verdict {
    if let Err(reason) = check_eligibility(index, server) {
        return Verdict::Ineligible(reason);
    }
    if let Some(origin) = &settings.skip {
        return Verdict::Skipped(origin.clone());
    }
    if selection.only.is_some_and(|only| *only != index.name) {
        return Verdict::NotSelected;
    }
    if let Some((id, _)) = &settings.invalid_row {
        return Verdict::InvalidSetting(*id);
    }
    if let Some(pid) = index.locked_by {
        return Verdict::Locked(pid);
    }
    // Not even `force` overrides a quarantine: an operator releases it.
    if quarantined {
        return Verdict::Quarantined;
    }
    let forced = selection.force && selection.mode == Mode::Reindex;
    if forced {
        return Verdict::Candidate(CandidateReason::Forced);
    }
    // Below minimum_reliable_index_size a size per tuple is noise: no baseline is ever
    // set there, so such an index would otherwise stay "unknown" and be rebuilt forever.
    if index.size_bytes
        < settings
            .index_size_threshold
            .max(settings.minimum_reliable_index_size)
    {
        return Verdict::BelowSizeThreshold;
    }
    if index.reltuples <= 0.0 {
        return Verdict::NoStatistics;
    }
    match bloat {
        None => Verdict::Candidate(CandidateReason::NoBaseline),
        Some(bloat) => Verdict::of_bloat(bloat, settings),
    }
}
