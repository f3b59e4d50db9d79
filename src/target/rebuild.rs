//! The connection that runs REINDEX INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY:
//! its own, in autocommit, with the session settings of DESIGN.md section 2.

use std::time::Duration;

use tokio_postgres::{Client, Config};

use super::TargetError;
use crate::domain::eligibility::ServerVersion;
use crate::domain::ident::QualifiedName;
use crate::pg::{describe, Tls};

pub struct Rebuilder {
    client: Client,
    /// The server process of this connection: it runs the rebuilds, and a later
    /// invocation follows a rebuild that outlives this one by it.
    pub backend_pid: i32,
}

/// Fills `{index}` in a statement template with a quoted, schema-qualified name.
fn statement(template: &str, index: &QualifiedName) -> String {
    template.trim().replace("{index}", &index.quoted())
}

impl Rebuilder {
    pub async fn open(
        config: &Config,
        tls: &Tls,
        server: ServerVersion,
    ) -> Result<Rebuilder, TargetError> {
        let client = crate::pg::connect(config, tls).await?;
        let failed = |e: tokio_postgres::Error| TargetError::Query {
            action: "preparing the reindex session",
            error: describe(&e),
        };
        if server >= ServerVersion(140000) {
            client
                .query_one(include_str!("sql/disable_client_connection_check.sql"), &[])
                .await
                .map_err(failed)?;
        }
        let backend_pid = client
            .query_one(include_str!("sql/backend_pid.sql"), &[])
            .await
            .map_err(failed)?
            .get("pid");
        Ok(Rebuilder {
            client,
            backend_pid,
        })
    }

    /// A broken connection cannot run the next rebuild; open a new one.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn prepare(&self, lock_timeout: Duration) -> Result<(), String> {
        let lock_timeout_ms = lock_timeout.as_millis().max(1).to_string();
        self.client
            .query_one(
                include_str!("sql/prepare_reindex_session.sql"),
                &[&lock_timeout_ms],
            )
            .await
            .map(drop)
            .map_err(|e| format!("preparing the reindex session: {}", describe(&e)))
    }

    /// Runs a concurrent index statement to its end, also in the server when it fails
    /// (the engine's next checks, on another connection, must not see it at work);
    /// the error is the server's own words.
    async fn run(
        &self,
        template: &str,
        index: &QualifiedName,
        lock_timeout: Duration,
    ) -> Result<(), String> {
        self.prepare(lock_timeout).await?;
        crate::pg::execute_to_the_end(&self.client, &statement(template, index))
            .await
            .map_err(|e| describe(&e))
    }

    pub async fn reindex(
        &self,
        index: &QualifiedName,
        lock_timeout: Duration,
    ) -> Result<(), String> {
        self.run(include_str!("sql/reindex_index.sql"), index, lock_timeout)
            .await
    }

    pub async fn drop_index(
        &self,
        index: &QualifiedName,
        lock_timeout: Duration,
    ) -> Result<(), String> {
        self.run(include_str!("sql/drop_index.sql"), index, lock_timeout)
            .await
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
