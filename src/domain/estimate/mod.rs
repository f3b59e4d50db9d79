//! What a fresh build of an index would take, without a history: for btree and hash
//! from the catalog and `pg_stats` (widths, null fractions, distinct values, the most
//! common values), for pgvector's HNSW and IVFFlat over `vector` and `halfvec` from
//! the catalog alone (dimensions, options, tuples), for GiST from what `pgstattuple`
//! counts in the index. The size a
//! build would leave, divided by the tuples, is the baseline an index gets when it is
//! first seen under `initial_baseline = estimate`.
//!
//! The page arithmetic follows PostgreSQL's storage layout (page header, line
//! pointers, MAXALIGN, fill factors, posting lists); `BENCHMARKS.md` measures the
//! estimates against real rebuilds.

mod btree;
mod describe;
mod gin;
mod gist;
mod groups;
mod hash;
mod vector;

// The models; the rest of index-pilot reaches them through an `IndexDescription`.
use btree::{fresh_btree_size, BtreeShape};
pub(crate) use describe::{DescribedColumn, IndexDescription, Needs};
use gin::{fresh_gin_size, GinContents};
use gist::{fresh_gist_size, GistContents};
use hash::{fresh_hash_size, HashShape};
use vector::{fresh_hnsw_size, fresh_ivfflat_size, VectorContents, VectorType};

use serde::Serialize;

/// Bytes every page starts with (`PageHeaderData`).
const PAGE_HEADER: f64 = 24.0;
/// One line pointer (`ItemIdData`).
const LINE_POINTER: f64 = 4.0;
/// An index tuple's header (`IndexTupleData`).
const TUPLE_HEADER: f64 = 8.0;
/// The header with a null bitmap, as the data starts after it (MAXALIGN(8 + 4)).
const TUPLE_HEADER_WITH_NULLS: f64 = 16.0;

/// Rounds up to PostgreSQL's MAXALIGN (8 bytes on every 64-bit server).
fn max_align(bytes: f64) -> f64 {
    (bytes / 8.0).ceil() * 8.0
}

/// How a column's values are aligned (`pg_attribute.attalign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alignment {
    Char,
    Short,
    Int,
    Double,
}

impl Alignment {
    pub(crate) fn from_attalign(code: &str) -> Alignment {
        match code {
            "s" => Alignment::Short,
            "i" => Alignment::Int,
            "d" => Alignment::Double,
            _ => Alignment::Char,
        }
    }

    fn bytes(self) -> f64 {
        match self {
            Alignment::Char => 1.0,
            Alignment::Short => 2.0,
            Alignment::Int => 4.0,
            Alignment::Double => 8.0,
        }
    }

    fn align(self, offset: f64) -> f64 {
        (offset / self.bytes()).ceil() * self.bytes()
    }
}

/// One column of an index, with what ANALYZE knows of its values. For an expression
/// the statistics are the index's own (ANALYZE computes them for expression columns).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnStats {
    /// `attlen`: the fixed width, -1 for varlena, -2 for a C string.
    pub(crate) attlen: i16,
    pub(crate) alignment: Alignment,
    /// An expression: its `avg_width` counts an in-memory (4-byte) varlena header.
    pub(crate) expression: bool,
    /// `None`: no statistics (never analyzed, or not visible to this role).
    pub(crate) null_frac: Option<f64>,
    pub(crate) avg_width: Option<f64>,
    /// `n_distinct`: negative values are a fraction of the table's rows.
    pub(crate) n_distinct: Option<f64>,
    /// The most common values' frequencies.
    pub(crate) mcv_freqs: Vec<f64>,
    /// Payload bytes of the most common values, for types whose stored width follows
    /// from them (text-like, numeric); parallel to `mcv_freqs`, or empty.
    pub(crate) mcv_payloads: Vec<f64>,
    /// Payload bytes of the histogram's values (same types), or empty.
    pub(crate) histogram_payloads: Vec<f64>,
    /// An array: its most common elements' frequencies and payload bytes
    /// (`most_common_elems`), and its distinct elements per row.
    pub(crate) element_freqs: Vec<f64>,
    pub(crate) element_payloads: Vec<f64>,
    pub(crate) elements_per_row: Option<f64>,
}

