//! A target database: the catalog scan and checks on one connection, rebuilds on
//! another (see [`Rebuilder`]). Between statements neither holds a transaction, so
//! no snapshot of ours makes a REINDEX CONCURRENTLY wait.

mod rebuild;

pub use rebuild::Rebuilder;

use tokio_postgres::{Client, Config};

use crate::pg::{ConnectError, Tls};

use crate::control::RebuiltIndex;
use crate::domain::eligibility::{IndexInfo, ServerVersion, TableKind};
use crate::domain::ident::QualifiedName;
use crate::pg::describe;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot connect: {0}")]
    Connect(#[from] ConnectError),
    #[error("{action} failed: {error}")]
    Query { action: &'static str, error: String },
}

fn query_error(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> TargetError {
    move |error| TargetError::Query {
        action,
        error: describe(&error),
    }
}

impl crate::connect::LoginRefusal for TargetError {
    fn is_login_refusal(&self) -> bool {
        matches!(self, TargetError::Connect(ConnectError::LoginRefused(_)))
    }
}

/// An invalid `_ccnew`/`_ccold` index: what an interrupted REINDEX CONCURRENTLY leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptedBuild {
    pub oid: u32,
    pub name: QualifiedName,
    pub table: String,
    pub table_oid: u32,
}

pub struct TargetDb {
    client: Client,
    pub server: ServerVersion,
    pub in_recovery: bool,
    pub database_name: String,
    pub database_oid: u32,
}

impl TargetDb {
    pub async fn open(config: &Config, tls: &Tls) -> Result<TargetDb, TargetError> {
        let client = crate::pg::connect(config, tls).await?;
        client
            .query_one(include_str!("sql/prepare_scan_session.sql"), &[])
            .await
            .map_err(query_error("preparing the scan session"))?;
        let row = client
            .query_one(include_str!("sql/probe.sql"), &[])
            .await
            .map_err(query_error("probing the server"))?;
        Ok(TargetDb {
            server: ServerVersion(row.get("server_version_num")),
            in_recovery: row.get("in_recovery"),
            database_name: row.get("database_name"),
            database_oid: row.get("database_oid"),
            client,
        })
    }

    pub async fn scan(&self) -> Result<Vec<IndexInfo>, TargetError> {
        let rows = self
            .client
            .query(include_str!("sql/scan_indexes.sql"), &[])
            .await
            .map_err(query_error("scanning the catalog"))?;
        Ok(rows
            .iter()
            .map(|row| IndexInfo {
                oid: row.get("index_oid"),
                table_oid: row.get("table_oid"),
                name: QualifiedName::new(
                    row.get::<_, String>("schema_name"),
                    row.get::<_, String>("index_name"),
                ),
                table: row.get("table_name"),
                access_method: row.get("access_method"),
                size_bytes: u64::try_from(row.get::<_, i64>("size_bytes")).unwrap_or(0),
                reltuples: row.get("reltuples"),
                is_valid: row.get("is_valid"),
                is_live: row.get("is_live"),
                table_kind: TableKind::from_relkind(row.get("table_kind")),
                is_temporary: row.get("is_temporary"),
                is_partitioned: row.get("is_partitioned"),
                backs_exclusion_constraint: row.get("backs_exclusion_constraint"),
            })
            .collect())
    }

    /// Why this candidate must not be rebuilt now (gone, renamed, invalid, or another
    /// build on its table), if it must not.
    pub async fn recheck(&self, index: &IndexInfo) -> Result<Option<String>, TargetError> {
        let row = self
            .client
            .query_opt(include_str!("sql/index_by_oid.sql"), &[&index.oid])
            .await
            .map_err(query_error("rechecking the index"))?;
        let Some(row) = row else {
            return Ok(Some("the index no longer exists".to_owned()));
        };
        let now = QualifiedName::new(
            row.get::<_, String>("schema_name"),
            row.get::<_, String>("index_name"),
        );
        if now != index.name {
            return Ok(Some(format!(
                "the index was renamed to {now} since the scan"
            )));
        }
        if !row.get::<_, bool>("is_valid") {
            return Ok(Some("the index became invalid since the scan".to_owned()));
        }
        let builds = self.builds_in_progress(index.table_oid).await?;
        if builds > 0 {
            return Ok(Some(format!(
                "another index build is in progress on table {}",
                QualifiedName::new(index.name.schema.clone(), index.table.clone())
            )));
        }
        Ok(None)
    }

    pub async fn builds_in_progress(&self, table_oid: u32) -> Result<i64, TargetError> {
        let row = self
            .client
            .query_one(include_str!("sql/builds_in_progress.sql"), &[&table_oid])
            .await
            .map_err(query_error("checking for index builds in progress"))?;
        Ok(row.get("builds"))
    }

    /// Invalid `_ccnew`/`_ccold` indexes, on one table or (`None`) in the database.
    pub async fn interrupted_builds(
        &self,
        table_oid: Option<u32>,
    ) -> Result<Vec<InterruptedBuild>, TargetError> {
        let rows = self
            .client
            .query(include_str!("sql/interrupted_builds.sql"), &[&table_oid])
            .await
            .map_err(query_error("looking for leftovers of interrupted rebuilds"))?;
        Ok(rows
            .iter()
            .map(|row| InterruptedBuild {
                oid: row.get("index_oid"),
                name: QualifiedName::new(
                    row.get::<_, String>("schema_name"),
                    row.get::<_, String>("index_name"),
                ),
                table: row.get("table_name"),
                table_oid: row.get("table_oid"),
            })
            .collect())
    }

    /// Phase and percent done of a rebuild still running in `pid`; `None` when that
    /// backend is not running it any more.
    pub async fn rebuild_progress(
        &self,
        pid: i32,
        started_at: std::time::SystemTime,
    ) -> Result<Option<(String, Option<f64>)>, TargetError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/rebuild_progress.sql"),
                &[&pid, &started_at],
            )
            .await
            .map_err(query_error("following a rebuild in progress"))?;
        Ok(row.map(|row| {
            let phase: Option<String> = row.get("phase");
            let ratio = |done: Option<i64>, total: Option<i64>| match (done, total) {
                (Some(done), Some(total)) if total > 0 => Some(done as f64 / total as f64),
                _ => None,
            };
            let percent = ratio(row.get("blocks_done"), row.get("blocks_total"))
                .or_else(|| ratio(row.get("tuples_done"), row.get("tuples_total")))
                .map(|r| (r * 1000.0).round() / 10.0);
            (phase.unwrap_or_else(|| "starting".to_owned()), percent)
        }))
    }

    pub async fn table_oid(&self, table: &QualifiedName) -> Result<Option<u32>, TargetError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/table_oid.sql"),
                &[&table.schema, &table.name],
            )
            .await
            .map_err(query_error("looking up a table"))?;
        Ok(row.map(|row| row.get("table_oid")))
    }

    /// The index that carries this name now (after a rebuild, with its new oid).
    pub async fn find_index(
        &self,
        name: &QualifiedName,
    ) -> Result<Option<RebuiltIndex>, TargetError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/index_by_name.sql"),
                &[&name.schema, &name.name],
            )
            .await
            .map_err(query_error("reading the rebuilt index"))?;
        Ok(row.map(|row| RebuiltIndex {
            oid: row.get("index_oid"),
            size_bytes: u64::try_from(row.get::<_, i64>("size_bytes")).unwrap_or(0),
            reltuples: row.get("reltuples"),
        }))
    }
}
