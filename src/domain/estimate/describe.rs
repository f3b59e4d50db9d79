//! An index as the estimate reads it from the catalog, and which model sizes it.

use super::{
    fresh_btree_size, fresh_gin_size, fresh_gist_size, fresh_hash_size, fresh_hnsw_size,
    fresh_ivfflat_size, BtreeShape, ColumnStats, GinContents, GistContents, HashShape, Unestimable,
    VectorContents, VectorType,
};
use crate::domain::eligibility::ServerVersion;

/// One column of an index, with what its operator class can do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DescribedColumn {
    pub(crate) stats: ColumnStats,
    /// btree: equal keys are identical (`equalimage`), so a build may deduplicate them.
    pub(crate) equal_image: bool,
    /// GiST: the operator class sorts (a sorted build).
    pub(crate) sort_support: bool,
    /// The column's type (`pg_type.typname`) and typmod: pgvector's `vector` and
    /// `halfvec` keep their dimensions there.
    pub(crate) type_name: String,
    pub(crate) typmod: i32,
}

/// What the catalog says of an index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexDescription {
    pub(crate) oid: u32,
    pub(crate) access_method: String,
    pub(crate) block_size: f64,
    pub(crate) index_tuples: f64,
    pub(crate) table_tuples: f64,
    pub(crate) table_pages: f64,
    pub(crate) unique: bool,
    pub(crate) key_columns: usize,
    /// Storage parameters as set (`fillfactor`, `deduplicate_items`, `buffering`).
    pub(crate) fillfactor: Option<String>,
    pub(crate) deduplicate_items: Option<String>,
    pub(crate) buffering: Option<String>,
    /// pgvector's options as set: HNSW's `m`, IVFFlat's `lists`.
    pub(crate) hnsw_m: Option<String>,
    pub(crate) ivfflat_lists: Option<String>,
    pub(crate) columns: Vec<DescribedColumn>,
}

/// What an estimate needs beyond the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing: btree, hash, GIN and pgvector's indexes are sized from the catalog.
    Catalog,
    /// GiST: the count of its tuples (pgstattuple).
    TupleCount,
    /// No model for this access method.
    Nothing,
}

/// pgvector's defaults (src/hnsw.h `HNSW_DEFAULT_M`, src/ivfflat.h
/// `IVFFLAT_DEFAULT_LISTS`).
const HNSW_DEFAULT_M: f64 = 16.0;
const IVFFLAT_DEFAULT_LISTS: f64 = 100.0;

/// An integer option as set, or its default.
fn option(value: Option<&str>, default: f64) -> f64 {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| *v >= 1.0)
        .unwrap_or(default)
}

fn is_off(option: Option<&str>) -> bool {
    matches!(
        option.map(|o| o.trim().to_ascii_lowercase()).as_deref(),
        Some("off" | "false" | "no" | "0")
    )
}

impl IndexDescription {
    pub(crate) fn needs(&self) -> Needs {
        match self.access_method.as_str() {
            "btree" | "hash" | "gin" | "hnsw" | "ivfflat" => Needs::Catalog,
            "gist" => Needs::TupleCount,
            _ => Needs::Nothing,
        }
    }

    fn fillfactor(&self, default: f64) -> f64 {
        self.fillfactor
            .as_deref()
            .and_then(|f| f.trim().parse::<f64>().ok())
            .filter(|f| (10.0..=100.0).contains(f))
            .unwrap_or(default)
    }

    fn stats(&self) -> Vec<ColumnStats> {
        self.columns.iter().map(|c| c.stats.clone()).collect()
    }

    /// A fresh build's size from the catalog (btree, hash, GIN over an array, HNSW and
    /// IVFFlat over `vector` or `halfvec`).
    pub(crate) fn fresh_size(&self, server: ServerVersion) -> Result<u64, Unestimable> {
        match self.access_method.as_str() {
            "btree" => {
                let keys = self.key_columns.min(self.columns.len());
                let deduplicate = server.0 >= 130_000
                    && !self.unique
                    && keys == self.columns.len()
                    && self.columns.iter().all(|c| c.equal_image)
                    && !is_off(self.deduplicate_items.as_deref());
                fresh_btree_size(&BtreeShape {
                    block_size: self.block_size,
                    index_tuples: self.index_tuples,
                    table_tuples: self.table_tuples,
                    fillfactor: self.fillfactor(90.0),
                    deduplicate,
                    key_columns: keys,
                    columns: self.stats(),
                })
            }
            "hash" => {
                let key = self.columns.first().ok_or(Unestimable::NoModel)?;
                Ok(fresh_hash_size(&HashShape {
                    block_size: self.block_size,
                    index_tuples: self.index_tuples,
                    table_tuples: self.table_tuples,
                    fillfactor: self.fillfactor(75.0),
                    key: key.stats.clone(),
                }))
            }
            "gin" => self.fresh_gin_size(),
            "hnsw" => {
                let m = option(self.hnsw_m.as_deref(), HNSW_DEFAULT_M);
                Ok(fresh_hnsw_size(&self.vector_contents()?, m))
            }
            "ivfflat" => {
                let lists = option(self.ivfflat_lists.as_deref(), IVFFLAT_DEFAULT_LISTS);
                Ok(fresh_ivfflat_size(&self.vector_contents()?, lists))
            }
            _ => Err(Unestimable::NoModel),
        }
    }

    /// A pgvector index over one `vector` or `halfvec` column with its dimensions;
    /// over `bit` or `sparsevec` (whose values' sizes the catalog does not give)
    /// there is no estimate.
    fn vector_contents(&self) -> Result<VectorContents, Unestimable> {
        let [column] = self.columns.as_slice() else {
            return Err(Unestimable::NoModel);
        };
        let element = VectorType::from_type_name(&column.type_name).ok_or(Unestimable::NoModel)?;
        if column.typmod <= 0 {
            return Err(Unestimable::NoModel);
        }
        Ok(VectorContents {
            block_size: self.block_size,
            tuples: self.index_tuples,
            element,
            dimensions: f64::from(column.typmod),
        })
    }

