//! How an index's keys fall into groups of equal values: what deduplication (btree)
//! and buckets (hash) work on. From `pg_stats`: each most common value is a group of
//! its frequency, the other values share what is left evenly, and NULL is one value.
//! For several columns the values combine as if independent.

use super::ColumnStats;

/// `count` groups of `size` equal keys each; `nulls` has a bit per null key column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Group {
    pub(crate) size: f64,
    pub(crate) count: f64,
    pub(crate) nulls: u64,
}

/// Values of equal frequency (a fraction of the table's rows).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    freq: f64,
    values: f64,
    nulls: u64,
}

/// Above this many combined buckets, similar ones are merged: the groups' sizes
/// matter, not which values they hold.
const MAX_COMBINATIONS: usize = 4096;
const MERGED_BUCKETS: usize = 256;
/// A column's most common values, merged to this many buckets when combined with others.
const BUCKETS_PER_COLUMN: usize = 12;
/// Beyond this many equal keys a group's size varies little around its mean.
const POISSON_LIMIT: f64 = 50.0;

fn column_buckets(column: &ColumnStats, position: usize, table_tuples: f64) -> Vec<Bucket> {
    let null_frac = column.null_frac();
    let mut buckets = Vec::with_capacity(column.mcv_freqs.len() + 2);
    if null_frac > 0.0 {
        buckets.push(Bucket {
            freq: null_frac,
            values: 1.0,
            nulls: 1 << position,
        });
    }
    let mut common = 0.0;
    for freq in &column.mcv_freqs {
        buckets.push(Bucket {
            freq: *freq,
            values: 1.0,
            nulls: 0,
        });
        common += freq;
    }
    let rest = 1.0 - null_frac - common;
    if rest > 1e-9 {
        // Without n_distinct, every other value is taken as unique: no deduplication
        // is counted that may not happen.
        let distinct = match column.n_distinct {
            Some(n) if n < 0.0 => -n * table_tuples,
            Some(n) if n > 0.0 => n,
            _ => rest * table_tuples,
        };
        let values = (distinct - column.mcv_freqs.len() as f64).max(1.0);
        buckets.push(Bucket {
            freq: rest / values,
            values,
            nulls: 0,
        });
    }
    buckets
}

/// Merges buckets of the same nulls into at most `limit` by frequency, keeping the
/// rows they hold.
fn merge(mut buckets: Vec<Bucket>, limit: usize) -> Vec<Bucket> {
    if buckets.len() <= limit {
        return buckets;
    }
    buckets.sort_by(|a, b| a.nulls.cmp(&b.nulls).then(a.freq.total_cmp(&b.freq)));
    let chunk = buckets.len().div_ceil(limit);
    let mut merged: Vec<Bucket> = Vec::with_capacity(limit + 8);
    for run in buckets.chunk_by(|a, b| a.nulls == b.nulls) {
        for part in run.chunks(chunk) {
            let values: f64 = part.iter().map(|b| b.values).sum();
            let rows: f64 = part.iter().map(|b| b.freq * b.values).sum();
            merged.push(Bucket {
                freq: rows / values,
                values,
                nulls: part[0].nulls,
            });
        }
    }
    merged
}

/// The groups of equal keys in an index of `index_tuples` entries over a table of
/// `table_tuples` rows. A single column's values are known to exist, so each gets its
/// share of the rows; combined values (several columns, or a partial index's subset)
/// occur at random, some not at all.
pub(super) fn groups(keys: &[ColumnStats], index_tuples: f64, table_tuples: f64) -> Vec<Group> {
    let table_tuples = table_tuples.max(index_tuples).max(1.0);
    let mut combined = vec![Bucket {
        freq: 1.0,
        values: 1.0,
        nulls: 0,
    }];
    for (position, column) in keys.iter().enumerate() {
        let mut buckets = column_buckets(column, position, table_tuples);
        if keys.len() > 1 {
            buckets = merge(buckets, BUCKETS_PER_COLUMN);
        }
        let mut next = Vec::with_capacity(combined.len() * buckets.len());
        for a in &combined {
            for b in &buckets {
                next.push(Bucket {
                    freq: a.freq * b.freq,
                    values: a.values * b.values,
                    nulls: a.nulls | b.nulls,
                });
            }
        }
        combined = if next.len() > MAX_COMBINATIONS {
            merge(next, MERGED_BUCKETS)
        } else {
            next
        };
    }
    let whole = keys.len() == 1 && index_tuples >= 0.95 * table_tuples;
    let mut groups = Vec::new();
    for bucket in combined {
        let mean = bucket.freq * index_tuples;
        if whole || mean > POISSON_LIMIT {
            spread_evenly(bucket, mean, &mut groups);
        } else {
            spread_at_random(bucket, mean, &mut groups);
        }
    }
    groups
}

