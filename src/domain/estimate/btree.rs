//! The size of a freshly built btree: its leaf tuples (posting lists where keys repeat
//! and deduplication applies), packed page by page as the build packs them (up to the
//! fill factor, the last tuple moving on as the next page's first), then the upper
//! levels at 70 % and the metapage.

use super::groups::{groups, Group};
use super::{expected_tuple, max_align, ColumnStats, Unestimable, LINE_POINTER, PAGE_HEADER};

/// `BTPageOpaqueData`, at the end of every page.
const SPECIAL: f64 = 16.0;
/// A heap TID (`ItemPointerData`), as a posting list stores it.
const TID: f64 = 6.0;
/// Upper pages are built to 70 % (`BTREE_NONLEAF_FILLFACTOR`).
const UPPER_FILL_PERCENT: f64 = 70.0;
/// The page packing is followed over at most this many tuples, then scaled.
const PACKED_SAMPLE: usize = 20_000;

/// What decides a btree's size, from the catalog.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BtreeShape {
    pub(crate) block_size: f64,
    /// `reltuples` of the index (a partial index holds fewer than its table).
    pub(crate) index_tuples: f64,
    pub(crate) table_tuples: f64,
    /// Leaf fill factor, percent (90 unless set).
    pub(crate) fillfactor: f64,
    /// A build deduplicates: PostgreSQL 13+, not unique, no INCLUDE columns, every key
    /// type can (`equalimage`), and `deduplicate_items` is not off.
    pub(crate) deduplicate: bool,
    /// `indnkeyatts`: the key columns; `columns` holds them first, then INCLUDE ones.
    pub(crate) key_columns: usize,
    pub(crate) columns: Vec<ColumnStats>,
}

/// One kind of leaf tuple: its size with its line pointer, how many, and what suffix
/// truncation would cut from it as a high key (its posting list).
#[derive(Debug, Clone, Copy)]
struct Tuples {
    size: f64,
    count: f64,
    posting: f64,
}

/// Bytes a freshly built btree of this shape takes.
pub(crate) fn fresh_btree_size(shape: &BtreeShape) -> Result<u64, Unestimable> {
    let block = shape.block_size;
    let index_tuples = shape.index_tuples.max(1.0);
    let keys = &shape.columns[..shape.key_columns.min(shape.columns.len())];
    let key_groups = groups(keys, index_tuples, shape.table_tuples);
    let tuples = leaf_tuples(shape, keys, &key_groups)?;
    let start = block - PAGE_HEADER - SPECIAL - 2.0 * LINE_POINTER;
    let leaf_fill = (block * (100.0 - shape.fillfactor) / 100.0).floor();
    let total: f64 = tuples.iter().map(|t| t.count).sum();
    let leaf_pages = (pages_per_tuple(&tuples, start, leaf_fill) * total).ceil();

    // A page boundary inside a run of equal keys keeps a heap TID in the high key.
    let duplicated: f64 = key_groups
        .iter()
        .filter(|g| g.size >= 2.0)
        .map(|g| g.size * g.count)
        .sum();
    let pivot = expected_tuple(keys, 0)?
        + if duplicated > index_tuples / 2.0 {
            max_align(TID)
        } else {
            0.0
        }
        + LINE_POINTER;
    let upper_fill = (block * (100.0 - UPPER_FILL_PERCENT) / 100.0).floor();
    let fanout = ((start - upper_fill) / pivot).floor().max(2.0);
    let mut level = leaf_pages;
    let mut upper_pages = 0.0;
    while level > 1.0 {
        level = (level / fanout).ceil();
        upper_pages += level;
    }
    let pages = 1.0 + leaf_pages.max(1.0) + upper_pages;
    Ok((pages * block) as u64)
}

/// The leaf tuples: plain ones, and posting lists of up to what fits in a tenth of a
/// page (what the build allows one posting tuple).
fn leaf_tuples(
    shape: &BtreeShape,
    keys: &[ColumnStats],
    key_groups: &[Group],
) -> Result<Vec<Tuples>, Unestimable> {
    let max_posting = (shape.block_size * 0.1 / 8.0).floor() * 8.0 - LINE_POINTER;
    let mut sizes: Vec<(u64, f64, f64)> = Vec::new();
    let mut tuples = Vec::new();
    for group in key_groups {
        let (plain, key) = match sizes.iter().find(|(nulls, ..)| *nulls == group.nulls) {
            Some(&(_, plain, key)) => (plain, key),
            None => {
                let plain = expected_tuple(&shape.columns, group.nulls)?;
                let key = expected_tuple(keys, group.nulls)?;
                sizes.push((group.nulls, plain, key));
                (plain, key)
            }
        };
        let plain_tuple = Tuples {
            size: plain + LINE_POINTER,
            count: 0.0,
            posting: 0.0,
        };
        if !shape.deduplicate || group.size < 2.0 {
            tuples.push(Tuples {
                count: group.size * group.count,
                ..plain_tuple
            });
            continue;
        }
        let per_posting = ((max_posting - key) / TID).floor().max(1.0);
        let posting = |tids: f64, count: f64| Tuples {
            size: max_align(key + TID * tids) + LINE_POINTER,
            count,
            posting: max_align(key + TID * tids) - key,
        };
        let full = (group.size / per_posting).floor();
        let rest = group.size - full * per_posting;
        if full > 0.0 {
            tuples.push(posting(per_posting, full * group.count));
        }
        if rest >= 2.0 {
            tuples.push(posting(rest, group.count));
        } else if rest >= 1.0 {
            tuples.push(Tuples {
                count: group.count,
                ..plain_tuple
            });
        }
    }
    Ok(tuples)
}

