//! What a failed rebuild leaves, end to end: `_ccnew` copies dropped at once or later,
//! others' leftovers reported, and a failed statement that has ended when it returns.

use common::recorded::{recorded, Table::History};
use common::steps::{names, rebuilt};
use common::Fixture;
use serde_json::json;
use tokio_postgres::Row;

/// A REINDEX that fails after its build (here: a lock timeout while it waits for an
/// old transaction) leaves `<index>_ccnew`: index-pilot drops it at once when it can,
/// records it when it cannot, and drops it on a later run. After one blocked rebuild
/// nothing else starts on the target in that invocation. Others' leftovers are
/// reported and left alone.
#[tokio::test]
async fn leftovers_of_a_failed_rebuild_are_cleaned_up() {
    let fx = Fixture::new("leftovers").await;
    fx.create_table("busy", 100_000).await;
    fx.create_table("quiet", 100_000).await;
    fx.target()
        .await
        .batch_execute(
            "CREATE TABLE other (v int); INSERT INTO other SELECT 1 FROM generate_series(1, 10)",
        )
        .await
        .unwrap();
    // Somebody else's interrupted build: an invalid index whose name looks like ours.
    assert!(fx
        .target()
        .await
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY other_v_ccnew ON other (v)")
        .await
        .is_err());
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "lock_timeout", "1s").await;

    // An open transaction that has read `busy`, young enough not to defer anything:
    // REINDEX CONCURRENTLY of busy_id waits for its snapshot and times out after the
    // build; so does the drop of its leftover, which waits for the lock the
    // transaction holds on `busy`.
    let holder = fx.target().await;
    holder
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM busy;")
        .await
        .unwrap();
    let holder_pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(first.reindexed.is_empty(), "{:?}", first.reindexed);
    assert_eq!(first.failed.len(), 1, "{:?}", first.failed);
    let busy = &first.failed[0];
    assert_eq!(busy.index, "public.busy_id");
    assert!(busy.error.contains("lock timeout"), "{busy:?}");
    assert_eq!(busy.sqlstate.as_deref(), Some("55P03"));
    assert_eq!(
        busy.class,
        index_pilot::domain::failure::FailureClass::Blocked
    );
    assert_eq!(busy.blocked_by[0].session.pid, Some(holder_pid), "{busy:?}");
    assert!(
        busy.error.contains("leftover public.busy_id_ccnew kept"),
        "{busy:?}"
    );
    // The first blocked rebuild stops the others for this invocation.
    let quiet = first
        .deferred
        .iter()
        .find(|d| d.index == "public.quiet_id")
        .unwrap();
    assert!(quiet.reason.contains("was blocked"), "{quiet:?}");
    let others = first
        .leftovers
        .iter()
        .find(|l| l.index == "public.other_v_ccnew")
        .unwrap();
    assert_eq!(others.action, "not ours: reported only");
    assert!(!others.ours);

    assert_eq!(
        names(&fx.invalid_indexes().await),
        ["busy_id_ccnew", "other_v_ccnew"]
    );
    let statuses: Vec<String> =
        recorded::<Vec<Row>>(&fx.control().await, History, "status", "", &[])
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(statuses, ["failed"]);

    holder.batch_execute("COMMIT").await.unwrap();
    let second = fx.invoke_main(json!({"mode": "run"})).await;
    let ours = second
        .leftovers
        .iter()
        .find(|l| l.index == "public.busy_id_ccnew")
        .unwrap();
    assert_eq!(ours.action, "ours: dropped");
    assert!(ours.ours);
    assert_eq!(rebuilt(&second), ["public.busy_id", "public.quiet_id"]);
    assert_eq!(names(&fx.invalid_indexes().await), ["other_v_ccnew"]);
}

/// A failed statement has ended in the server when `execute_to_the_end` returns (the
/// rebuild connection runs REINDEX and DROP INDEX through it): the engine's next check
/// on its other connection, whether a build is in progress on the table, must not see
/// the failed rebuild still at work. The server reports an error before it rolls back;
/// this statement fails after creating many tables, so its rollback takes a while.
#[tokio::test]
async fn a_failed_statement_has_ended_in_the_server_when_it_returns() {
    let fx = Fixture::new("rollback").await;
    let worker = fx.target().await;
    let observer = fx.target().await;
    let pid: i32 = worker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let slow_rollback = "DO $$ BEGIN
            FOR i IN 1..2000 LOOP EXECUTE format('CREATE TABLE slow_rollback_%s (a int)', i); END LOOP;
            RAISE EXCEPTION 'fails after its work';
        END $$";
    for attempt in 1..=3 {
        let error = index_pilot::pg::execute_to_the_end(&worker, slow_rollback)
            .await
            .expect_err("the statement fails");
        // A raise's own words are left out (they may quote row values): its code says.
        assert_eq!(error.sqlstate(), Some("P0001"), "{error}");
        let locks: i64 = observer
            .query_one("SELECT count(*) FROM pg_locks WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            locks, 0,
            "attempt {attempt}: the failed statement still holds locks"
        );
    }
}
