//! Settings against a real scan: precedence, wildcards, and `force` against `skip`.

use common::steps::rebuilt;
use common::Fixture;
use serde_json::json;

#[tokio::test]
async fn settings_precedence_wildcards_and_force_against_skip() {
    let fx = Fixture::new("settings").await;
    for table in ["orders_2024", "orders_2025", "audit_log", "keep_me"] {
        fx.create_table(table, 60_000).await;
    }
    fx.set(&[], "index_size_threshold", "1MB").await;
    // Wildcard at table level: the orders partitions only need a small threshold...
    fx.set(
        &[("table_name", "orders_*")],
        "index_size_threshold",
        "100MB",
    )
    .await;
    // ...but one index, more specific, is back at 1MB.
    fx.set(
        &[("index_name", "orders_2025_id")],
        "index_size_threshold",
        "1MB",
    )
    .await;
    // Skip by schema + table pattern with ?.
    fx.set(
        &[("schema_name", "public"), ("table_name", "keep_m?")],
        "skip",
        "true",
    )
    .await;

    // No baselines: every index at or above its threshold is a candidate.
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let mut planned: Vec<_> = dry.plan.iter().map(|p| p.index.clone()).collect();
    planned.sort();
    assert_eq!(planned, ["public.audit_log_id", "public.orders_2025_id"]);

    let forced = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.keep_me_id", "force": true}))
        .await;
    assert!(forced.reindexed.is_empty());
    assert!(
        forced.deferred[0].reason.contains("skip is set (setting #"),
        "{:?}",
        forced.deferred
    );

    let below = fx
        .invoke_main(
            json!({"mode": "reindex", "targets": ["main"], "index": "public.orders_2024_id"}),
        )
        .await;
    assert!(below.reindexed.is_empty());
    assert!(
        below.deferred[0].reason.contains("index_size_threshold"),
        "{:?}",
        below.deferred
    );
    let forced = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.orders_2024_id", "force": true}))
        .await;
    assert_eq!(rebuilt(&forced), ["public.orders_2024_id"]);
}