    fn fresh_gin_size(&self) -> Result<u64, Unestimable> {
        let [column] = self.columns.as_slice() else {
            return Err(Unestimable::NoModel);
        };
        let stats = &column.stats;
        let key_widths: Vec<f64> = if stats.attlen > 0 {
            vec![f64::from(stats.attlen); stats.element_freqs.len()]
        } else {
            stats
                .element_payloads
                .iter()
                .map(|p| stats.stored(*p))
                .collect()
        };
        fresh_gin_size(&GinContents {
            block_size: self.block_size,
            table_tuples: self.table_tuples,
            table_pages: self.table_pages,
            null_frac: stats.null_frac(),
            elements_per_row: stats.elements_per_row.unwrap_or(0.0),
            element_freqs: stats.element_freqs.clone(),
            key_widths,
        })
        .ok_or(Unestimable::UnknownElements)
    }

    /// A fresh GiST's size from the tuples pgstattuple counted in it.
    pub(crate) fn fresh_gist_size(
        &self,
        server: ServerVersion,
        tuple_count: f64,
        tuple_len: f64,
    ) -> u64 {
        let buffering_on = matches!(
            self.buffering.as_deref().map(str::trim),
            Some("on" | "true" | "yes" | "1")
        );
        let sorted_build = server.0 >= 140_000
            && !buffering_on
            && self.columns[..self.key_columns.min(self.columns.len())]
                .iter()
                .all(|c| c.sort_support);
        fresh_gist_size(&GistContents {
            block_size: self.block_size,
            tuple_count,
            tuple_len,
            sorted_build,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Alignment;
    use super::*;

    fn described(method: &str, unique: bool, equal_image: bool) -> IndexDescription {
        IndexDescription {
            oid: 1,
            access_method: method.into(),
            block_size: 8192.0,
            index_tuples: 400_000.0,
            table_tuples: 400_000.0,
            table_pages: 4_000.0,
            unique,
            key_columns: 1,
            fillfactor: None,
            deduplicate_items: None,
            buffering: None,
            hnsw_m: None,
            ivfflat_lists: None,
            columns: vec![DescribedColumn {
                stats: ColumnStats {
                    null_frac: Some(0.0),
                    n_distinct: Some(-0.5),
                    ..ColumnStats::fixed(4, Alignment::Int)
                },
                equal_image,
                sort_support: true,
                type_name: "int4".into(),
                typmod: -1,
            }],
        }
    }

    #[test]
    fn deduplication_needs_its_conditions() {
        let pg15 = ServerVersion(150004);
        let pairs = described("btree", false, true).fresh_size(pg15).unwrap();
        // Unique, no equalimage (numeric, float), PostgreSQL 12, or switched off: no
        // posting lists, a tuple per key.
        for shape in [
            described("btree", true, true),
            described("btree", false, false),
            IndexDescription {
                deduplicate_items: Some("off".into()),
                ..described("btree", false, true)
            },
        ] {
            assert!(shape.fresh_size(pg15).unwrap() > pairs);
        }
        assert!(
            described("btree", false, true)
                .fresh_size(ServerVersion(120010))
                .unwrap()
                > pairs
        );
        let sparse = IndexDescription {
            fillfactor: Some("50".into()),
            ..described("btree", true, true)
        };
        assert!(
            sparse.fresh_size(pg15).unwrap()
                > described("btree", true, true).fresh_size(pg15).unwrap()
        );
    }

    #[test]
    fn each_method_has_its_model_or_none() {
        assert_eq!(described("btree", false, true).needs(), Needs::Catalog);
        assert_eq!(described("hash", false, true).needs(), Needs::Catalog);
        assert_eq!(described("gist", false, true).needs(), Needs::TupleCount);
        assert_eq!(described("gin", false, true).needs(), Needs::Catalog);
        assert_eq!(described("spgist", false, true).needs(), Needs::Nothing);
        // A GIN column without element statistics (a tsvector) has no estimate.
        assert_eq!(
            described("gin", false, true).fresh_size(ServerVersion(150004)),
            Err(Unestimable::UnknownElements)
        );
        assert_eq!(
            described("spgist", false, true).fresh_size(ServerVersion(150004)),
            Err(Unestimable::NoModel)
        );
        // pgvector over vector or halfvec: sized from the dimensions; over bit or
        // sparsevec: no estimate.
        for (method, options) in [("hnsw", (Some("8"), None)), ("ivfflat", (None, Some("20")))] {
            let mut vector = IndexDescription {
                hnsw_m: options.0.map(String::from),
                ivfflat_lists: options.1.map(String::from),
                ..described(method, false, false)
            };
            vector.columns[0].type_name = "halfvec".into();
            vector.columns[0].typmod = 384;
            assert_eq!(vector.needs(), Needs::Catalog);
            assert!(vector.fresh_size(ServerVersion(180003)).is_ok());
            for other in ["bit", "sparsevec"] {
                vector.columns[0].type_name = other.into();
                assert_eq!(
                    vector.fresh_size(ServerVersion(180003)),
                    Err(Unestimable::NoModel)
                );
            }
        }
        let gist = described("gist", false, true);
        let sorted = gist.fresh_gist_size(ServerVersion(150004), 300_000.0, 12e6);
        let inserted = gist.fresh_gist_size(ServerVersion(130010), 300_000.0, 12e6);
        assert!(sorted < inserted);
    }
}
