//! A connection whose every statement is answered within a bound, or given up. A
//! server behind a failover or a black-holed network may accept a statement and
//! never answer: without a bound the invocation would wait until Lambda kills it, and
//! whatever it was watching meanwhile (a rebuild to cancel, the end of its time)
//! with it. A statement without an answer leaves the connection out of step (a late
//! answer would be read as the next statement's), so the connection is given up:
//! every later statement fails at once.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_postgres::types::{BorrowToSql, ToSql};
use tokio_postgres::{Client, Row, RowStream};

use super::PgError;

pub(crate) struct Answered {
    client: Client,
    within: Duration,
    given_up: AtomicBool,
}

impl Answered {
    pub(crate) fn new(client: Client, within: Duration) -> Answered {
        Answered {
            client,
            within,
            given_up: AtomicBool::new(false),
        }
    }

    /// Runs `work` (statements on this connection) within the bound.
    pub(crate) async fn bounded<T, E: Into<PgError>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, PgError> {
        if self.given_up.load(Ordering::Relaxed) {
            return Err(PgError::Connection(
                "the connection was given up after a statement went unanswered".to_owned(),
            ));
        }
        match tokio::time::timeout(self.within, work).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => {
                self.given_up.store(true, Ordering::Relaxed);
                Err(PgError::Connection(format!(
                    "no answer from the server within {}s; the connection is given up",
                    self.within.as_secs()
                )))
            }
        }
    }

    pub(crate) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PgError> {
        self.bounded(self.client.query(sql, params)).await
    }

    pub(crate) async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, PgError> {
        self.bounded(self.client.query_one(sql, params)).await
    }

    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PgError> {
        self.bounded(self.client.query_opt(sql, params)).await
    }

    pub(crate) async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, PgError> {
        self.bounded(self.client.execute(sql, params)).await
    }

    /// The rows as they come; the caller bounds the reading with [`Answered::bounded`].
    pub(crate) async fn query_raw<P, I>(&self, sql: &str, params: I) -> Result<RowStream, PgError>
    where
        P: BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
    {
        self.bounded(self.client.query_raw(sql, params)).await
    }
}
