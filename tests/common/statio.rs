//! What the server counted reading each relation of the target
//! (`pg_statio_user_indexes`, `pg_statio_user_tables`), once the counts are complete.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::Client;

use super::steps::batch;
use super::Fixture;

/// A one-row table of the target that only [`Fixture::blocks_read`] scans: its scans
/// are the reference count that shows when the statistics have caught up.
const MARKER: &str = "statistics_marker";

impl Fixture {
    /// Blocks read (from disk or shared buffers) of every index and table of the
    /// target, by name, counting all that the sessions gone so far read.
    ///
    /// A session's counts reach the statistics when it goes idle or leaves, and on
    /// PostgreSQL 14 and older later still: the collector takes them in the order they
    /// were sent, and readers see them up to half a second late. So the counts are
    /// taken once no other session is connected and a scan of the marker, made after
    /// that by a session of its own, shows: by then every count sent before it is in.
    /// Counts taken earlier may miss reads that happened (or, as a `before`, make
    /// earlier reads look new).
    pub async fn blocks_read(&self) -> BTreeMap<String, i64> {
        self.quiet().await;
        let reader = self.target().await;
        batch(
            &reader,
            &format!("CREATE TABLE IF NOT EXISTS {MARKER} AS SELECT 1 AS one"),
        )
        .await;
        // Exact: every earlier call waited for its own scan to show.
        let scanned = marker_scans(&reader).await;
        batch(
            &self.target().await,
            &format!("SELECT count(*) FROM {MARKER}"),
        )
        .await;
        for _ in 0..200 {
            if marker_scans(&reader).await > scanned {
                // The counts only grow: read after the marker, they hold all it does.
                return reader
                    .query(
                        "SELECT indexrelname::text, idx_blks_read + idx_blks_hit
                         FROM pg_statio_user_indexes
                         UNION ALL
                         SELECT relname::text, heap_blks_read + heap_blks_hit
                         FROM pg_statio_user_tables WHERE relname <> $1",
                        &[&MARKER],
                    )
                    .await
                    .expect("block counts")
                    .iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the statistics never showed the scan of {MARKER}");
    }
}

/// Scans of the marker as the statistics show them now (not as this session's
/// snapshot of them had them).
async fn marker_scans(reader: &Client) -> i64 {
    batch(reader, "SELECT pg_stat_clear_snapshot()").await;
    reader
        .query_one(
            "SELECT coalesce(sum(seq_scan), 0)::bigint FROM pg_stat_user_tables WHERE relname = $1",
            &[&MARKER],
        )
        .await
        .expect("marker scans")
        .get(0)
}