impl ColumnStats {
    /// A fixed-width column without statistics: enough to size an index of unique
    /// values (the estimators' tests start from it).
    #[cfg(test)]
    pub(crate) fn fixed(attlen: i16, alignment: Alignment) -> ColumnStats {
        ColumnStats {
            attlen,
            alignment,
            expression: false,
            null_frac: None,
            avg_width: None,
            n_distinct: None,
            mcv_freqs: Vec::new(),
            mcv_payloads: Vec::new(),
            histogram_payloads: Vec::new(),
            element_freqs: Vec::new(),
            element_payloads: Vec::new(),
            elements_per_row: None,
        }
    }

    fn null_frac(&self) -> f64 {
        self.null_frac.unwrap_or(0.0).clamp(0.0, 1.0)
    }

    /// The bytes a stored value takes: a varlena of up to 126 payload bytes has a
    /// one-byte header in an index tuple, a longer one four; a C string ends in NUL.
    fn stored(&self, payload: f64) -> f64 {
        match self.attlen {
            -2 => payload + 1.0,
            _ if payload + 1.0 <= 127.0 => payload + 1.0,
            _ => payload + 4.0,
        }
    }

    /// The widths its values take in an index tuple, with their weights.
    fn widths(&self) -> Result<Vec<(f64, f64)>, Unestimable> {
        if self.attlen > 0 {
            return Ok(vec![(1.0, f64::from(self.attlen))]);
        }
        if !self.histogram_payloads.is_empty() || !self.mcv_payloads.is_empty() {
            let mut widths: Vec<(f64, f64)> = Vec::new();
            let mut common = 0.0;
            for (freq, payload) in self.mcv_freqs.iter().zip(&self.mcv_payloads) {
                widths.push((*freq, self.stored(*payload)));
                common += freq;
            }
            let rest = (1.0 - common - self.null_frac()).max(0.0);
            let count = self.histogram_payloads.len() as f64;
            for payload in &self.histogram_payloads {
                widths.push((rest / count, self.stored(*payload)));
            }
            let total: f64 = widths.iter().map(|(weight, _)| weight).sum();
            if total > 0.0 {
                return Ok(widths.into_iter().map(|(w, b)| (w / total, b)).collect());
            }
        }
        match self.avg_width {
            // An expression's values are measured before they are packed: four header
            // bytes where the index stores one.
            Some(width) if self.expression && self.attlen == -1 && width - 4.0 < 127.0 => {
                Ok(vec![(1.0, (width - 3.0).max(1.0))])
            }
            Some(width) => Ok(vec![(1.0, width.max(1.0))]),
            None => Err(Unestimable::NoColumnStatistics),
        }
    }

    fn is_short_varlena(&self, width: f64) -> bool {
        self.attlen == -2 || (self.attlen == -1 && width <= 127.0)
    }
}

/// Why no estimate can be made: the index keeps its current size as its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unestimable {
    /// A variable-width column has no statistics (not analyzed, or not readable).
    NoColumnStatistics,
    /// An access method without a model here (SP-GiST, most extensions; HNSW and
    /// IVFFlat over `bit` or `sparsevec`).
    NoModel,
    /// GiST: `pgstattuple` is not installed or not granted.
    NoPgstattuple,
    /// GIN: the statistics do not know every element (a tsvector, a long tail).
    UnknownElements,
}

impl Unestimable {
    pub(crate) fn explain(self, access_method: &str) -> String {
        match self {
            Unestimable::NoColumnStatistics => {
                "a column has no statistics (run ANALYZE, or grant SELECT for pg_stats)".into()
            }
            Unestimable::NoModel => format!("no estimate for {access_method} indexes"),
            Unestimable::NoPgstattuple => {
                "pgstattuple is not installed or not granted (CREATE EXTENSION pgstattuple; GRANT pg_stat_scan_tables)".into()
            }
            Unestimable::UnknownElements => {
                "pg_stats does not know every element it indexes (most_common_elems), so its keys are unknown".into()
            }
        }
    }
}

