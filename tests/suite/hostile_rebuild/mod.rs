//! What production does to a rebuild: others' invalid indexes that look like ours,
//! old snapshots and idle transactions, failures after the swap, a clock that
//! disagrees, a connection that breaks while the server goes on building.

use std::time::{Duration, Instant};

use common::recorded::{
    recorded,
    Table::{History, IndexState},
};
use common::steps::{batch, names, rebuilt};
use common::watch::wait_until;
use common::{create_slow_tables, json, Fixture};
use serde_json::json;
use tokio_postgres::Client;
use tokio_postgres::Row;

mod swap;

async fn history(fx: &Fixture) -> Vec<(String, String)> {
    let rows: Vec<Row> = recorded(
        &fx.control().await,
        History,
        "index_name, status",
        "ORDER BY id",
        &[],
    )
    .await;
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// Starts `index`'s rebuild in an invocation too short for it (the server goes on),
/// waits until its copy is being built, then terminates the server process: the
/// rebuild fails in the server, leaving its copy.
async fn interrupt_rebuild(fx: &Fixture, index: &str, observer: &Client) {
    let event = json!({"mode": "reindex", "targets": ["main"], "index": index, "force": true});
    let report = fx.invoke_within(event, Duration::from_millis(2500)).await;
    let entry = &report.targets[0];
    assert_eq!(entry.in_progress.len(), 1, "{report:?}");
    let pid = entry.in_progress[0].pid;
    wait_until(
        observer,
        &format!(
            "SELECT EXISTS (SELECT FROM pg_stat_progress_create_index
                 WHERE pid = {pid} AND phase LIKE 'building index%')"
        ),
        Duration::from_secs(20),
    )
    .await;
    batch(observer, &format!("SELECT pg_terminate_backend({pid})")).await;
    wait_until(
        observer,
        &format!("SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = {pid})"),
        Duration::from_secs(20),
    )
    .await;
}

