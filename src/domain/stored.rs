//! What a scan writes to the control database: the indexes whose state changed since
//! the scan before, and the stored ones it no longer saw. On an idle fleet that is
//! nothing, where rewriting every index's row cost more than the rest of the run.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use fnv::FnvHasher;

use super::baseline::BaselineSource;
use super::plan::Assessment;
use super::plan::Verdict;
use super::settings::Origin;
use super::sift::Sifted;
use super::standing::Standing;

/// What the control database holds of one database's indexes.
#[derive(Debug, Default, Clone)]
pub(crate) struct StoredStates {
    /// Baselines (bytes per tuple), by index oid.
    pub(crate) baselines: HashMap<u32, f64>,
    /// Every stored index, with the digest its last scan wrote (`None`: the row was
    /// written by something else, a completed rebuild, and is written again).
    pub(crate) digests: HashMap<u32, Option<i64>>,
    /// Stored indexes without a baseline that the database's first scan found: the
    /// `initial_baseline` policy still applies to them.
    pub(crate) awaiting_initial: HashSet<u32>,
    /// Stored indexes whose baseline is their size at the first scan because no
    /// estimate could be made (`no_estimate`): their bloat is unknown.
    pub(crate) unestimated: HashSet<u32>,
    /// Whether the database was scanned (and the scan recorded) before.
    pub(crate) scanned_before: bool,
}

/// One index's state as a scan records it: what `index_state` holds, and no more
/// (a first scan keeps one per index until it writes them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateRow {
    pub(crate) oid: u32,
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) name: String,
    pub(crate) access_method: String,
    pub(crate) size_bytes: u64,
    pub(crate) reltuples: f64,
    /// Bytes per tuple now.
    pub(crate) ratio: f64,
    pub(crate) best_ratio: Option<f64>,
    /// How the baseline was set, when this scan set it: its growth is measured anew.
    pub(crate) seeded: Option<BaselineSource>,
    /// Found at its database's first scan (written with the row, never changed).
    pub(crate) from_first_scan: bool,
    /// Where it stands for a plain run, and the settings in force that decided it
    /// (`index_rebuild_scale_factor` also serves the forecast view).
    pub(crate) standing: Standing,
    pub(crate) digest: i64,
}

impl StateRow {
    /// The row of an assessed index, with its digest.
    pub(crate) fn of(database_name: &str, assessment: &Assessment) -> StateRow {
        let index = &assessment.index;
        let mut row = StateRow {
            oid: index.oid,
            schema: index.name.schema.clone(),
            table: index.table.clone(),
            name: index.name.name.clone(),
            access_method: index.access_method.clone(),
            size_bytes: index.size_bytes,
            reltuples: index.reltuples,
            ratio: assessment.ratio,
            best_ratio: assessment.best_ratio,
            seeded: assessment.seeded,
            from_first_scan: assessment.from_first_scan,
            standing: Standing {
                verdict: assessment.plain_verdict.clone(),
                bloat: assessment.bloat,
                reltuples: index.reltuples,
                index_size_threshold: assessment.settings.index_size_threshold,
                minimum_reliable_index_size: assessment.settings.minimum_reliable_index_size,
                rebuild_scale_factor: assessment.settings.rebuild_scale_factor,
            },
            digest: 0,
        };
        row.digest = state_digest(database_name, &row);
        row
    }
}

/// What one scan writes.
#[derive(Debug, Default)]
pub(crate) struct Changes<'a> {
    /// Indexes whose recorded state differs from the stored one.
    pub(crate) changed: &'a [StateRow],
    /// Stored indexes the scan did not see: dropped since.
    pub(crate) forgotten: Vec<u32>,
}

/// A digest of everything a scan records of an index. FNV-1a, a fixed algorithm: a
/// digest written by one version of index-pilot is the same in the next.
pub(crate) fn state_digest(database_name: &str, row: &StateRow) -> i64 {
    let mut hasher = FnvHasher::default();
    for text in [
        database_name,
        &row.schema,
        &row.table,
        &row.name,
        &row.access_method,
    ] {
        // The length first, so that ("ab", "c") and ("a", "bc") differ.
        hasher.write(&(text.len() as u64).to_le_bytes());
        hasher.write(text.as_bytes());
    }
    hasher.write(&row.size_bytes.to_le_bytes());
    hasher.write(&row.reltuples.to_bits().to_le_bytes());
    match row.best_ratio {
        Some(best) => hasher.write(&best.to_bits().to_le_bytes()),
        None => hasher.write(&[0xff]),
    }
    // The standing's words follow from what is hashed above and its verdict and
    // settings below: they are made only for the rows written.
    let standing = &row.standing;
    hasher.write(&standing.rebuild_scale_factor.to_bits().to_le_bytes());
    hasher.write(&standing.index_size_threshold.to_le_bytes());
    hasher.write(&standing.minimum_reliable_index_size.to_le_bytes());
    hasher.write(standing.code().as_bytes());
    match &standing.verdict {
        Verdict::Skipped(Origin::Row(id)) => hasher.write(&id.to_le_bytes()),
        Verdict::InvalidSetting(id) => {
            hasher.write(b"invalid");
            hasher.write(&id.to_le_bytes());
        }
        Verdict::Skipped(Origin::BuiltIn(rule)) => hasher.write(rule.as_bytes()),
        _ => {}
    }
    hasher.finish() as i64
}

/// What a scan writes: the states its sift found changed, and the stored indexes
/// it did not see.
pub(crate) fn changes<'a>(stored: &StoredStates, sifted: &'a Sifted) -> Changes<'a> {
    let seen: HashSet<u32> = sifted.seen.iter().copied().collect();
    let mut forgotten: Vec<u32> = stored
        .digests
        .keys()
        .filter(|oid| !seen.contains(oid))
        .copied()
        .collect();
    forgotten.sort_unstable();
    Changes {
        changed: &sifted.to_write,
        forgotten,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::sift::tests::assessed;

    #[test]
    fn every_recorded_field_moves_the_digest() {
        let assessment = assessed(&[(1, 20 << 20)], &HashMap::new()).remove(0);
        let base = StateRow::of("app", &assessment);
        let digest = state_digest("app", &base);
        assert_eq!(digest, base.digest);
        assert_ne!(digest, state_digest("other", &base));
        let variants: [fn(&mut StateRow); 13] = [
            |r| r.schema.push('x'),
            |r| r.table.push('x'),
            |r| r.name.push('x'),
            |r| r.access_method = "hash".into(),
            |r| r.size_bytes += 8192,
            |r| r.reltuples += 1.0,
            |r| r.best_ratio = r.best_ratio.map(|b| b * 0.9).or(Some(1.0)),
            |r| r.standing.rebuild_scale_factor = 1.5,
            |r| r.standing.index_size_threshold += 1,
            |r| r.standing.minimum_reliable_index_size += 1,
            |r| r.standing.verdict = Verdict::Quarantined,
            |r| r.standing.verdict = Verdict::Skipped(Origin::Row(1)),
            |r| r.standing.verdict = Verdict::Skipped(Origin::BuiltIn("built-in: x")),
        ];
        for change in variants {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(state_digest("app", &changed), digest, "{changed:?}");
        }
        let mut skipped = base.clone();
        skipped.standing.verdict = Verdict::Skipped(Origin::Row(1));
        let mut other_row = base.clone();
        other_row.standing.verdict = Verdict::Skipped(Origin::Row(2));
        assert_ne!(
            state_digest("app", &skipped),
            state_digest("app", &other_row)
        );
    }
}
