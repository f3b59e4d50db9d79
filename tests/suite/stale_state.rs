//! No stale state: a rebuild recorded as running holds its server's slot only while
//! its server process (pid and process start) is there; one nobody will settle (its
//! target removed from the configuration, its database dropped or recreated) is
//! closed; quarantine entries of indexes that are gone are released.

use common::recorded::{recorded, Table::History};
use common::steps::{batch, deferral, rebuilt};
use common::{json, Fixture};
use index_pilot::domain::deferral::DeferralKind;
use serde_json::json;
use tokio_postgres::Client;
use tokio_postgres::Row;

/// The server key the control database knows the fixture's cluster by (after a run
/// that rebuilt something).
async fn server_key(control: &Client) -> String {
    recorded::<Row>(
        control,
        History,
        "server",
        "WHERE server IS NOT NULL LIMIT 1",
        &[],
    )
    .await
    .get(0)
}

async fn database_oid(client: &Client) -> u32 {
    client
        .query_one(
            "SELECT oid FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// A rebuild recorded as running on `server` by `pid` started at `backend_start` (an
/// SQL expression), as an invocation that was killed leaves it. Returns its id.
async fn record_running(
    control: &Client,
    server: &str,
    (target, database, database_oid): (&str, &str, u32),
    pid: i32,
    backend_start: &str,
) -> i64 {
    control
        .query_one(
            &format!(
                "INSERT INTO index_pilot.reindex_history
                     (run_id, target, database_name, database_oid, schema_name, table_name,
                      index_name, access_method, index_oid_before, status, reason,
                      size_before, reltuples_before, backend_pid, backend_start, server,
                      server_limit)
                 VALUES (gen_random_uuid(), $1, $2, $3, 'public', 'gone', 'gone_id', 'btree',
                         1, 'in_progress', 'bloat', 1, 1, $4, {backend_start}, $5, 1)
                 RETURNING id"
            ),
            &[&target, &database, &database_oid, &pid, &server],
        )
        .await
        .unwrap()
        .get(0)
}

async fn row(control: &Client, id: i64) -> (String, Option<String>, Option<String>, bool) {
    let row: Row = recorded(
        control,
        History,
        "status, failure_class, error, backend_gone_at IS NOT NULL",
        "WHERE id = $1",
        &[&id],
    )
    .await;
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// A target removed from the configuration left a row behind. While its process runs
/// (pid and process start match) the server is busy; once that pid belongs to
/// another process (started later), the row is closed and the slot is free.
#[tokio::test]
async fn a_removed_targets_rebuild_holds_the_slot_only_while_its_process_runs() {
    let fx = Fixture::new("retired").await;
    fx.create_table("work", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    assert_eq!(
        rebuilt(&fx.invoke_main(json!({"mode": "run"})).await),
        ["public.work_id"]
    );
    let control = fx.control().await;
    let server = server_key(&control).await;
    let (session, pid) = fx.session("someone").await;
    let oid = database_oid(&session).await;
    let started = format!("(SELECT backend_start FROM pg_stat_activity WHERE pid = {pid})");
    let id = record_running(&control, &server, ("retired", "old", oid), pid, &started).await;

    fx.bloat("work").await;
    let busy = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(rebuilt(&busy).is_empty(), "{}", json(&busy));
    assert_eq!(
        deferral(&busy, "public.work_id").kind,
        DeferralKind::ServerBusy
    );
    assert_eq!(row(&control, id).await.0, "in_progress");

    // The pid now is someone else's process: the recorded one has ended.
    batch(
        &control,
        &format!(
            "UPDATE index_pilot.reindex_history SET backend_start = '2000-01-01' WHERE id = {id}"
        ),
    )
    .await;
    let free = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&free), ["public.work_id"], "{}", json(&free));
    let (status, class, error, _) = row(&control, id).await;
    assert_eq!(
        (status.as_str(), class.as_deref()),
        ("failed", Some("gone"))
    );
    assert!(error.unwrap().contains("no longer configured"));
    drop(session);
}

/// A configured target's row whose process is gone (an invocation killed mid-rebuild,
/// in another of its databases): it holds no slot, and stays for its own target to
/// settle.
#[tokio::test]
async fn a_dead_backend_frees_its_slot() {
    let fx = Fixture::new("dead_pid").await;
    fx.create_table("work", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    assert_eq!(
        rebuilt(&fx.invoke_main(json!({"mode": "run"})).await),
        ["public.work_id"]
    );
    let control = fx.control().await;
    let server = server_key(&control).await;
    // The control database exists on the same server: the row's database is there.
    let elsewhere = database_oid(&control).await;
    let id = record_running(
        &control,
        &server,
        ("main", "elsewhere", elsewhere),
        999_999,
        "now()",
    )
    .await;

    fx.bloat("work").await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&report), ["public.work_id"], "{}", json(&report));
    let (status, _, _, gone) = row(&control, id).await;
    assert_eq!(status, "in_progress");
    assert!(gone, "its slot is marked free");
}

/// A database dropped and created again under the same name: what the old one left
/// (a rebuild recorded as running, a quarantined index) is closed and released.
#[tokio::test]
async fn a_recreated_database_leaves_no_slot_and_no_quarantine() {
    let fx = Fixture::new("recreated").await;
    fx.create_picky_index().await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let target = fx.target().await;
    batch(
        &target,
        &format!("ALTER DATABASE \"{}\" SET pilot.picky = 'on'", fx.target_db),
    )
    .await;
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        json(&first)["quarantined"][0]["index"],
        "public.fussy_picky"
    );
    let control = fx.control().await;
    let server = server_key(&control).await;
    let old_oid = database_oid(&target).await;
    let id = record_running(
        &control,
        &server,
        ("main", &fx.target_db, old_oid),
        999_999,
        "now()",
    )
    .await;
    drop(target);

    let postgres = fx.cluster.connect("postgres").await;
    for statement in [
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            fx.target_db
        ),
        format!("DROP DATABASE \"{}\"", fx.target_db),
        format!("CREATE DATABASE \"{}\"", fx.target_db),
    ] {
        batch(&postgres, &statement).await;
    }
    fx.create_table("fresh", 100_000).await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&report), ["public.fresh_id"], "{}", json(&report));
    let (status, class, error, _) = row(&control, id).await;
    assert_eq!(
        (status.as_str(), class.as_deref()),
        ("failed", Some("gone"))
    );
    assert!(error.unwrap().contains("dropped or recreated"));
    assert_eq!(
        count(&control, "SELECT count(*) FROM index_pilot.quarantined").await,
        0
    );
}

