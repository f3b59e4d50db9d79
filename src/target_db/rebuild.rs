//! The connection that runs REINDEX INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY:
//! its own, in autocommit (CONCURRENTLY refuses a transaction block), with no timeout
//! that could end a rebuild but its own lock timeout (prepare_rebuild_session.sql).

use std::time::{Duration, SystemTime};

use tokio_postgres::{CancelToken, Client, Config};

use super::{failed, TargetError};
use crate::domain::ident::QualifiedName;
use crate::domain::settings::IndexSettings;
use crate::pg::{column, Notices, PgError, ServerMessage, Tls};

pub(crate) struct Rebuilder {
    client: Client,
    tls: Tls,
    /// What the server said on the side (NOTICE, WARNING) since last taken.
    notices: Notices,
    /// The server process of this connection, and its start on the target's clock:
    /// they identify a rebuild that outlives this invocation to later ones.
    pub(crate) backend_pid: i32,
    pub(crate) backend_start: SystemTime,
}

/// What one rebuild or drop sets in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RebuildSession {
    pub(crate) lock_timeout: Duration,
    pub(crate) maintenance_work_mem: Option<u64>,
    pub(crate) max_parallel_maintenance_workers: Option<u32>,
}

impl From<&IndexSettings> for RebuildSession {
    fn from(settings: &IndexSettings) -> Self {
        RebuildSession {
            lock_timeout: settings.lock_timeout,
            maintenance_work_mem: settings.maintenance_work_mem,
            max_parallel_maintenance_workers: settings.max_parallel_maintenance_workers,
        }
    }
}

/// Fills `{index}` in a statement template with a quoted, schema-qualified name.
fn statement(template: &str, index: &QualifiedName) -> String {
    template.trim().replace("{index}", &index.quoted())
}

impl Rebuilder {
    pub(crate) async fn open(config: &Config, tls: &Tls) -> Result<Rebuilder, TargetError> {
        let notices = Notices::default();
        let client = crate::pg::connect_keeping_notices(config, tls, &notices).await?;
        let row = client
            .query_one(include_str!("sql/prepare_rebuild_session.sql"), &[])
            .await
            .map_err(failed("preparing the rebuild session"))?;
        let (backend_pid, backend_start) =
            (|| Ok::<_, PgError>((column(&row, "pid")?, column(&row, "backend_start")?)))()
                .map_err(failed("preparing the rebuild session"))?;
        Ok(Rebuilder {
            client,
            tls: tls.clone(),
            notices,
            backend_pid,
            backend_start,
        })
    }

    /// A broken connection cannot run the next rebuild; open a new one.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Cancels what this connection's server process runs now (only ours, by the
    /// connection's own cancel key).
    pub(crate) fn canceller(&self) -> Canceller {
        Canceller {
            token: self.client.cancel_token(),
            tls: self.tls.clone(),
        }
    }

    /// The server's messages since the last call (the first ones; how many more).
    pub(crate) fn take_notices(&self) -> (Vec<ServerMessage>, usize) {
        self.notices.take()
    }

    /// Sets what one rebuild or drop sets in its session. A value the server refuses
    /// is the target's problem (its settings), not the index's. Returns the
    /// session's maintenance_work_mem now, in bytes.
    pub(crate) async fn prepare(&self, session: RebuildSession) -> Result<u64, PgError> {
        let lock_timeout_ms = session.lock_timeout.as_millis().max(1).to_string();
        let work_mem_kb = session
            .maintenance_work_mem
            .map(|bytes| (bytes / 1024).to_string());
        let workers = session
            .max_parallel_maintenance_workers
            .map(|n| n.to_string());
        self.client
            .query_one(
                include_str!("sql/prepare_rebuild.sql"),
                &[&lock_timeout_ms, &work_mem_kb, &workers],
            )
            .await?;
        let row = self
            .client
            .query_one(include_str!("sql/session_memory.sql"), &[])
            .await?;
        let kb: i64 = column(&row, "maintenance_work_mem_kb")?;
        Ok(u64::try_from(kb).unwrap_or(0).saturating_mul(1024))
    }

    /// Raises the session's maintenance_work_mem for the next rebuild (until the
    /// next [`Rebuilder::prepare`]).
    pub(crate) async fn set_maintenance_work_mem(&self, bytes: u64) -> Result<(), PgError> {
        let kb = (bytes / 1024).to_string();
        self.client
            .query_one(include_str!("sql/set_maintenance_work_mem.sql"), &[&kb])
            .await?;
        Ok(())
    }

    /// The rebuild's statement, in a session [`Rebuilder::prepare`] made ready.
    pub(crate) async fn reindex(&self, index: &QualifiedName) -> Result<(), PgError> {
        crate::pg::execute_to_the_end(
            &self.client,
            &statement(include_str!("sql/reindex_index.sql"), index),
        )
        .await
    }

    /// Drops a leftover, to the end also in the server when it fails (the engine's
    /// next checks, on another connection, must not see it at work).
    pub(crate) async fn drop_index(
        &self,
        index: &QualifiedName,
        session: RebuildSession,
    ) -> Result<(), PgError> {
        self.prepare(session).await?;
        crate::pg::execute_to_the_end(
            &self.client,
            &statement(include_str!("sql/drop_index.sql"), index),
        )
        .await
    }
}

/// Cancels the statement a rebuild connection runs.
pub(crate) struct Canceller {
    token: CancelToken,
    tls: Tls,
}

impl Canceller {
    pub(crate) async fn cancel(&self) -> Result<(), PgError> {
        crate::pg::cancel(&self.token, &self.tls).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_names() {
        let index = QualifiedName::new("Sales \"EU\"", "idx;drop");
        assert_eq!(
            statement(include_str!("sql/reindex_index.sql"), &index),
            "REINDEX INDEX CONCURRENTLY \"Sales \"\"EU\"\"\".\"idx;drop\""
        );
    }
}