/// Leaf pages per tuple, packing a sample of the tuples in a fixed pseudo-random
/// order. A tuple does not go on a page whose free space is below the fill factor's
/// reserve (counting what truncating the last tuple into a high key gives back), nor
/// where it does not fit with room for a heap TID; then the page's last tuple moves to
/// the next page, its copy becoming the high key.
fn pages_per_tuple(tuples: &[Tuples], start: f64, reserve: f64) -> f64 {
    let total: f64 = tuples.iter().map(|t| t.count).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let sample_len = (total.round() as usize).clamp(1, PACKED_SAMPLE);
    let mut sample: Vec<Tuples> = Vec::with_capacity(sample_len);
    let mut owed = 0.0;
    for kind in tuples {
        owed += kind.count / total * sample_len as f64;
        while (sample.len() as f64) < owed.round() {
            sample.push(*kind);
        }
    }
    if sample.is_empty() {
        return 0.0;
    }
    shuffle(&mut sample);
    let mut pages = 1.0;
    let mut free = start;
    let mut on_page = 0usize;
    let mut last: Option<Tuples> = None;
    for tuple in &sample {
        if let Some(previous) = last {
            let no_room = free < tuple.size - LINE_POINTER + max_align(TID);
            let past_fill = on_page >= 2 && free + previous.posting < reserve;
            if no_room || past_fill {
                pages += 1.0;
                free = start - previous.size;
                on_page = 1;
            }
        }
        free -= tuple.size;
        on_page += 1;
        last = Some(*tuple);
    }
    // The last page counts for the part of it the sample filled.
    let last_share = ((start - free) / (start - reserve)).min(1.0);
    (pages - 1.0 + last_share) / sample.len() as f64
}

/// A fixed pseudo-random order (xorshift), so every estimate is reproducible.
fn shuffle(items: &mut [Tuples]) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::text;
    use super::super::Alignment;
    use super::*;

    fn int4(n_distinct: f64, mcv: &[f64], null_frac: f64) -> ColumnStats {
        ColumnStats {
            null_frac: Some(null_frac),
            n_distinct: Some(n_distinct),
            mcv_freqs: mcv.to_vec(),
            ..ColumnStats::fixed(4, Alignment::Int)
        }
    }

    fn shape(columns: Vec<ColumnStats>, tuples: f64) -> BtreeShape {
        BtreeShape {
            block_size: 8192.0,
            index_tuples: tuples,
            table_tuples: tuples,
            fillfactor: 90.0,
            deduplicate: true,
            key_columns: columns.len(),
            columns,
        }
    }

    /// Pages of real PostgreSQL 15 builds, of 300,000 or 400,000 rows.
    fn pages(shape: &BtreeShape) -> f64 {
        fresh_btree_size(shape).unwrap() as f64 / 8192.0
    }

    fn close(estimate: f64, actual: f64, tolerance: f64) {
        let error = (estimate / actual - 1.0).abs();
        assert!(
            error <= tolerance,
            "{estimate} pages estimated, {actual} built"
        );
    }

    #[test]
    fn unique_integers_fill_pages_to_ninety_percent() {
        // CREATE INDEX ON t (id): 825 pages, 366 tuples per leaf page.
        assert_eq!(pages(&shape(vec![int4(-1.0, &[], 0.0)], 300_000.0)), 825.0);
        let mut sparse = shape(vec![int4(-1.0, &[], 0.0)], 300_000.0);
        sparse.fillfactor = 70.0;
        close(pages(&sparse), 1063.0, 0.01);
    }

    #[test]
    fn repeated_keys_become_posting_lists() {
        // g % 3 and g % 100: 257 and 260 pages; g / 2 (pairs): 992; g / 10: 464.
        close(
            pages(&shape(vec![int4(3.0, &[0.34, 0.33, 0.33], 0.0)], 300_000.0)),
            257.0,
            0.02,
        );
        close(
            pages(&shape(vec![int4(100.0, &[0.01; 100], 0.0)], 300_000.0)),
            260.0,
            0.03,
        );
        close(
            pages(&shape(vec![int4(-0.5, &[], 0.0)], 400_000.0)),
            992.0,
            0.02,
        );
        close(
            pages(&shape(vec![int4(-0.1, &[], 0.0)], 400_000.0)),
            464.0,
            0.02,
        );
        // The same pairs without deduplication take a tuple each.
        let mut unique = shape(vec![int4(-0.5, &[], 0.0)], 400_000.0);
        unique.deduplicate = false;
        close(pages(&unique), 1100.0, 0.01);
    }

    #[test]
    fn nulls_are_deduplicated_as_one_value() {
        // A quarter NULL: 683 pages.
        close(
            pages(&shape(vec![int4(-0.75, &[], 0.25)], 300_000.0)),
            683.0,
            0.04,
        );
    }

    #[test]
    fn text_widths_follow_the_histogram() {
        // md5 text: 2165 pages.
        let md5 = text(33.0, &[32.0; 101]);
        close(pages(&shape(vec![md5], 300_000.0)), 2165.0, 0.01);
    }
}
