//! Index states as the statement that saves them takes them: one array per column.

use super::to_i64;
use crate::domain::stored::StateRow;

/// The rows of one chunk as columns: the statement takes one array per column.
pub(super) struct StateColumns<'a> {
    pub(super) oids: Vec<u32>,
    pub(super) schemas: Vec<&'a str>,
    pub(super) tables: Vec<&'a str>,
    pub(super) names: Vec<&'a str>,
    pub(super) methods: Vec<&'a str>,
    pub(super) sizes: Vec<i64>,
    pub(super) reltuples: Vec<f64>,
    pub(super) ratios: Vec<f64>,
    pub(super) best: Vec<Option<f64>>,
    pub(super) digests: Vec<i64>,
    pub(super) sources: Vec<Option<&'a str>>,
    pub(super) first_scan: Vec<bool>,
    pub(super) scale_factors: Vec<f64>,
    pub(super) thresholds: Vec<i64>,
    pub(super) reliable: Vec<i64>,
    pub(super) skipped_by: Vec<Option<String>>,
    pub(super) skip_settings: Vec<Option<i64>>,
    pub(super) verdicts: Vec<&'a str>,
    pub(super) whys: Vec<String>,
}

impl<'a> StateColumns<'a> {
    pub(super) fn of(rows: &'a [StateRow]) -> StateColumns<'a> {
        StateColumns {
            oids: rows.iter().map(|row| row.oid).collect(),
            schemas: rows.iter().map(|row| row.schema.as_str()).collect(),
            tables: rows.iter().map(|row| row.table.as_str()).collect(),
            names: rows.iter().map(|row| row.name.as_str()).collect(),
            methods: rows.iter().map(|row| row.access_method.as_str()).collect(),
            sizes: rows.iter().map(|row| to_i64(row.size_bytes)).collect(),
            reltuples: rows.iter().map(|row| row.reltuples).collect(),
            ratios: rows.iter().map(|row| row.ratio).collect(),
            best: rows.iter().map(|row| row.best_ratio).collect(),
            digests: rows.iter().map(|row| row.digest).collect(),
            sources: rows
                .iter()
                .map(|row| row.seeded.map(|source| source.as_str()))
                .collect(),
            first_scan: rows.iter().map(|row| row.from_first_scan).collect(),
            scale_factors: rows
                .iter()
                .map(|row| row.standing.rebuild_scale_factor)
                .collect(),
            thresholds: rows
                .iter()
                .map(|row| to_i64(row.standing.index_size_threshold))
                .collect(),
            reliable: rows
                .iter()
                .map(|row| to_i64(row.standing.minimum_reliable_index_size))
                .collect(),
            skipped_by: rows.iter().map(|row| row.standing.skipped_by()).collect(),
            skip_settings: rows.iter().map(|row| row.standing.skip_setting()).collect(),
            verdicts: rows.iter().map(|row| row.standing.code()).collect(),
            whys: rows.iter().map(|row| row.standing.why()).collect(),
        }
    }
}
