//! Looking closer at a few indexes: what the estimate of a fresh build reads from the
//! catalog, pgstattuple's counts, a table's activity, ANALYZE. Each is one autocommit
//! statement on the scan connection, taken only when no rebuild of ours runs in the
//! database (the engine's rule): pgstattuple and ANALYZE hold a snapshot while they
//! read, and REINDEX CONCURRENTLY would wait for it. The reads of whole relations
//! (pgstattuple, pgstatindex, ANALYZE) run under the timeout the engine gives them.

use std::collections::HashMap;
use std::time::Duration;

use tokio_postgres::Row;

use super::{failed, ReadError, TargetDb, TargetError};
use crate::domain::confirm::{BtreeDensity, TableActivity};
use crate::domain::estimate::{Alignment, ColumnStats, DescribedColumn, IndexDescription};
use crate::domain::ident::{quote_ident, QualifiedName};
use crate::pg::{column, PgError};

/// The pgstattuple extension as this role may use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pgstattuple {
    /// Its schema, quoted for SQL text.
    schema: String,
    pub(crate) pgstattuple: bool,
    pub(crate) pgstatindex: bool,
}

impl Pgstattuple {
    fn statement(&self, template: &str) -> String {
        template.replace("{schema}", &self.schema)
    }
}

fn list(row: &Row, name: &'static str) -> Result<Vec<f64>, PgError> {
    Ok(column::<Option<Vec<Option<f64>>>>(row, name)?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

fn described_column(row: &Row) -> Result<DescribedColumn, PgError> {
    let attlen: i32 = column(row, "attlen")?;
    Ok(DescribedColumn {
        stats: ColumnStats {
            attlen: i16::try_from(attlen).unwrap_or(-1),
            alignment: Alignment::from_attalign(&column::<String>(row, "attalign")?),
            expression: column(row, "is_expression")?,
            null_frac: column(row, "null_frac")?,
            avg_width: column(row, "avg_width")?,
            n_distinct: column(row, "n_distinct")?,
            mcv_freqs: list(row, "mcv_freqs")?,
            mcv_payloads: list(row, "mcv_payloads")?,
            histogram_payloads: list(row, "histogram_payloads")?,
            element_freqs: list(row, "element_freqs")?,
            element_payloads: list(row, "element_payloads")?,
            elements_per_row: column(row, "elements_per_row")?,
        },
        equal_image: column(row, "equal_image")?,
        sort_support: column(row, "sort_support")?,
        type_name: column(row, "type_name")?,
        typmod: column(row, "typmod")?,
    })
}

fn description(row: &Row) -> Result<IndexDescription, PgError> {
    let key_columns: i32 = column(row, "key_columns")?;
    Ok(IndexDescription {
        oid: column(row, "index_oid")?,
        access_method: column(row, "access_method")?,
        block_size: column(row, "block_size")?,
        index_tuples: column(row, "index_tuples")?,
        table_tuples: column(row, "table_tuples")?,
        table_pages: column(row, "table_pages")?,
        unique: column(row, "is_unique")?,
        key_columns: usize::try_from(key_columns).unwrap_or(0),
        fillfactor: column(row, "fillfactor")?,
        deduplicate_items: column(row, "deduplicate_items")?,
        buffering: column(row, "buffering")?,
        hnsw_m: column(row, "hnsw_m")?,
        ivfflat_lists: column(row, "ivfflat_lists")?,
        columns: Vec::new(),
    })
}

impl TargetDb {
    /// The catalog's description of these indexes, by oid (a dropped one is missing).
    pub(crate) async fn describe_indexes(
        &self,
        oids: &[u32],
    ) -> Result<HashMap<u32, IndexDescription>, TargetError> {
        let action = "reading the statistics an estimate needs";
        let rows = self
            .client
            .query(include_str!("sql/estimate_inputs.sql"), &[&oids])
            .await
            .map_err(failed(action))?;
        let mut described: HashMap<u32, IndexDescription> = HashMap::new();
        for row in &rows {
            let oid: u32 = column(row, "index_oid").map_err(failed(action))?;
            let index = match described.entry(oid) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(description(row).map_err(failed(action))?)
                }
            };
            index
                .columns
                .push(described_column(row).map_err(failed(action))?);
        }
        Ok(described)
    }

    /// The pgstattuple extension, if it is installed in this database.
    pub(crate) async fn pgstattuple(&self) -> Result<Option<Pgstattuple>, TargetError> {
        let action = "looking for the pgstattuple extension";
        let row = self
            .client
            .query_opt(include_str!("sql/pgstattuple_functions.sql"), &[])
            .await
            .map_err(failed(action))?;
        row.map(|row| {
            Ok(Pgstattuple {
                schema: quote_ident(&column::<String>(&row, "schema_name")?),
                pgstattuple: column(&row, "pgstattuple")?,
                pgstatindex: column(&row, "pgstatindex")?,
            })
        })
        .transpose()
        .map_err(failed::<PgError>(action))
    }

    /// A GiST index's live tuples and their bytes, as pgstattuple counts them, read
    /// within `timeout`.
    pub(crate) async fn gist_tuples(
        &self,
        extension: &Pgstattuple,
        oid: u32,
        timeout: Duration,
    ) -> Result<(f64, f64), ReadError> {
        let action = "counting a GiST index's tuples with pgstattuple";
        let read = async {
            let row = self
                .client
                .query_one(
                    &extension.statement(include_str!("sql/gist_tuples.sql")),
                    &[&oid],
                )
                .await
                .map_err(failed(action))?;
            let counts =
                (|| Ok::<_, PgError>((column(&row, "tuple_count")?, column(&row, "tuple_len")?)))();
            counts.map_err(failed(action))
        };
        self.bounded(action, timeout, read).await
    }

    /// How full a btree's pages are, as pgstatindex reads them within `timeout`.
    pub(crate) async fn btree_density(
        &self,
        extension: &Pgstattuple,
        oid: u32,
        timeout: Duration,
    ) -> Result<BtreeDensity, ReadError> {
        let action = "reading a btree's pages with pgstatindex";
        let read = async {
            self.client
                .query_one(
                    &extension.statement(include_str!("sql/btree_density.sql")),
                    &[&oid],
                )
                .await
                .map_err(failed(action))
        };
        let row = self.bounded(action, timeout, read).await?;
        let density = (|| {
            Ok::<_, PgError>(BtreeDensity {
                index_size: column(&row, "index_size")?,
                leaf_pages: column(&row, "leaf_pages")?,
                internal_pages: column(&row, "internal_pages")?,
                avg_leaf_density: column(&row, "avg_leaf_density")?,
                fillfactor: column::<Option<String>>(&row, "fillfactor")?
                    .and_then(|f| f.parse().ok())
                    .unwrap_or(90.0),
                block_size: column(&row, "block_size")?,
            })
        })();
        Ok(density.map_err(failed(action))?)
    }

    /// What changed in a table since its statistics were taken.
    pub(crate) async fn table_activity(
        &self,
        table_oid: u32,
    ) -> Result<Option<TableActivity>, TargetError> {
        let action = "reading a table's activity";
        let row = self
            .client
            .query_opt(include_str!("sql/table_activity.sql"), &[&table_oid])
            .await
            .map_err(failed(action))?;
        row.map(|row| {
            Ok(TableActivity {
                reltuples: column(&row, "reltuples")?,
                modified_since_analyze: column(&row, "modified_since_analyze")?,
                live_tuples: column(&row, "live_tuples")?,
                dead_tuples: column(&row, "dead_tuples")?,
                vacuumed: column(&row, "vacuumed")?,
            })
        })
        .transpose()
        .map_err(failed::<PgError>(action))
    }

    /// ANALYZE one table within `timeout` (and the scan session's short
    /// lock_timeout).
    pub(crate) async fn analyze(
        &self,
        table: &QualifiedName,
        timeout: Duration,
    ) -> Result<(), ReadError> {
        let action = "analyzing the table";
        let statement = include_str!("sql/analyze_table.sql")
            .trim()
            .replace("{table}", &table.quoted());
        let read = async {
            self.client
                .batch_execute(&statement)
                .await
                .map_err(failed(action))
        };
        self.bounded(action, timeout, read).await
    }

    /// An index's size and tuple count now; `None` once it is gone.
    pub(crate) async fn measure_index(&self, oid: u32) -> Result<Option<(u64, f64)>, TargetError> {
        let action = "measuring an index";
        let row = self
            .client
            .query_opt(include_str!("sql/index_measure.sql"), &[&oid])
            .await
            .map_err(failed(action))?;
        row.map(|row| {
            let size: i64 = column(&row, "size_bytes")?;
            Ok((u64::try_from(size).unwrap_or(0), column(&row, "reltuples")?))
        })
        .transpose()
        .map_err(failed::<PgError>(action))
    }
}
