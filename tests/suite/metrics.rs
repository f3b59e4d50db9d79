//! The metrics of real runs: built from the report a run against a real cluster
//! returned, they say what the run did, including the time its rebuilds spent
//! waiting for other sessions.

use std::time::Duration;

use common::steps::{batch, entry, rebuilt};
use common::Fixture;
use index_pilot::report::metrics::emf_documents;
use serde_json::{json, Value};

fn metric(doc: &Value, name: &str) -> f64 {
    doc[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} in {doc}"))
}

/// A young snapshot holds the rebuild up at its end for about three seconds, then goes
/// away: the rebuild completes, its report entry says how long it was blocked, and
/// the target's and the invocation's metrics count it with what was reclaimed.
#[tokio::test]
async fn a_rebuild_held_up_by_a_snapshot_counts_its_blocked_seconds() {
    let fx = Fixture::new("metrics_blocked").await;
    fx.create_table("a", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "max_rebuild_wait", "60s").await;
    let (holder, _) = fx.session("dashboard").await;
    batch(&holder, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;").await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        batch(&holder, "COMMIT;").await;
    });

    let report = fx.invoke(json!({"mode": "run"})).await;
    release.await.expect("the holder committed");
    let main = entry(&report, "main");
    assert_eq!(rebuilt(main), ["public.a_id"], "{main:?}");
    let done = &main.reindexed[0];
    assert!(
        done.blocked_ms >= 1_500 && done.blocked_ms <= done.duration_ms,
        "{done:?}"
    );
    assert_eq!(
        serde_json::to_value(done).expect("json")["blocked_ms"],
        done.blocked_ms
    );

    let docs = emf_documents(&report, "IndexPilot", 1);
    let invocation = &docs[0];
    let target = docs
        .iter()
        .find(|d| d["Target"] == "main" && d.get("Reason").is_none())
        .expect("the target's document");
    let blocked = done.blocked_ms as f64 / 1000.0;
    for doc in [invocation, target] {
        assert_eq!(metric(doc, "Rebuilt"), 1.0, "{doc}");
        assert_eq!(metric(doc, "BlockedSeconds"), blocked, "{doc}");
        assert_eq!(
            metric(doc, "RebuildSeconds"),
            done.duration_ms as f64 / 1000.0,
            "{doc}"
        );
        assert_eq!(
            metric(doc, "BytesReclaimed"),
            (done.size_before - done.size_after) as f64,
            "{doc}"
        );
        assert_eq!(metric(doc, "IndexesScanned"), main.scanned as f64, "{doc}");
        assert_eq!(metric(doc, "Failed"), 0.0, "{doc}");
    }
    assert_eq!(invocation["Mode"], "run");
    // A target with one database: its name stands for the database.
    assert_eq!(target["Database"], "main");
}

/// A rebuild that does not wait is blocked for no time, and the report says nothing
/// about it.
#[tokio::test]
async fn a_rebuild_nobody_holds_up_is_not_blocked() {
    let fx = Fixture::new("metrics_free").await;
    fx.create_table("a", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;

    let report = fx.invoke(json!({"mode": "run"})).await;
    let main = &report.targets[0];
    assert_eq!(rebuilt(main), ["public.a_id"], "{main:?}");
    assert_eq!(main.reindexed[0].blocked_ms, 0);
    let entry = serde_json::to_value(&main.reindexed[0]).expect("json");
    assert!(entry.get("blocked_ms").is_none(), "{entry}");
    let docs = emf_documents(&report, "IndexPilot", 1);
    assert_eq!(metric(&docs[0], "BlockedSeconds"), 0.0);
}
