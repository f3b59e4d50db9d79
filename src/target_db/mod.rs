//! A target database: the catalog scan and every check on one connection, rebuilds
//! on another (see [`Rebuilder`]). Between statements neither holds a transaction,
//! so no snapshot of ours makes a REINDEX CONCURRENTLY wait.

mod bounded;
mod hazards;
mod measure;
mod preflight;
mod rebuild;
mod scan;
mod stale;
mod watch;

pub(crate) use bounded::ReadError;
pub(crate) use measure::Pgstattuple;
pub(crate) use preflight::TableRight;
pub(crate) use rebuild::{RebuildSession, Rebuilder};
pub(crate) use scan::InvalidIndex;
pub(crate) use watch::RebuildState;

use std::time::SystemTime;

use tokio_postgres::{Client, Config};

use crate::control::RebuiltIndex;
use crate::domain::eligibility::ServerVersion;
use crate::domain::ident::QualifiedName;
use crate::domain::server::ServerIdentity;
use crate::pg::{column, ConnectError, PgError, Place, Tls};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot connect {0}")]
    Connect(#[from] ConnectError),
    #[error("{action} failed: {error}")]
    Query {
        action: &'static str,
        #[source]
        error: PgError,
    },
}

fn failed<E: Into<PgError>>(action: &'static str) -> impl FnOnce(E) -> TargetError {
    move |error| TargetError::Query {
        action,
        error: error.into(),
    }
}

impl crate::login::connect::LoginRefusal for TargetError {
    fn is_login_refusal(&self) -> bool {
        matches!(
            self,
            TargetError::Connect(ConnectError::LoginRefused { .. })
        )
    }
}

/// An index as it is now, looked up by oid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexNow {
    pub(crate) name: QualifiedName,
    pub(crate) is_valid: bool,
}

/// The tables with an index build in progress (`None`: one we may not see).
#[derive(Debug, Clone, Default)]
pub(crate) struct IndexBuilds(Vec<Option<u32>>);

impl IndexBuilds {
    /// No build runs anywhere in the database.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn on(&self, table_oid: u32) -> bool {
        self.0
            .iter()
            .any(|relid| relid.is_none_or(|relid| relid == table_oid))
    }
}

pub struct TargetDb {
    client: Client,
    pub(crate) server: ServerVersion,
    /// Who the server says it is: what the limit of rebuilds per server counts by.
    pub(crate) identity: ServerIdentity,
    pub(crate) in_recovery: bool,
    pub(crate) database_name: String,
    pub(crate) database_oid: u32,
    /// `extversion` of pgvector (the extension `vector`) here, when installed.
    pub(crate) pgvector: Option<String>,
    /// The scan session's own statement_timeout, given back after each bounded read.
    scan_timeout: String,
}

impl TargetDb {
    pub async fn open(config: &Config, tls: &Tls) -> Result<TargetDb, TargetError> {
        let client = crate::pg::connect(config, tls).await?;
        let prepared = client
            .query_one(include_str!("sql/prepare_scan_session.sql"), &[])
            .await
            .map_err(failed("preparing the scan session"))?;
        let scan_timeout: String =
            column(&prepared, "statement_timeout").map_err(failed("preparing the scan session"))?;
        let row = client
            .query_one(include_str!("sql/probe.sql"), &[])
            .await
            .map_err(failed("probing the server"))?;
        let probed = (|| {
            Ok::<_, PgError>((
                ServerVersion(column(&row, "server_version_num")?),
                column(&row, "in_recovery")?,
                column(&row, "database_name")?,
                column(&row, "database_oid")?,
                column::<bool>(&row, "may_read_system_identifier")?,
                column::<Option<String>>(&row, "server_addr")?,
                column::<Option<i32>>(&row, "server_port")?,
                column::<Option<String>>(&row, "pgvector_version")?,
            ))
        })();
        let (server, in_recovery, database_name, database_oid, may_read, addr, port, pgvector) =
            probed.map_err(failed("probing the server"))?;
        let system_identifier: Option<String> = if may_read {
            let row = client
                .query_one(include_str!("sql/system_identifier.sql"), &[])
                .await
                .map_err(failed("reading the server's system identifier"))?;
            column(&row, "system_identifier")
                .map_err(failed("reading the server's system identifier"))?
        } else {
            None
        };
        let place = Place::of(config);
        let identity = ServerIdentity::new(
            system_identifier.as_deref(),
            addr.as_deref().zip(port),
            format!("{}:{}", place.host, place.port),
        );
        Ok(TargetDb {
            client,
            server,
            identity,
            in_recovery,
            database_name,
            database_oid,
            pgvector,
            scan_timeout,
        })
    }

