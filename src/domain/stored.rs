//! What a scan writes to the control database: the indexes whose state changed since
//! the scan before, and the stored ones it no longer saw. On an idle fleet that is
//! nothing, where rewriting every index's row cost more than the rest of the run.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use fnv::FnvHasher;

use super::plan::Assessment;
use super::sift::Sifted;

/// What the control database holds of one database's indexes.
#[derive(Debug, Default, Clone)]
pub struct StoredStates {
    /// Baselines (bytes per tuple), by index oid.
    pub baselines: HashMap<u32, f64>,
    /// Every stored index, with the digest its last scan wrote (`None`: the row was
    /// written by something else, a completed rebuild, and is written again).
    pub digests: HashMap<u32, Option<i64>>,
}

/// One index's state as a scan records it: what `index_state` holds, and no more
/// (a first scan keeps one per index until it writes them).
#[derive(Debug, Clone, PartialEq)]
pub struct StateRow {
    pub oid: u32,
    pub schema: String,
    pub table: String,
    pub name: String,
    pub access_method: String,
    pub size_bytes: u64,
    pub reltuples: f64,
    /// Bytes per tuple now.
    pub ratio: f64,
    pub best_ratio: Option<f64>,
    pub digest: i64,
}

impl StateRow {
    pub fn of(assessment: &Assessment, digest: i64) -> StateRow {
        let index = &assessment.index;
        StateRow {
            oid: index.oid,
            schema: index.name.schema.clone(),
            table: index.table.clone(),
            name: index.name.name.clone(),
            access_method: index.access_method.clone(),
            size_bytes: index.size_bytes,
            reltuples: index.reltuples,
            ratio: assessment.ratio,
            best_ratio: assessment.best_ratio,
            digest,
        }
    }
}

/// What one scan writes.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// Indexes whose recorded state differs from the stored one.
    pub changed: &'a [StateRow],
    /// Stored indexes the scan did not see: dropped since.
    pub forgotten: Vec<u32>,
}

/// A digest of everything a scan records of an index. FNV-1a, a fixed algorithm: a
/// digest written by one version of index-pilot is the same in the next.
pub fn state_digest(database_name: &str, assessment: &Assessment) -> i64 {
    let index = &assessment.index;
    let mut hasher = FnvHasher::default();
    for text in [
        database_name,
        &index.name.schema,
        &index.table,
        &index.name.name,
        &index.access_method,
    ] {
        // The length first, so that ("ab", "c") and ("a", "bc") differ.
        hasher.write(&(text.len() as u64).to_le_bytes());
        hasher.write(text.as_bytes());
    }
    hasher.write(&index.size_bytes.to_le_bytes());
    hasher.write(&index.reltuples.to_bits().to_le_bytes());
    match assessment.best_ratio {
        Some(best) => hasher.write(&best.to_bits().to_le_bytes()),
        None => hasher.write(&[0xff]),
    }
    hasher.finish() as i64
}

/// What a scan writes: the states its sift found changed, and the stored indexes
/// it did not see.
pub fn changes<'a>(stored: &StoredStates, sifted: &'a Sifted) -> Changes<'a> {
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
        let base = assessed(&[(1, 20 << 20)], &HashMap::new()).remove(0);
        let digest = state_digest("app", &base);
        assert_ne!(digest, state_digest("other", &base));
        let variants: [fn(&mut Assessment); 7] = [
            |a| a.index.name.schema.push('x'),
            |a| a.index.table.push('x'),
            |a| a.index.name.name.push('x'),
            |a| a.index.access_method = "hash".into(),
            |a| a.index.size_bytes += 8192,
            |a| a.index.reltuples += 1.0,
            |a| a.best_ratio = a.best_ratio.map(|b| b * 0.9).or(Some(1.0)),
        ];
        for change in variants {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(state_digest("app", &changed), digest);
        }
    }
}
