//! What a scan keeps of the indexes it finds. A database may hold a hundred thousand
//! indexes and a run acts on a handful: each index is judged as it arrives and kept
//! only when something follows from it (a candidate, a deferral, the index asked for,
//! a line of the dry run's estimates, a state to write), so memory follows what
//! there is to do, not the size of the catalog.

use super::baseline::BaselineSource;
use super::eligibility::IndexInfo;
use super::ident::QualifiedName;
use super::mode::Mode;
use super::plan::{Assessment, Assessor, Verdict};
use super::stored::{StateRow, StoredStates};

/// Where a scan's indexes go, one by one.
pub(crate) trait ScanSink {
    fn found(&mut self, index: IndexInfo);
    /// An index dropped while the scan ran: in the catalog's snapshot, gone by the
    /// time its size was read.
    fn vanished(&mut self, name: QualifiedName);
}

/// What a scan kept.
#[derive(Debug, Default)]
pub(crate) struct Sifted {
    /// Valid indexes found. An invalid one is a build's copy (`_ccnew`, `_ccold`) or a
    /// failed build, not an index that serves queries: the leftovers list those.
    pub(crate) scanned: usize,
    pub(crate) vanished: Vec<QualifiedName>,
    /// Every index found, measured or not: the stored ones not among them are gone.
    pub(crate) seen: Vec<u32>,
    /// How many baselines this scan set, by how.
    pub(crate) seeded: Vec<(BaselineSource, usize)>,
    /// The indexes something follows from, in the order found.
    pub(crate) kept: Vec<Assessment>,
    /// The states to write: the indexes whose state changed.
    pub(crate) to_write: Vec<StateRow>,
}

/// Judges each index as it comes and keeps what matters.
#[derive(Debug)]
pub(crate) struct Sift<'a> {
    assessor: Assessor<'a>,
    stored: &'a StoredStates,
    database_name: &'a str,
    sifted: Sifted,
}

impl<'a> Sift<'a> {
    pub(crate) fn new(
        assessor: Assessor<'a>,
        stored: &'a StoredStates,
        database_name: &'a str,
    ) -> Self {
        Sift {
            assessor,
            stored,
            database_name,
            sifted: Sifted::default(),
        }
    }

    pub(crate) fn finish(self) -> Sifted {
        self.sifted
    }

    /// A state to write: measured, in a mode that records, and different from the
    /// stored one. A locked index was not measured, and a size per tuple without a
    /// tuple count means nothing: their stored state stays as it was, and one never
    /// stored is written all the same (so a later scan knows it was there).
    fn row_to_write(&self, assessment: &Assessment) -> Option<StateRow> {
        let stored = self.stored.digests.get(&assessment.index.oid);
        let unmeasured = matches!(
            assessment.verdict,
            Verdict::Ineligible(_) | Verdict::Locked(_)
        ) || (assessment.index.reltuples <= 0.0 && stored.is_some());
        if self.assessor.selection().mode == Mode::DryRun || unmeasured {
            return None;
        }
        let row = StateRow::of(self.database_name, assessment);
        (stored != Some(&Some(row.digest))).then_some(row)
    }

    fn matters(&self, assessment: &Assessment) -> bool {
        let selection = self.assessor.selection();
        assessment.is_candidate()
            || assessment.deferral().is_some()
            || selection.only == Some(&assessment.index.name)
            || matches!(assessment.verdict, Verdict::AwaitingEstimate)
            || assessment.is_unknown()
            || (selection.mode == Mode::DryRun && matches!(assessment.verdict, Verdict::Healthy))
    }
}

impl ScanSink for Sift<'_> {
    fn found(&mut self, index: IndexInfo) {
        let assessment = self.assessor.assess(index);
        let sifted = &mut self.sifted;
        if assessment.index.is_usable() {
            sifted.scanned += 1;
        }
        sifted.seen.push(assessment.index.oid);
        if let Some(source) = assessment.seeded {
            count_seeded(&mut sifted.seeded, source);
        }
        if let Some(row) = self.row_to_write(&assessment) {
            self.sifted.to_write.push(row);
        }
        if self.matters(&assessment) {
            self.sifted.kept.push(assessment);
        }
    }

    fn vanished(&mut self, name: QualifiedName) {
        self.sifted.vanished.push(name);
    }
}

/// Adds one to the count of `source`.
fn count_seeded(counts: &mut Vec<(BaselineSource, usize)>, source: BaselineSource) {
    match counts.iter_mut().find(|(s, _)| *s == source) {
        Some((_, n)) => *n += 1,
        None => counts.push((source, 1)),
    }
}

/// What an estimate after the scan gave one kept assessment (by position): a
/// baseline and how it was made, or why there is none (the current size is taken).
pub(crate) type Settled = (usize, Result<(f64, BaselineSource), String>);

impl Sifted {
    /// Judges the kept indexes whose baseline waited for an estimate, and puts the
    /// baselines they got in the rows to write (`record`: a mode that writes). The
    /// stored row of such an index (if any) holds no baseline: it is written whether
    /// or not its size changed.
    pub(crate) fn settle_estimates(
        &mut self,
        database_name: &str,
        estimates: Vec<Settled>,
        record: bool,
    ) {
        let rows: std::collections::HashMap<u32, usize> = self
            .to_write
            .iter()
            .enumerate()
            .map(|(position, row)| (row.oid, position))
            .collect();
        for (position, estimate) in estimates {
            let Some(assessment) = self.kept.get_mut(position) else {
                continue;
            };
            assessment.settle_estimate(estimate);
            if let Some(source) = assessment.seeded {
                count_seeded(&mut self.seeded, source);
            }
            if !record {
                continue;
            }
            let row = StateRow::of(database_name, assessment);
            match rows.get(&assessment.index.oid) {
                Some(&at) => self.to_write[at] = row,
                None => self.to_write.push(row),
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
