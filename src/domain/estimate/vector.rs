//! The size of a freshly built pgvector index (HNSW or IVFFlat) over a `vector` or
//! `halfvec` column, from the catalog alone: every entry holds the whole value, so
//! the column's dimensions (its typmod) and the index's options decide each tuple's
//! size, and the build's page layout (pgvector 0.8.2) decides how they pack. Neither
//! access method has a fill factor: a build fills its pages.
//!
//! HNSW (pgvector src/hnsw.h, src/hnswbuild.c `CreateGraphPages`): a metapage, then
//! for each element an element tuple (`HNSW_ELEMENT_TUPLE_SIZE`: a 72-byte header
//! holding ten heap TIDs and the neighbor TID, then the value) followed on the same
//! page by its neighbor tuple (`HNSW_NEIGHBOR_TUPLE_SIZE`: 4 bytes and 6 per slot,
//! `2 * m` slots at level 0 and `m` more per upper level); a page takes the pair only
//! while both fit with a line pointer to spare. Levels are drawn as
//! `floor(-ln(u) * ml)` with `ml = 1 / ln(m)` (`HnswGetMl`), capped by
//! `HnswGetMaxLevel`. A build that outgrows maintenance_work_mem inserts the rest
//! one by one (src/hnswinsert.c `AddElementOnDisk`), packing pages alike.
//!
//! IVFFlat (pgvector src/ivfflat.h, src/ivfbuild.c `CreateListPages`,
//! `InsertTuples`): a metapage, the list pages (one tuple per list: two block numbers
//! and the center), then each list's entries on pages of its own (each list starts a
//! page, even an empty one). An entry is a plain index tuple holding the value, whose
//! varlena header shrinks to one byte when it is short enough.

use super::{max_align, LINE_POINTER, PAGE_HEADER, TUPLE_HEADER};

/// Both access methods' special space (`HnswPageOpaqueData`,
/// `IvfflatPageOpaqueData`: a block number and two uint16), MAXALIGNed.
const SPECIAL: f64 = 8.0;
/// `offsetof(HnswElementTupleData, data)`: type, level, deleted, version, ten heap
/// TIDs (`HNSW_HEAPTIDS`), the neighbor TID and two unused bytes.
const HNSW_ELEMENT_HEADER: f64 = 72.0;
/// `offsetof(HnswNeighborTupleData, indextids)`, and one slot (an `ItemPointerData`).
const HNSW_NEIGHBOR_HEADER: f64 = 4.0;
const TID: f64 = 6.0;
/// `offsetof(IvfflatListData, center)`: the start and insert block numbers.
const IVFFLAT_LIST_HEADER: f64 = 8.0;
/// A `vector`'s or `halfvec`'s varlena: a 4-byte length, dimensions and an unused
/// int16 (`VECTOR_SIZE`, `HALFVEC_SIZE`).
const VALUE_HEADER: f64 = 8.0;
/// A varlena of at most this many bytes with a one-byte header (`VARATT_SHORT_MAX`).
const SHORT_VARLENA_MAX: f64 = 127.0;
/// The HNSW elements followed through the page packing; beyond, the result is scaled.
const PACKED_SAMPLE: usize = 20_000;
/// IVFFlat: how large lists spread around their mean after k-means (their standard
/// deviation over the mean), as measured on random data (BENCHMARKS.md).
const LIST_SPREAD: f64 = 0.15;
/// Lists of more entries than this are taken as spread over many pages.
const EXACT_MEAN: f64 = 5000.0;

/// The element type of a pgvector column this model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VectorType {
    /// `vector`: 4-byte floats.
    Vector,
    /// `halfvec`: 2-byte floats.
    Halfvec,
}

impl VectorType {
    /// `bit` and `sparsevec` are not sized here.
    pub(crate) fn from_type_name(name: &str) -> Option<VectorType> {
        match name {
            "vector" => Some(VectorType::Vector),
            "halfvec" => Some(VectorType::Halfvec),
            _ => None,
        }
    }

    /// Bytes of a value of these dimensions, with its 4-byte varlena header.
    fn value_size(self, dimensions: f64) -> f64 {
        let per_dimension = match self {
            VectorType::Vector => 4.0,
            VectorType::Halfvec => 2.0,
        };
        VALUE_HEADER + per_dimension * dimensions
    }
}

