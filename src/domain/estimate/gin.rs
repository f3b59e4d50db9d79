//! The size of a freshly built GIN index over an array column whose every element
//! `pg_stats` knows (`most_common_elems` covering the elements per row that
//! `elem_count_histogram` counts): tags, categories, flags. Each element is a key; a
//! key's rows are its posting list, compressed as deltas of heap TIDs, inline in its
//! entry tuple when small, else a posting tree of its own pages. Where the statistics
//! do not know every element (tsvector, long-tailed arrays) there is no estimate: the
//! rare keys' count, which decides the entry tree's size, is unknown.

use super::{max_align, LINE_POINTER, PAGE_HEADER, TUPLE_HEADER};

/// The elements' frequencies must account for this share of the elements per row.
const COVERED: f64 = 0.95;
/// `GinMaxItemSize` on 8 kB pages: a larger posting list goes to a posting tree.
const MAX_ENTRY_TUPLE: f64 = 2712.0;
/// `GinPageOpaqueData` (entry pages), and a data page's right bound with it.
const ENTRY_SPECIAL: f64 = 8.0;
const DATA_SPECIAL: f64 = 16.0;
/// Posting list segments: a 6-byte first TID and a length, per about 256 bytes.
const SEGMENT_OVERHEAD: f64 = 1.03;
/// How full a build leaves posting tree pages, and entry pages (split in halves as
/// sorted keys arrive), as measured on PostgreSQL 15 (BENCHMARKS.md).
const DATA_FILL: f64 = 0.85;
const ENTRY_FILL: f64 = 0.5;
/// An item pointer's block number sits above 11 bits of offset in the compressed form.
const BLOCK_SHIFT: f64 = 2048.0;

/// What the statistics say of a GIN index's array column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GinContents {
    pub(crate) block_size: f64,
    pub(crate) table_tuples: f64,
    pub(crate) table_pages: f64,
    pub(crate) null_frac: f64,
    /// Distinct elements per row, on average (`elem_count_histogram`'s last value).
    pub(crate) elements_per_row: f64,
    /// Each most common element's share of the rows (`most_common_elem_freqs`,
    /// without its last three values).
    pub(crate) element_freqs: Vec<f64>,
    /// The key's stored width per element: the element type's length, or for text-like
    /// elements their payload and a one-byte header.
    pub(crate) key_widths: Vec<f64>,
}

/// Bytes of a varbyte-encoded delta.
fn varbyte(delta: f64) -> f64 {
    let bits = f64::from(64 - (delta.max(1.0) as u64).leading_zeros());
    (bits / 7.0).ceil()
}

/// Compressed bytes per TID of a key found every `gap` rows of a heap of
/// `rows_per_page`: offsets within a page, or whole pages apart.
fn bytes_per_tid(gap: f64, rows_per_page: f64) -> f64 {
    let same_page = (1.0 - gap / rows_per_page).max(0.0);
    same_page * varbyte(gap)
        + (1.0 - same_page) * varbyte((gap / rows_per_page).max(1.0) * BLOCK_SHIFT)
}

/// Bytes a freshly built GIN index with these contents takes; `None` when the
/// statistics do not know every element.
pub(crate) fn fresh_gin_size(contents: &GinContents) -> Option<u64> {
    let known: f64 = contents.element_freqs.iter().sum();
    if contents.elements_per_row <= 0.0
        || known < COVERED * contents.elements_per_row
        || contents.key_widths.len() != contents.element_freqs.len()
    {
        return None;
    }
    let rows = contents.table_tuples.max(1.0);
    let rows_per_page = rows / contents.table_pages.max(1.0);
    let non_null = rows * (1.0 - contents.null_frac.clamp(0.0, 1.0));
    let mut keys: Vec<(f64, f64)> = contents
        .element_freqs
        .iter()
        .zip(&contents.key_widths)
        .map(|(freq, width)| (freq * non_null, *width))
        .collect();
    // NULL rows are indexed under a placeholder key of their own.
    if contents.null_frac > 0.0 {
        keys.push((rows - non_null, 0.0));
    }
    let mut entry_bytes = 0.0;
    let mut data_pages = 0.0;
    let data_page = contents.block_size - PAGE_HEADER - DATA_SPECIAL;
    for (tids, width) in keys.into_iter().filter(|(tids, _)| *tids >= 1.0) {
        let posting = tids * bytes_per_tid(rows / tids, rows_per_page) * SEGMENT_OVERHEAD + 8.0;
        let inline = max_align(TUPLE_HEADER + width + posting);
        if inline <= MAX_ENTRY_TUPLE {
            entry_bytes += inline + LINE_POINTER;
        } else {
            entry_bytes += max_align(TUPLE_HEADER + width) + LINE_POINTER;
            data_pages += (posting / (data_page * DATA_FILL)).ceil();
        }
    }
    let entry_page = contents.block_size - PAGE_HEADER - ENTRY_SPECIAL;
    let entry_pages = (entry_bytes / (entry_page * ENTRY_FILL)).ceil().max(1.0);
    Some(((1.0 + entry_pages + data_pages) * contents.block_size) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ARRAY[g % 50, g % 77, g % 13] over 300,000 rows of 37 per page: 77 keys, each
    /// a posting tree; PostgreSQL 15 builds 268 pages.
    fn tags() -> GinContents {
        let freqs: Vec<f64> = (0..77)
            .map(|v| {
                let hits = |m: i32| if v < m { 1.0 / f64::from(m) } else { 0.0 };
                hits(50) + hits(77) + hits(13)
            })
            .collect();
        GinContents {
            block_size: 8192.0,
            table_tuples: 300_000.0,
            table_pages: 8108.0,
            null_frac: 0.0,
            elements_per_row: freqs.iter().sum(),
            key_widths: vec![4.0; freqs.len()],
            element_freqs: freqs,
        }
    }

    #[test]
    fn known_elements_give_a_size() {
        let pages = fresh_gin_size(&tags()).unwrap() as f64 / 8192.0;
        assert!((pages / 268.0 - 1.0).abs() < 0.1, "{pages} pages");
    }

    #[test]
    fn unknown_elements_give_none() {
        let mut long_tail = tags();
        long_tail.elements_per_row *= 2.0;
        assert_eq!(fresh_gin_size(&long_tail), None);
        assert_eq!(varbyte(127.0), 1.0);
        assert_eq!(varbyte(128.0), 2.0);
        assert_eq!(varbyte(2048.0 * 14.0), 3.0);
    }
}
