//! The size of a freshly built GiST, from what `pgstattuple` counts in the index now:
//! the live tuples' bytes, at the fill a build leaves. A sorted build (PostgreSQL 14+,
//! every column's operator class with sort support) packs its pages fuller than one
//! that inserts tuple by tuple and splits pages as they fill.

use super::LINE_POINTER;

/// Live bytes over the whole index right after a build, as measured on PostgreSQL 15
/// (`BENCHMARKS.md`): points sorted 0.66; boxes, ranges, circles inserted 0.44–0.59.
const SORTED_BUILD_FILL: f64 = 0.66;
const INSERTED_BUILD_FILL: f64 = 0.5;

/// What `pgstattuple` found in a GiST index, and how it would be built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GistContents {
    pub(crate) block_size: f64,
    pub(crate) tuple_count: f64,
    /// Bytes of the live tuples (without line pointers).
    pub(crate) tuple_len: f64,
    pub(crate) sorted_build: bool,
}

/// Bytes a freshly built GiST holding these tuples takes.
pub(crate) fn fresh_gist_size(contents: &GistContents) -> u64 {
    let fill = if contents.sorted_build {
        SORTED_BUILD_FILL
    } else {
        INSERTED_BUILD_FILL
    };
    let live = contents.tuple_len + LINE_POINTER * contents.tuple_count;
    let pages = (live / (fill * contents.block_size)).ceil().max(1.0);
    (pages * contents.block_size) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_sizes_follow_the_build() {
        // 300,000 points, sorted: 2434 pages built.
        let points = GistContents {
            block_size: 8192.0,
            tuple_count: 300_000.0,
            tuple_len: 12_000_000.0,
            sorted_build: true,
        };
        let pages = fresh_gist_size(&points) as f64 / 8192.0;
        assert!((pages / 2434.0 - 1.0).abs() < 0.02, "{pages}");
        let inserted = GistContents {
            sorted_build: false,
            ..points
        };
        assert!(fresh_gist_size(&inserted) > fresh_gist_size(&points));
    }
}