/// What a pgvector index holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VectorContents {
    pub(crate) block_size: f64,
    /// Entries (`reltuples` of the index: NULLs are not indexed).
    pub(crate) tuples: f64,
    pub(crate) element: VectorType,
    /// The column's dimensions (its typmod).
    pub(crate) dimensions: f64,
}

impl VectorContents {
    /// Bytes a page holds for tuples and their line pointers.
    fn page_space(&self) -> f64 {
        self.block_size - PAGE_HEADER - SPECIAL
    }
}

/// A fixed pseudo-random sequence in (0, 1) (xorshift), so every estimate is
/// reproducible.
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Bytes a freshly built HNSW index with `m` connections per layer takes.
pub(crate) fn fresh_hnsw_size(contents: &VectorContents, m: f64) -> u64 {
    let block = contents.block_size;
    let space = contents.page_space();
    // The largest pair kept on one page (`HNSW_MAX_SIZE`).
    let max_pair = space - LINE_POINTER;
    let element = max_align(HNSW_ELEMENT_HEADER + contents.element.value_size(contents.dimensions));
    let ml = 1.0 / m.ln();
    let max_level = (((max_pair - HNSW_NEIGHBOR_HEADER) / TID / m).floor() - 2.0).min(255.0);
    let neighbors = |level: f64| max_align(HNSW_NEIGHBOR_HEADER + (level + 2.0) * m * TID);
    // Free space as `PageGetFreeSpace` reports it: less one line pointer.
    let free = |left: f64| (left - LINE_POINTER).max(0.0);

    let tuples = contents.tuples.max(1.0);
    let sample = (tuples.round() as usize).clamp(1, PACKED_SAMPLE);
    let mut uniform = Uniform(0x9e37_79b9_7f4a_7c15);
    let mut pages = 1.0;
    let mut left = space;
    for _ in 0..sample {
        let level = (-uniform.next().ln() * ml).floor().min(max_level);
        let neighbor = neighbors(level);
        let pair = element + neighbor + LINE_POINTER;
        if free(left) < element || (pair <= max_pair && free(left) < pair) {
            pages += 1.0;
            left = space;
        }
        left -= element + LINE_POINTER;
        if free(left) < neighbor {
            pages += 1.0;
            left = space;
        }
        left -= neighbor + LINE_POINTER;
    }
    // The last page counts for the part of it the sample filled.
    let per_element = (pages - 1.0 + (space - left) / space) / sample as f64;
    let graph_pages = (per_element * tuples).ceil();
    ((1.0 + graph_pages) * block) as u64
}

/// Pages a list of `mean` entries takes on average, at `per_page` entries a page and
/// at least one page. List sizes vary as k-means leaves them: a negative binomial of
/// variance `mean + (LIST_SPREAD * mean)^2` (a Poisson count where lists are small,
/// a spread proportional to the size where they are large). Past `EXACT_MEAN` the
/// sizes spread over many pages, so the last page of a list is half full on average.
fn pages_per_list(mean: f64, per_page: f64) -> f64 {
    if mean <= 0.0 {
        return 1.0;
    }
    if mean > EXACT_MEAN {
        return mean / per_page + 0.5;
    }
    let r = 1.0 / (LIST_SPREAD * LIST_SPREAD);
    let last = (mean + 12.0 * (mean + mean * mean / r).sqrt() + 20.0).ceil() as u32;
    let mut probability = (r * (r / (r + mean)).ln()).exp();
    let (mut pages, mut total) = (0.0, 0.0);
    for size in 0..=last {
        let size = f64::from(size);
        pages += probability * (size / per_page).ceil().max(1.0);
        total += probability;
        probability *= (size + r) / (size + 1.0) * mean / (r + mean);
    }
    pages / total
}