/// A quarantined index that was dropped is released: nothing is left to release by
/// hand, and the quarantine no longer shows it.
#[tokio::test]
async fn the_quarantine_of_a_dropped_index_is_released() {
    let fx = Fixture::new("dropped_quarantined").await;
    fx.create_picky_index().await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let target = fx.target().await;
    batch(
        &target,
        &format!("ALTER DATABASE \"{}\" SET pilot.picky = 'on'", fx.target_db),
    )
    .await;
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        json(&first)["quarantined"][0]["index"],
        "public.fussy_picky"
    );
    batch(&target, "DROP INDEX fussy_picky").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(json(&report)["quarantined"], json!([]), "{}", json(&report));
    let control = fx.control().await;
    assert_eq!(
        count(&control, "SELECT count(*) FROM index_pilot.quarantined").await,
        0
    );
    let released_by: String = control
        .query_one("SELECT released_by FROM index_pilot.quarantine", &[])
        .await
        .unwrap()
        .get(0);
    assert!(released_by.contains("no longer exists"), "{released_by}");
}

/// The sweep: a row of a removed target whose process has ended is closed by the next
/// run of any target on its server, also when that run wants no slot.
#[tokio::test]
async fn a_removed_targets_ended_rebuild_is_closed_by_the_next_run_on_its_server() {
    let fx = Fixture::new("swept").await;
    fx.create_table("work", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    assert_eq!(
        rebuilt(&fx.invoke_main(json!({"mode": "run"})).await),
        ["public.work_id"]
    );
    let control = fx.control().await;
    let server = server_key(&control).await;
    let oid = database_oid(&fx.target().await).await;
    let id = record_running(&control, &server, ("retired", "old", oid), 999_999, "now()").await;

    let quiet = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(rebuilt(&quiet).is_empty(), "{}", json(&quiet));
    let (status, class, error, _) = row(&control, id).await;
    assert_eq!(
        (status.as_str(), class.as_deref()),
        ("failed", Some("gone"))
    );
    assert!(error.unwrap().contains("no longer configured"));
}
