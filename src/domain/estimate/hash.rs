//! The size of a freshly built hash index: its entries are all alike (a hash code and
//! a heap TID), so the size follows from the number of buckets the build allocates
//! for the table's rows, and from the overflow pages of values too frequent for one
//! bucket page.

use super::groups::groups;
use super::{max_align, ColumnStats, LINE_POINTER, PAGE_HEADER, TUPLE_HEADER};

/// `HashPageOpaqueData`, at the end of every page.
const SPECIAL: f64 = 16.0;
/// Bucket counts double in one step up to 2^10 buckets, then in four.
const SINGLE_STEP_DOUBLINGS: u32 = 10;
const STEPS_PER_DOUBLING: f64 = 4.0;
const MAX_BUCKETS: f64 = (1u64 << 30) as f64;

/// What decides a hash index's size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HashShape {
    pub(crate) block_size: f64,
    /// Entries (a hash index holds no NULLs).
    pub(crate) index_tuples: f64,
    /// The table's rows: a build allocates buckets for them.
    pub(crate) table_tuples: f64,
    /// Percent (75 unless set).
    pub(crate) fillfactor: f64,
    pub(crate) key: ColumnStats,
}

/// The buckets a build allocates for `wanted`: a power of two, or past 1024 buckets
/// the next quarter step of the doubling.
fn allocated_buckets(wanted: f64) -> f64 {
    if wanted <= 2.0 {
        return 2.0;
    }
    if wanted >= MAX_BUCKETS {
        return MAX_BUCKETS;
    }
    let wanted = wanted.floor();
    let doublings = wanted.log2().ceil() as u32;
    if doublings < SINGLE_STEP_DOUBLINGS {
        return f64::from(1u32 << doublings);
    }
    let below = f64::from(1u32 << (doublings - 1));
    let step = below / STEPS_PER_DOUBLING;
    below + ((wanted - below) / step).ceil() * step
}

/// Bytes a freshly built hash index of this shape takes.
pub(crate) fn fresh_hash_size(shape: &HashShape) -> u64 {
    let block = shape.block_size;
    let entry = max_align(TUPLE_HEADER + 4.0) + LINE_POINTER;
    let target = (block * shape.fillfactor / 100.0).floor();
    let per_bucket = (target / entry).floor().max(10.0);
    let buckets = allocated_buckets(shape.table_tuples.max(shape.index_tuples) / per_bucket);
    let per_page = ((block - PAGE_HEADER - SPECIAL) / entry).floor();

    // Equal keys share a bucket: a value with more entries than half a page has its
    // bucket to itself and chains overflow pages; the others spread over the buckets.
    let non_null = (1.0 - shape.key.null_frac()).max(1e-9);
    let mut overflow = 0.0;
    let mut spread = 0.0;
    for group in groups(
        std::slice::from_ref(&shape.key),
        shape.index_tuples / non_null,
        shape.table_tuples,
    ) {
        if group.nulls != 0 {
            continue;
        }
        if group.size > per_page / 2.0 {
            overflow += group.count * ((group.size / per_page).ceil() - 1.0);
        } else {
            spread += group.size * group.count;
        }
    }
    let load = spread / buckets;
    if load > per_page {
        overflow += buckets * ((load / per_page).ceil() - 1.0);
    }
    let bitmap_pages = 1.0 + (overflow / ((block - PAGE_HEADER - SPECIAL) * 8.0)).floor();
    let pages = 1.0 + buckets + bitmap_pages + overflow;
    (pages * block) as u64
}

#[cfg(test)]
mod tests {
    use super::super::Alignment;
    use super::*;

    fn shape(n_distinct: f64, mcv: &[f64], tuples: f64) -> HashShape {
        HashShape {
            block_size: 8192.0,
            index_tuples: tuples,
            table_tuples: tuples,
            fillfactor: 75.0,
            key: ColumnStats {
                null_frac: Some(0.0),
                n_distinct: Some(n_distinct),
                mcv_freqs: mcv.to_vec(),
                ..ColumnStats::fixed(4, Alignment::Int)
            },
        }
    }

    #[test]
    fn buckets_grow_in_quarter_steps_past_a_thousand() {
        assert_eq!(allocated_buckets(1.5), 2.0);
        assert_eq!(allocated_buckets(300.0), 512.0);
        assert_eq!(allocated_buckets(977.0), 1024.0);
        assert_eq!(allocated_buckets(1025.0), 1280.0);
        assert_eq!(allocated_buckets(1600.0), 1792.0);
    }

    #[test]
    fn sizes_of_real_builds() {
        // PostgreSQL 15, 300,000 rows: unique keys 1026 pages; 100 values 1726.
        assert_eq!(fresh_hash_size(&shape(-1.0, &[], 300_000.0)) / 8192, 1026);
        assert_eq!(
            fresh_hash_size(&shape(100.0, &[0.01; 100], 300_000.0)) / 8192,
            1726
        );
    }
}
