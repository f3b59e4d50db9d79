//! What the control database recorded, as the tests read it: every read of
//! `index_state` and `reindex_history` goes through [`recorded`], so the tables'
//! qualified names and the failure messages are written once.

use std::collections::BTreeMap;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

/// The control tables the tests read.
#[derive(Clone, Copy, Debug)]
pub enum Table {
    /// `index_pilot.index_state`: what the scans last saw of each index.
    IndexState,
    /// `index_pilot.reindex_history`: one row per rebuild.
    History,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::IndexState => "index_pilot.index_state",
            Table::History => "index_pilot.reindex_history",
        }
    }
}

/// What a read returns: every row, or the one row (anything else panics, as
/// `query_one` fails).
pub trait Rows: Sized {
    fn from_rows(rows: Vec<Row>, sql: &str) -> Self;
}

impl Rows for Vec<Row> {
    fn from_rows(rows: Vec<Row>, _: &str) -> Self {
        rows
    }
}

impl Rows for Row {
    fn from_rows(mut rows: Vec<Row>, sql: &str) -> Self {
        assert_eq!(rows.len(), 1, "{sql}: not exactly one row");
        rows.remove(0)
    }
}

/// `SELECT {select} FROM {table} {rest}`, where `rest` is what follows the table
/// (an alias, WHERE, GROUP BY, ORDER BY; may be empty) and `params` its `$n`.
pub async fn recorded<R: Rows>(
    control: &Client,
    table: Table,
    select: &str,
    rest: &str,
    params: &[&(dyn ToSql + Sync)],
) -> R {
    let sql = format!("SELECT {select} FROM {} {rest}", table.name());
    let rows = control
        .query(&sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    R::from_rows(rows, &sql)
}

/// index name → the transaction that last wrote its index_state row, for the rows
/// `filter` (a WHERE clause) keeps.
pub async fn writers(control: &Client, filter: &str) -> BTreeMap<String, String> {
    let rows: Vec<Row> = recorded(
        control,
        Table::IndexState,
        "index_name, xmin::text",
        filter,
        &[],
    )
    .await;
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}
