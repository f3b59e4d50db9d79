use std::collections::{HashMap, HashSet};

use super::*;
use crate::domain::eligibility::tests::btree;
use crate::domain::eligibility::ServerVersion;
use crate::domain::plan::{assess, Known, Location, Selection};
use crate::domain::settings::Settings;
use crate::domain::stored::{changes, StoredStates};

const HERE: Location<'static> = Location {
    target: "orders",
    database: "app",
};

fn index(oid: u32, size: u64) -> IndexInfo {
    let mut index = btree("public", "t", &format!("i{oid}"), size, 10_000.0);
    index.oid = oid;
    index
}

fn selection(mode: Mode) -> Selection<'static> {
    Selection {
        mode,
        only: None,
        force: false,
        reseed: false,
    }
}

/// Indexes (oid, size) judged in a run against `baselines`.
pub(crate) fn assessed(
    oids_and_sizes: &[(u32, u64)],
    baselines: &HashMap<u32, f64>,
) -> Vec<Assessment> {
    let quarantined = HashSet::new();
    let stored = StoredStates {
        baselines: baselines.clone(),
        digests: baselines.keys().map(|oid| (*oid, None)).collect(),
        ..StoredStates::default()
    };
    let known = Known {
        stored: &stored,
        quarantined: &quarantined,
    };
    let indexes = oids_and_sizes
        .iter()
        .map(|&(oid, size)| index(oid, size))
        .collect();
    let settings = Settings::from_rows(&[]).unwrap();
    assess(
        indexes,
        known,
        &settings,
        HERE,
        ServerVersion(150004),
        selection(Mode::Run),
    )
}

/// Sifts indexes (oid, size) in `mode` against what `stored` holds.
fn sift(stored: &StoredStates, mode: Mode, oids_and_sizes: &[(u32, u64)]) -> Sifted {
    let indexes = oids_and_sizes.iter().map(|&(oid, size)| index(oid, size));
    sift_indexes(stored, mode, indexes, &[])
}

/// Sifts `indexes`, then the names of indexes that `vanished`.
fn sift_indexes(
    stored: &StoredStates,
    mode: Mode,
    indexes: impl IntoIterator<Item = IndexInfo>,
    vanished: &[QualifiedName],
) -> Sifted {
    let quarantined = HashSet::new();
    let settings = Settings::from_rows(&[]).unwrap();
    let known = Known {
        stored,
        quarantined: &quarantined,
    };
    let assessor = Assessor::new(
        known,
        &settings,
        HERE,
        ServerVersion(150004),
        selection(mode),
    );
    let mut sift = Sift::new(assessor, stored, "app");
    for index in indexes {
        sift.found(index);
    }
    for name in vanished {
        sift.vanished(name.clone());
    }
    sift.finish()
}

/// What the control database holds once a sift's changes are written.
fn written(mut stored: StoredStates, sifted: &Sifted) -> StoredStates {
    stored.scanned_before = true;
    let changes = changes(&stored, sifted);
    for oid in &changes.forgotten {
        stored.baselines.remove(oid);
        stored.digests.remove(oid);
    }
    for row in changes.changed {
        if let Some(best) = row.best_ratio {
            stored.baselines.insert(row.oid, best);
        }
        stored.digests.insert(row.oid, Some(row.digest));
    }
    stored
}

fn changed_oids(sifted: &Sifted) -> Vec<u32> {
    sifted.to_write.iter().map(|row| row.oid).collect()
}

const MB: u64 = 1 << 20;

#[test]
fn an_unchanged_scan_keeps_and_writes_nothing() {
    let fleet: Vec<(u32, u64)> = (1..=1000).map(|oid| (oid, 20 * MB)).collect();
    let first = sift(&StoredStates::default(), Mode::Baseline, &fleet);
    assert_eq!(first.to_write.len(), 1000);
    let stored = written(StoredStates::default(), &first);
    let again = sift(&stored, Mode::Run, &fleet);
    assert_eq!(again.scanned, 1000);
    assert!(again.seeded.is_empty(), "{:?}", again.seeded);
    assert!(
        again.kept.is_empty(),
        "kept {} healthy indexes",
        again.kept.len()
    );
    let changes = changes(&stored, &again);
    assert!(changes.changed.is_empty() && changes.forgotten.is_empty());
}

#[test]
fn what_changed_is_written_and_what_vanished_is_forgotten() {
    let first = sift(
        &StoredStates::default(),
        Mode::Baseline,
        &[(1, 20 * MB), (2, 30 * MB), (3, 40 * MB)],
    );
    let mut stored = written(StoredStates::default(), &first);
    // A completed rebuild wrote index 3's row, without a digest.
    stored.digests.insert(3, None);
    // 1 grew, 2 is gone, 4 is new.
    let again = sift(
        &stored,
        Mode::Run,
        &[(1, 25 * MB), (3, 40 * MB), (4, 10 * MB)],
    );
    assert_eq!(changed_oids(&again), [1, 3, 4]);
    assert_eq!(changes(&stored, &again).forgotten, [2]);
}

#[test]
fn a_dry_run_writes_nothing_and_keeps_every_estimate() {
    let first = sift(
        &StoredStates::default(),
        Mode::Baseline,
        &[(1, 20 * MB), (2, 30 * MB)],
    );
    let stored = written(StoredStates::default(), &first);
    let dry = sift(
        &stored,
        Mode::DryRun,
        &[(1, 20 * MB), (2, 90 * MB), (5, MB)],
    );
    assert!(dry.to_write.is_empty());
    // 1 healthy, 2 bloated (a candidate); 5 is below the size threshold.
    let kept: Vec<u32> = dry.kept.iter().map(|a| a.index.oid).collect();
    assert_eq!(kept, [1, 2]);
}

#[test]
fn a_run_keeps_the_candidates_and_the_deferred() {
    let first = sift(
        &StoredStates::default(),
        Mode::Baseline,
        &[(1, 20 * MB), (2, 30 * MB)],
    );
    let stored = written(StoredStates::default(), &first);
    let mut locked = index(3, 50 * MB);
    locked.locked_by = Some(4242);
    let gone = QualifiedName::new("public", "gone");
    let indexes = [index(1, 20 * MB), index(2, 90 * MB), locked];
    let run = sift_indexes(&stored, Mode::Run, indexes, std::slice::from_ref(&gone));
    let kept: Vec<u32> = run.kept.iter().map(|a| a.index.oid).collect();
    assert_eq!(kept, [2, 3]);
    assert!(run.kept[0].is_candidate());
    assert!(run.kept[1].deferral().is_some());
    // The grown index's state is written; the locked one's stays as it was.
    assert_eq!(changed_oids(&run), [2]);
    assert_eq!(run.seen, [1, 2, 3]);
    assert_eq!(run.vanished, [gone]);
}

#[test]
fn a_build_copy_is_seen_but_not_counted_as_scanned() {
    let mut copy = index(7, 20 * MB);
    copy.name = QualifiedName::new("public", "i1_ccnew");
    copy.is_valid = false;
    let mut building = index(8, 20 * MB);
    building.is_live = false;
    let indexes = [index(1, 20 * MB), copy, building];
    let run = sift_indexes(&StoredStates::default(), Mode::Run, indexes, &[]);
    assert_eq!(run.scanned, 1);
    assert_eq!(run.seen, [1, 7, 8]);
}