/// Bytes a freshly built IVFFlat index with `lists` lists takes.
pub(crate) fn fresh_ivfflat_size(contents: &VectorContents, lists: f64) -> u64 {
    let space = contents.page_space();
    let value = contents.element.value_size(contents.dimensions);
    let list_tuple = max_align(IVFFLAT_LIST_HEADER + value) + LINE_POINTER;
    let lists_per_page = (space / list_tuple).floor().max(1.0);
    let list_pages = (lists / lists_per_page).ceil();

    // An entry's value loses three bytes of header when it fits a short varlena.
    let stored = if value - 3.0 <= SHORT_VARLENA_MAX {
        value - 3.0
    } else {
        value
    };
    let entry = max_align(TUPLE_HEADER + stored) + LINE_POINTER;
    let per_page = (space / entry).floor().max(1.0);
    // Each list fills whole pages of its own: its size, spread around the mean as
    // k-means leaves it, decides how much of its last page stays empty.
    let entry_pages = pages_per_list(contents.tuples.max(0.0) / lists, per_page) * lists;
    ((1.0 + list_pages + entry_pages.ceil()) * contents.block_size) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(element: VectorType, dimensions: f64, tuples: f64) -> VectorContents {
        VectorContents {
            block_size: 8192.0,
            tuples,
            element,
            dimensions,
        }
    }

    fn pages(bytes: u64) -> f64 {
        bytes as f64 / 8192.0
    }

    fn close(estimate: f64, built: f64, tolerance: f64) {
        let error = (estimate / built - 1.0).abs();
        assert!(
            error <= tolerance,
            "{estimate} pages estimated, {built} built"
        );
    }

    /// Pages of real builds (PostgreSQL 18, pgvector 0.8.2) over random values.
    #[test]
    fn hnsw_sizes_of_real_builds() {
        let vector3 = contents(VectorType::Vector, 3.0, 20_000.0);
        close(pages(fresh_hnsw_size(&vector3, 8.0)), 535.0, 0.01);
        close(pages(fresh_hnsw_size(&vector3, 16.0)), 779.0, 0.01);
        close(pages(fresh_hnsw_size(&vector3, 32.0)), 1260.0, 0.01);
        let halfvec3 = contents(VectorType::Halfvec, 3.0, 20_000.0);
        close(pages(fresh_hnsw_size(&halfvec3, 16.0)), 758.0, 0.01);
        let vector16 = contents(VectorType::Vector, 16.0, 20_000.0);
        close(pages(fresh_hnsw_size(&vector16, 16.0)), 903.0, 0.01);
        let halfvec128 = contents(VectorType::Halfvec, 128.0, 8_000.0);
        close(pages(fresh_hnsw_size(&halfvec128, 16.0)), 558.0, 0.01);
        // Two elements with their neighbors fill a page.
        let vector768 = contents(VectorType::Vector, 768.0, 3_000.0);
        assert_eq!(pages(fresh_hnsw_size(&vector768, 16.0)), 1501.0);
    }

    #[test]
    fn ivfflat_sizes_of_real_builds() {
        let vector3 = contents(VectorType::Vector, 3.0, 20_000.0);
        close(pages(fresh_ivfflat_size(&vector3, 10.0)), 94.0, 0.03);
        close(pages(fresh_ivfflat_size(&vector3, 100.0)), 123.0, 0.03);
        // Every list has a page of its own, however few its entries.
        close(pages(fresh_ivfflat_size(&vector3, 1000.0)), 1006.0, 0.01);
        let halfvec3 = contents(VectorType::Halfvec, 3.0, 20_000.0);
        close(pages(fresh_ivfflat_size(&halfvec3, 100.0)), 102.0, 0.03);
        let vector16 = contents(VectorType::Vector, 16.0, 20_000.0);
        close(pages(fresh_ivfflat_size(&vector16, 100.0)), 265.0, 0.03);
        let vector768 = contents(VectorType::Vector, 768.0, 3_000.0);
        close(pages(fresh_ivfflat_size(&vector768, 100.0)), 1572.0, 0.01);
    }

    #[test]
    fn only_vector_and_halfvec_are_sized() {
        assert_eq!(
            VectorType::from_type_name("vector"),
            Some(VectorType::Vector)
        );
        assert_eq!(
            VectorType::from_type_name("halfvec"),
            Some(VectorType::Halfvec)
        );
        assert_eq!(VectorType::from_type_name("bit"), None);
        assert_eq!(VectorType::from_type_name("sparsevec"), None);
    }

    #[test]
    fn lists_take_whole_pages() {
        // Never less than a page; a size spread over pages leaves half of the last.
        assert_eq!(pages_per_list(0.0, 10.0), 1.0);
        assert!((pages_per_list(2.0, 10.0) - 1.0).abs() < 1e-4);
        assert!((pages_per_list(9_000.0, 100.0) - 90.5).abs() < 1e-9);
        let exact = pages_per_list(4_000.0, 100.0);
        assert!((exact - 40.5).abs() < 0.1, "{exact}");
    }
}