/// The data bytes of a tuple with these column widths (`None`: a null), each column
/// aligned as PostgreSQL lays it out.
fn data_width(columns: &[ColumnStats], widths: &[Option<f64>]) -> f64 {
    let mut offset = 0.0;
    for (column, width) in columns.iter().zip(widths) {
        let Some(width) = *width else { continue };
        if !column.is_short_varlena(width) {
            offset = column.alignment.align(offset);
        }
        offset += width;
    }
    offset
}

/// The expected size of a tuple (header, data, MAXALIGN) whose columns in `nulls`
/// (a bit per column) are null. The widths of one variable-width column are followed
/// value by value, since MAXALIGN rounds each tuple; the others count their mean.
fn expected_tuple(columns: &[ColumnStats], nulls: u64) -> Result<f64, Unestimable> {
    let header = if nulls == 0 {
        TUPLE_HEADER
    } else {
        TUPLE_HEADER_WITH_NULLS
    };
    let mut spreads = Vec::with_capacity(columns.len());
    for (position, column) in columns.iter().enumerate() {
        if nulls & (1 << position) != 0 {
            spreads.push(None);
        } else {
            spreads.push(Some(column.widths()?));
        }
    }
    let means: Vec<Option<f64>> = spreads
        .iter()
        .map(|spread| {
            spread
                .as_ref()
                .map(|widths| widths.iter().map(|(weight, width)| weight * width).sum())
        })
        .collect();
    let varying = spreads
        .iter()
        .position(|spread| spread.as_ref().is_some_and(|widths| widths.len() > 1));
    let Some(varying) = varying else {
        return Ok(max_align(header + data_width(columns, &means)));
    };
    let mut expected = 0.0;
    let mut widths = means.clone();
    for (weight, width) in spreads[varying].iter().flatten() {
        widths[varying] = Some(*width);
        expected += weight * max_align(header + data_width(columns, &widths).round());
    }
    Ok(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn text(avg: f64, payloads: &[f64]) -> ColumnStats {
        ColumnStats {
            attlen: -1,
            null_frac: Some(0.0),
            avg_width: Some(avg),
            n_distinct: Some(-1.0),
            histogram_payloads: payloads.to_vec(),
            ..ColumnStats::fixed(-1, Alignment::Int)
        }
    }

    #[test]
    fn tuples_are_laid_out_as_postgres_does() {
        let int4 = ColumnStats::fixed(4, Alignment::Int);
        let int8 = ColumnStats::fixed(8, Alignment::Double);
        assert_eq!(expected_tuple(std::slice::from_ref(&int4), 0), Ok(16.0));
        // int4 then int8: the int8 is aligned to 8 after the int4.
        assert_eq!(expected_tuple(&[int4.clone(), int8.clone()], 0), Ok(24.0));
        // A null: the bitmap makes the header 16 bytes, the null takes nothing.
        assert_eq!(expected_tuple(&[int4.clone(), int8], 0b10), Ok(24.0));
        assert_eq!(expected_tuple(&[int4], 0b1), Ok(16.0));
        // md5 text: 32 bytes and a one-byte header, 41 → 48.
        assert_eq!(expected_tuple(&[text(33.0, &[32.0, 32.0])], 0), Ok(48.0));
        // Widths 7 and 9 bytes round to 16 and 24: their mean (8) would say 16.
        assert_eq!(expected_tuple(&[text(8.0, &[6.0, 8.0])], 0), Ok(20.0));
        // An expression's average counts a four-byte header.
        let expression = ColumnStats {
            expression: true,
            histogram_payloads: Vec::new(),
            ..text(36.0, &[])
        };
        assert_eq!(expected_tuple(&[expression], 0), Ok(48.0));
        let unknown = ColumnStats {
            avg_width: None,
            ..text(0.0, &[])
        };
        assert_eq!(
            expected_tuple(&[unknown], 0),
            Err(Unestimable::NoColumnStatistics)
        );
    }
}