/// Each value holds `mean` keys: the whole numbers either side, in proportion.
fn spread_evenly(bucket: Bucket, mean: f64, groups: &mut Vec<Group>) {
    if mean < 1.0 {
        groups.push(Group {
            size: 1.0,
            count: bucket.values * mean,
            nulls: bucket.nulls,
        });
        return;
    }
    let low = mean.floor();
    let high_share = mean - low;
    for (size, share) in [(low, 1.0 - high_share), (low + 1.0, high_share)] {
        if share > 0.0 {
            groups.push(Group {
                size,
                count: bucket.values * share,
                nulls: bucket.nulls,
            });
        }
    }
}

/// Each value holds a Poisson number of keys around `mean` (zero: it does not occur).
fn spread_at_random(bucket: Bucket, mean: f64, groups: &mut Vec<Group>) {
    let last = (mean + 10.0 * mean.sqrt() + 10.0).ceil() as u32;
    let mut probability = (-mean).exp();
    for size in 1..=last {
        probability *= mean / f64::from(size);
        let count = bucket.values * probability;
        if count > 1e-9 {
            groups.push(Group {
                size: f64::from(size),
                count,
                nulls: bucket.nulls,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Alignment;
    use super::*;

    fn column(n_distinct: f64, mcv: &[f64], null_frac: f64) -> ColumnStats {
        ColumnStats {
            null_frac: Some(null_frac),
            n_distinct: Some(n_distinct),
            mcv_freqs: mcv.to_vec(),
            ..ColumnStats::fixed(4, Alignment::Int)
        }
    }

    fn keys_in(groups: &[Group]) -> f64 {
        groups.iter().map(|g| g.size * g.count).sum()
    }

    #[test]
    fn every_key_is_in_a_group() {
        let cases = [
            (vec![column(-1.0, &[], 0.0)], 300_000.0, 300_000.0),
            (vec![column(-0.5, &[], 0.0)], 400_000.0, 400_000.0),
            (
                vec![column(3.0, &[0.34, 0.33, 0.33], 0.0)],
                300_000.0,
                300_000.0,
            ),
            (vec![column(-0.75, &[], 0.25)], 300_000.0, 300_000.0),
            (
                vec![column(40_000.0, &[], 0.0), column(280.0, &[0.3, 0.2], 0.0)],
                400_000.0,
                400_000.0,
            ),
            (vec![column(-0.14, &[], 0.0)], 200_000.0, 400_000.0),
        ];
        for (keys, index, table) in cases {
            let found = keys_in(&groups(&keys, index, table));
            assert!(
                (found - index).abs() / index < 0.01,
                "{found} keys in groups, {index} in the index"
            );
        }
    }

    #[test]
    fn pairs_stay_pairs_and_nulls_are_one_value() {
        let pairs = groups(&[column(-0.5, &[], 0.0)], 400_000.0, 400_000.0);
        assert_eq!(
            pairs,
            vec![Group {
                size: 2.0,
                count: 200_000.0,
                nulls: 0
            }]
        );
        let with_nulls = groups(&[column(-0.75, &[], 0.25)], 400_000.0, 400_000.0);
        assert!(with_nulls.contains(&Group {
            size: 100_000.0,
            count: 1.0,
            nulls: 1
        }));
    }

    #[test]
    fn a_partial_index_holds_a_random_part_of_each_value() {
        // 7 rows per value in the table, half of them in the index: about 3.5 each,
        // and some values not at all.
        let found = groups(&[column(-1.0 / 7.0, &[], 0.0)], 200_000.0, 400_000.0);
        let values: f64 = found.iter().map(|g| g.count).sum();
        assert!(values < 57_143.0 && values > 50_000.0, "{values}");
        assert!(found.iter().any(|g| g.size == 1.0) && found.iter().any(|g| g.size == 6.0));
    }
}