    /// Why this candidate must not be rebuilt now (gone, renamed, invalid, or another
    /// build on its table), if it must not.
    pub(crate) async fn recheck(
        &self,
        oid: u32,
        name: &QualifiedName,
        table_oid: u32,
    ) -> Result<Option<String>, TargetError> {
        let Some(now) = self.index_by_oid(oid).await? else {
            return Ok(Some("the index no longer exists".to_owned()));
        };
        if now.name != *name {
            return Ok(Some(format!(
                "the index was renamed to {} since the scan",
                now.name
            )));
        }
        if !now.is_valid {
            return Ok(Some("the index became invalid since the scan".to_owned()));
        }
        if self.build_on(table_oid).await? {
            return Ok(Some(
                "another index build is in progress on its table".to_owned(),
            ));
        }
        Ok(None)
    }

    pub(crate) async fn index_by_oid(&self, oid: u32) -> Result<Option<IndexNow>, TargetError> {
        let row = self
            .client
            .query_opt(include_str!("sql/index_by_oid.sql"), &[&oid])
            .await
            .map_err(failed("looking up an index"))?;
        row.map(|row| {
            Ok(IndexNow {
                name: QualifiedName::new(
                    column::<String>(&row, "schema_name")?,
                    column::<String>(&row, "index_name")?,
                ),
                is_valid: column(&row, "is_valid")?,
            })
        })
        .transpose()
        .map_err(failed::<PgError>("looking up an index"))
    }

    /// The index builds in progress in this database, by anyone but this connection.
    pub(crate) async fn index_builds(&self) -> Result<IndexBuilds, TargetError> {
        let rows = self
            .client
            .query(include_str!("sql/index_builds.sql"), &[])
            .await
            .map_err(failed("checking for index builds in progress"))?;
        rows.iter()
            .map(|row| column(row, "relid"))
            .collect::<Result<_, PgError>>()
            .map(IndexBuilds)
            .map_err(failed("checking for index builds in progress"))
    }

    /// Whether an index build is in progress on this table.
    pub(crate) async fn build_on(&self, table_oid: u32) -> Result<bool, TargetError> {
        Ok(self.index_builds().await?.on(table_oid))
    }

    pub(crate) async fn table_oid(
        &self,
        table: &QualifiedName,
    ) -> Result<Option<u32>, TargetError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/table_oid.sql"),
                &[&table.schema, &table.name],
            )
            .await
            .map_err(failed("looking up a table"))?;
        row.map(|row| column(&row, "table_oid"))
            .transpose()
            .map_err(failed("looking up a table"))
    }

    /// The index that carries this name now (after a rebuild, with its new oid), and
    /// whether it is valid.
    pub(crate) async fn find_index(
        &self,
        name: &QualifiedName,
    ) -> Result<Option<(RebuiltIndex, bool)>, TargetError> {
        let row = self
            .client
            .query_opt(
                include_str!("sql/index_by_name.sql"),
                &[&name.schema, &name.name],
            )
            .await
            .map_err(failed("reading the rebuilt index"))?;
        row.map(|row| {
            // NULL: dropped right now, as good as gone.
            let Some(size) = column::<Option<i64>>(&row, "size_bytes")? else {
                return Ok(None);
            };
            Ok(Some((
                RebuiltIndex {
                    oid: column(&row, "index_oid")?,
                    size_bytes: u64::try_from(size).unwrap_or(0),
                    reltuples: column(&row, "reltuples")?,
                },
                column(&row, "is_valid")?,
            )))
        })
        .transpose()
        .map(Option::flatten)
        .map_err(failed::<PgError>("reading the rebuilt index"))
    }

    /// How our rebuild in process `pid` (started at `backend_start`, on the target's
    /// clock) is doing; `None` once that process no longer runs it.
    pub(crate) async fn rebuild_state(
        &self,
        pid: i32,
        backend_start: Option<SystemTime>,
    ) -> Result<Option<RebuildState>, TargetError> {
        watch::rebuild_state(&self.client, pid, backend_start).await
    }

    /// Sessions a rebuild on `table_oid` could wait for; `only`: just these pids
    /// (0 for prepared transactions). `ours`: our own processes, left out.
    pub(crate) async fn sessions(
        &self,
        table_oid: u32,
        ours: &[i32],
        only: Option<&[i32]>,
    ) -> Result<Vec<crate::domain::blocker::Session>, TargetError> {
        watch::sessions(&self.client, table_oid, ours, only).await
    }
}

#[cfg(test)]
mod tests {
    use super::IndexBuilds;

    #[test]
    fn a_build_we_may_not_see_counts_for_every_table() {
        assert!(!IndexBuilds::default().on(7));
        assert!(IndexBuilds(vec![Some(7)]).on(7));
        assert!(!IndexBuilds(vec![Some(8)]).on(7));
        assert!(IndexBuilds(vec![Some(8), None]).on(7));
    }
}