/// Someone else's invalid indexes — `orders_ccnew`, `fragile_idx_ccnew` (failed
/// CREATE INDEX CONCURRENTLY under names that look like our copies) and one with an
/// unrelated name — survive every mode, including interrupted rebuilds of
/// `orders_idx` and `fragile_idx`, whose own copies are dropped.
#[tokio::test]
async fn only_our_leftovers_are_dropped_known_by_identity() {
    let fx = Fixture::new("identity").await;
    create_slow_tables(&fx, 0, Duration::from_secs(4)).await;
    let target = fx.target().await;
    for table in ["orders", "fragile"] {
        batch(
            &target,
            &format!(
                "CREATE TABLE {table} (id int, k text, dup int);
                 INSERT INTO {table} SELECT g, md5(g::text), 1 FROM generate_series(1, 100) g;"
            ),
        )
        .await;
    }
    batch(
        &target,
        "CREATE INDEX orders_idx ON orders (slow_key(k));
         CREATE INDEX fragile_idx ON fragile (slow_key(k));",
    )
    .await;
    // Failed builds of someone else: duplicates make each unique build fail.
    for (name, table) in [
        ("orders_ccnew", "orders"),
        ("fragile_idx_ccnew", "fragile"),
        ("half_built_thing", "orders"),
    ] {
        let failed = target
            .batch_execute(&format!(
                "CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} (dup)"
            ))
            .await;
        assert!(failed.is_err(), "{name} was meant to fail");
    }
    fx.vacuum("orders, fragile").await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    let foreign = fx.invalid_indexes().await;
    assert_eq!(
        names(&foreign),
        ["fragile_idx_ccnew", "half_built_thing", "orders_ccnew"]
    );

    for mode in ["dry_run", "baseline", "run"] {
        fx.invoke_main(json!({"mode": mode})).await;
        assert_eq!(fx.invalid_indexes().await, foreign, "after {mode}");
    }

    interrupt_rebuild(&fx, "public.orders_idx", &target).await;
    assert_eq!(
        names(&fx.invalid_indexes().await),
        [
            "fragile_idx_ccnew",
            "half_built_thing",
            "orders_ccnew",
            "orders_idx_ccnew"
        ]
    );
    // The next invocation settles the interrupted rebuild and drops its copy only;
    // then it starts fragile_idx's, which is interrupted in turn. Its copy is
    // fragile_idx_ccnew1: the name without a number was taken.
    interrupt_rebuild(&fx, "public.fragile_idx", &target).await;
    let after_orders = fx.invalid_indexes().await;
    assert_eq!(
        names(&after_orders),
        [
            "fragile_idx_ccnew",
            "fragile_idx_ccnew1",
            "half_built_thing",
            "orders_ccnew"
        ]
    );
    let settled = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.orders_idx"}))
        .await;
    let fragile = settled
        .failed
        .iter()
        .find(|f| f.index == "public.fragile_idx")
        .unwrap_or_else(|| panic!("{settled:?}"));
    assert!(
        fragile
            .error
            .contains("dropped its leftover public.fragile_idx_ccnew1"),
        "{fragile:?}"
    );
    assert_eq!(fx.invalid_indexes().await, foreign);
    // And nothing of ours is left to drop later either.
    let recorded: i64 = fx
        .control()
        .await
        .query_one("SELECT count(*) FROM index_pilot.leftovers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 0);
    // Every one of them is reported, with its size and whether writes maintain it.
    let report = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(report.leftovers.len(), 3, "{:?}", report.leftovers);
    for leftover in &report.leftovers {
        assert_eq!(leftover.action, "not ours: reported only", "{leftover:?}");
        let shown = json(leftover);
        assert_eq!(shown["ours"], false);
        assert!(shown["size_bytes"].is_u64(), "{leftover:?}");
        assert!(shown["maintained_by_writes"].is_boolean(), "{leftover:?}");
    }
}

/// A session with a snapshot older than max_blocker_age defers every rebuild of its
/// database, a writer that old defers its table's: the report names them (pid, user,
/// application, client, state, age; never their query), nothing starts, nothing is
/// left behind.
#[tokio::test]
async fn an_old_transaction_defers_rebuilds_and_is_named() {
    let fx = Fixture::new("oldxact").await;
    fx.create_table("a", 100_000).await;
    fx.create_table("b", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "max_blocker_age", "1s").await;
    let (reporting, reporting_pid) = fx.session("reporting-job").await;
    batch(
        &reporting,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 'secret-token-4711';",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let report = tokio::time::timeout(
        Duration::from_secs(30),
        fx.invoke_main(json!({"mode": "run"})),
    )
    .await
    .expect("the run ended without waiting for the old transaction");
    assert!(
        report.reindexed.is_empty() && report.failed.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.deferred.len(), 2, "{:?}", report.deferred);
    for deferred in &report.deferred {
        let blocker = &json(deferred)["blocker"];
        assert_eq!(blocker["pid"], reporting_pid, "{deferred:?}");
        assert_eq!(blocker["user"], "postgres");
        assert_eq!(blocker["application"], "reporting-job");
        assert_eq!(blocker["client_addr"], "127.0.0.1");
        assert_eq!(blocker["state"], "idle in transaction");
        assert_eq!(blocker["holds"], "snapshot");
        assert!(blocker["transaction_age_s"].as_f64().unwrap() >= 1.5);
        assert!(deferred.reason.contains("holds a snapshot"), "{deferred:?}");
    }
    assert!(!serde_json::to_string(&report)
        .unwrap()
        .contains("secret-token"));
    assert!(history(&fx).await.is_empty(), "a rebuild was started");
    assert!(fx.invalid_indexes().await.is_empty());
    batch(&reporting, "COMMIT").await;

    // A writer on b, idle in its transaction: only b's index waits.
    let (writer, writer_pid) = fx.session("batch-loader").await;
    batch(&writer, "BEGIN; INSERT INTO b VALUES (0, 'x');").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&report), ["public.a_id"], "{report:?}");
    let b = &report.deferred[0];
    assert_eq!(b.index, "public.b_id");
    assert_eq!(json(b)["blocker"]["pid"], writer_pid);
    assert_eq!(json(b)["blocker"]["holds"], "lock_on_table");
    batch(&writer, "COMMIT").await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&report), ["public.b_id"]);

    // A prepared transaction nobody committed holds its lock on c for ever. (c is
    // new: the control database forgets the scans so that c, without a baseline, is a
    // candidate as at a first scan, under initial_baseline = rebuild.)
    fx.create_table("c", 100_000).await;
    batch(
        &fx.control().await,
        "DELETE FROM index_pilot.database_scans",
    )
    .await;
    batch(
        &writer,
        "BEGIN; INSERT INTO c VALUES (0, 'y'); PREPARE TRANSACTION 'forgotten';",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    batch(&writer, "ROLLBACK PREPARED 'forgotten'").await;
    assert!(report.reindexed.is_empty(), "{report:?}");
    let c = &json(&report.deferred[0]);
    assert_eq!(c["index"], "public.c_id", "{report:?}");
    assert_eq!(c["blocker"]["holds"], "prepared_transaction");
    assert_eq!(c["blocker"]["state"], "prepared");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("a prepared transaction"),
        "{c}"
    );
}

/// A young transaction holding a snapshot makes the rebuild wait at its end; after
/// max_rebuild_wait index-pilot cancels it (its own backend only), drops its copy,
/// names whom it waited for, and starts nothing else on the target in that run.
#[tokio::test]
async fn a_rebuild_waiting_too_long_is_cancelled_and_nothing_else_starts() {
    let fx = Fixture::new("waiting").await;
    fx.create_table("a", 100_000).await;
    fx.create_table("b", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "max_rebuild_wait", "1s").await;
    let (holder, holder_pid) = fx.session("dashboard").await;
    batch(&holder, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;").await;

    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(40),
        fx.invoke_main(json!({"mode": "run"})),
    )
    .await
    .expect("the run ended well before lock_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(report.reindexed.is_empty(), "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failed = &report.failed[0];
    let failed_json = json(failed);
    assert_eq!(failed_json["class"], "blocked");
    assert_eq!(failed_json["sqlstate"], "57014");
    assert_eq!(failed_json["blocked_by"][0]["pid"], holder_pid);
    assert!(
        failed
            .error
            .contains("cancelled by index-pilot after waiting"),
        "{failed:?}"
    );
    assert!(failed.error.contains("dropped its leftover"), "{failed:?}");
    let other = &report.deferred[0];
    assert!(other.reason.contains("was blocked"), "{other:?}");
    assert!(fx.invalid_indexes().await.is_empty());
    // The holder is still there: only our own backend was cancelled.
    batch(&holder, "SELECT 1; COMMIT;").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&report), ["public.a_id", "public.b_id"]);
}
