//! A scan writes to the control database only what changed since the scan before.

use std::collections::BTreeMap;

use common::recorded::{recorded, writers, Table::IndexState};
use common::Fixture;
use serde_json::json;
use tokio_postgres::Row;

/// index name → the transaction that last wrote its index_state row.
async fn written_by(fx: &Fixture) -> BTreeMap<String, String> {
    writers(
        &fx.control().await,
        "WHERE target = 'main' AND schema_name = 'public'",
    )
    .await
}

#[tokio::test]
async fn an_idle_scan_writes_no_index_state_and_a_changed_index_is_written() {
    let fx = Fixture::new("scan_state").await;
    for table in ["a", "b", "c"] {
        fx.create_table(table, 20_000).await;
    }
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(first.reindexed.is_empty(), "{first:?}");
    let before = written_by(&fx).await;
    assert_eq!(before.keys().collect::<Vec<_>>(), ["a_id", "b_id", "c_id"]);

    // Nothing changed: no row is written again, yet each reads as seen by this scan.
    fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        written_by(&fx).await,
        before,
        "an idle scan rewrote index_state"
    );
    let control = fx.control().await;
    let stale: i64 = control
        .query_one(
            "SELECT count(*) FROM index_pilot.current_bloat b
             JOIN index_pilot.database_scans d USING (target)
             WHERE b.target = 'main' AND b.last_seen_at <> d.scanned_at",
            &[],
        )
        .await
        .expect("current_bloat")
        .get(0);
    assert_eq!(stale, 0, "last_seen_at is not the latest scan's time");

    // a grows, c is dropped, d is new: only those are written or forgotten.
    fx.target()
        .await
        .batch_execute(
            "INSERT INTO a SELECT g, md5(g::text) FROM generate_series(20001, 40000) g;
             DROP INDEX c_id;
             CREATE INDEX d_id ON b (payload);",
        )
        .await
        .expect("change the target");
    fx.vacuum("a, b").await;
    fx.invoke_main(json!({"mode": "run"})).await;
    let after = written_by(&fx).await;
    assert_eq!(after.keys().collect::<Vec<_>>(), ["a_id", "b_id", "d_id"]);
    assert_ne!(
        after["a_id"], before["a_id"],
        "a_id grew and was not written"
    );
    assert_eq!(
        after["b_id"], before["b_id"],
        "b_id did not change and was written"
    );
    let size: i64 = recorded::<Row>(
        &control,
        IndexState,
        "size_bytes",
        "WHERE index_name = 'a_id'",
        &[],
    )
    .await
    .get(0);
    assert_eq!(size, fx.index_size("public", "a_id").await);
}
