//! What a scan keeps of the indexes it finds. A database may hold a hundred thousand
//! indexes and a run acts on a handful: each index is judged as it arrives and kept
//! only when something follows from it (a candidate, a deferral, the index asked for,
//! a line of the dry run's estimates, a state to write), so memory follows what
//! there is to do, not the size of the catalog.

use super::eligibility::IndexInfo;
use super::ident::QualifiedName;
use super::plan::{Assessment, Assessor, Mode, Verdict};
use super::stored::{state_digest, StateRow, StoredStates};

/// Where a scan's indexes go, one by one.
pub trait ScanSink {
    fn found(&mut self, index: IndexInfo);
    /// An index dropped while the scan ran: in the catalog's snapshot, gone by the
    /// time its size was read.
    fn vanished(&mut self, name: QualifiedName);
}

/// What a scan kept.
#[derive(Debug, Default)]
pub struct Sifted {
    /// Indexes found.
    pub scanned: usize,
    pub vanished: Vec<QualifiedName>,
    /// Every index found, measured or not: the stored ones not among them are gone.
    pub seen: Vec<u32>,
    /// How many indexes have a baseline after this scan.
    pub with_baseline: usize,
    /// The indexes something follows from, in the order found.
    pub kept: Vec<Assessment>,
    /// The states to write: the indexes whose state changed.
    pub to_write: Vec<StateRow>,
}

/// Judges each index as it comes and keeps what matters.
#[derive(Debug)]
pub struct Sift<'a> {
    assessor: Assessor<'a>,
    stored: &'a StoredStates,
    database_name: &'a str,
    sifted: Sifted,
}

impl<'a> Sift<'a> {
    pub fn new(assessor: Assessor<'a>, stored: &'a StoredStates, database_name: &'a str) -> Self {
        Sift {
            assessor,
            stored,
            database_name,
            sifted: Sifted::default(),
        }
    }

    pub fn finish(self) -> Sifted {
        self.sifted
    }

    /// A state to write: measured, in a mode that records, and different from the
    /// stored one. A locked index was not measured, and a size per tuple without a
    /// tuple count means nothing: their stored state stays as it was.
    fn digest_to_write(&self, assessment: &Assessment) -> Option<i64> {
        let measured = !matches!(
            assessment.verdict,
            Verdict::Ineligible(_) | Verdict::Locked(_)
        ) && assessment.index.reltuples > 0.0;
        if self.assessor.selection().mode == Mode::DryRun || !measured {
            return None;
        }
        let digest = state_digest(self.database_name, assessment);
        let stored = self.stored.digests.get(&assessment.index.oid);
        (stored != Some(&Some(digest))).then_some(digest)
    }

    fn matters(&self, assessment: &Assessment) -> bool {
        let selection = self.assessor.selection();
        assessment.is_candidate()
            || assessment.deferral().is_some()
            || selection.only == Some(&assessment.index.name)
            || (selection.mode == Mode::DryRun && matches!(assessment.verdict, Verdict::Healthy))
    }
}

impl ScanSink for Sift<'_> {
    fn found(&mut self, index: IndexInfo) {
        let assessment = self.assessor.assess(index);
        let sifted = &mut self.sifted;
        sifted.scanned += 1;
        sifted.seen.push(assessment.index.oid);
        if assessment.best_ratio.is_some() {
            sifted.with_baseline += 1;
        }
        if let Some(digest) = self.digest_to_write(&assessment) {
            self.sifted.to_write.push(StateRow::of(&assessment, digest));
        }
        if self.matters(&assessment) {
            self.sifted.kept.push(assessment);
        }
    }

    fn vanished(&mut self, name: QualifiedName) {
        self.sifted.vanished.push(name);
    }
}

#[cfg(test)]
pub(crate) mod tests;
