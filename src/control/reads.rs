//! Our own reads that timed out on an index (`max_inspect_time`): kept so that they
//! are not tried again there soon (`domain::inspect` decides how soon).

use std::collections::HashMap;
use std::time::Duration;

use super::{failed, to_i64, ControlError, ControlStore, DatabaseKey};
use crate::domain::ident::QualifiedName;
use crate::domain::inspect::{ReadKind, TimedOut, RETRY_AFTER};
use crate::pg::{column, PgError};

/// The recorded timeouts of one database, by index oid and kind of read.
pub(crate) type ReadTimeouts = HashMap<(u32, ReadKind), TimedOut>;

/// A read that timed out, to record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadTimeout<'a> {
    pub(crate) index_oid: u32,
    pub(crate) index: &'a QualifiedName,
    pub(crate) size_bytes: u64,
    pub(crate) kind: ReadKind,
    /// The max_inspect_time it hit.
    pub(crate) timeout: Duration,
}

impl ControlStore {
    pub(crate) async fn read_timeouts(
        &self,
        db: &DatabaseKey,
    ) -> Result<ReadTimeouts, ControlError> {
        const ACTION: &str = "loading the reads that timed out";
        let rows = self
            .client
            .query(
                include_str!("sql/read_timeouts.sql"),
                &[&db.target, &db.database_oid],
            )
            .await
            .map_err(failed(ACTION))?;
        let mut timeouts = ReadTimeouts::new();
        for row in &rows {
            let read = (|| {
                let kind: String = column(row, "read_kind")?;
                let age: f64 = column(row, "age_s")?;
                let timeout_ms: i64 = column(row, "timeout_ms")?;
                Ok::<_, PgError>((
                    column::<u32>(row, "index_oid")?,
                    ReadKind::from_name(&kind),
                    TimedOut {
                        age: Duration::try_from_secs_f64(age).unwrap_or_default(),
                        at: column(row, "at")?,
                        after: Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0)),
                    },
                ))
            })()
            .map_err(failed(ACTION))?;
            // A kind this version does not know was written by a newer one: it
            // holds back nothing this version reads.
            if let (oid, Some(kind), timed_out) = read {
                timeouts.insert((oid, kind), timed_out);
            }
        }
        Ok(timeouts)
    }

    pub(crate) async fn record_read_timeout(
        &self,
        db: &DatabaseKey,
        read: ReadTimeout<'_>,
    ) -> Result<(), ControlError> {
        let timeout_ms = to_i64(u64::try_from(read.timeout.as_millis()).unwrap_or(u64::MAX));
        self.client
            .execute(
                include_str!("sql/record_read_timeout.sql"),
                &[
                    &db.target,
                    &db.database_name,
                    &db.database_oid,
                    &read.index_oid,
                    &read.kind.as_str(),
                    &read.index.schema,
                    &read.index.name,
                    &to_i64(read.size_bytes),
                    &timeout_ms,
                    &RETRY_AFTER.as_secs_f64(),
                ],
            )
            .await
            .map_err(failed("recording a read that timed out"))?;
        Ok(())
    }
}
