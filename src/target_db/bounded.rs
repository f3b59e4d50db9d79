//! A read of a whole relation (pgstattuple, pgstatindex, ANALYZE) under a
//! statement_timeout of its own: set on the scan connection just before it, and the
//! scan session's own given back right after, each an autocommit statement, so that
//! no transaction and no snapshot of ours outlives the read. Nothing else runs on the
//! scan connection meanwhile: the engine waits for each read.

use std::future::Future;
use std::time::Duration;

use super::{failed, TargetDb, TargetError};

/// SQLSTATE query_canceled: what statement_timeout ends a statement with.
const QUERY_CANCELED: &str = "57014";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// Cancelled at its statement_timeout (or by an administrator's cancel, which
    /// asks as clearly not to go on).
    #[error("{action} was cancelled at its statement_timeout ({} ms)", timeout.as_millis())]
    TimedOut {
        action: &'static str,
        timeout: Duration,
    },
    #[error(transparent)]
    Failed(#[from] TargetError),
}

impl TargetDb {
    /// Runs `read` with `timeout` as its statement_timeout (whole milliseconds, at
    /// least one: 0 would mean none).
    pub(super) async fn bounded<T>(
        &self,
        action: &'static str,
        timeout: Duration,
        read: impl Future<Output = Result<T, TargetError>>,
    ) -> Result<T, ReadError> {
        let ms = timeout.as_millis().max(1);
        let statement = include_str!("sql/set_statement_timeout.sql");
        self.client
            .query_one(statement, &[&format!("{ms}ms")])
            .await
            .map_err(failed("setting a read's statement_timeout"))?;
        let result = read.await;
        // Given back whatever the read did: a session left at a read's timeout
        // would fail the catalog reads that follow.
        self.client
            .query_one(statement, &[&self.scan_timeout])
            .await
            .map_err(failed("restoring the scan session's statement_timeout"))?;
        result.map_err(|error| match &error {
            TargetError::Query { error: pg, .. } if pg.sqlstate() == Some(QUERY_CANCELED) => {
                ReadError::TimedOut { action, timeout }
            }
            _ => ReadError::Failed(error),
        })
    }
}
