//! Failed rebuilds, told apart by their SQLSTATE: an index that cannot be rebuilt is
//! quarantined at once, one that keeps failing after a few runs, a server that cannot
//! take rebuilds stops the work on its target. And the rebuild session itself: every
//! timeout that could end a rebuild is off, the maintenance settings apply.

use common::recorded::{recorded, Table::History};
use common::steps::{batch, entry};
use common::{json, Fixture};
use serde_json::json;
use tokio_postgres::Client;
use tokio_postgres::Row;

mod session;

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// An expression that fails in the rebuild (P0001) quarantines its index at once: it
/// is reported in every run and in the view, not retried (not even with force), and
/// comes back once an operator releases it. The other index of the run is rebuilt.
#[tokio::test]
async fn an_index_that_cannot_be_rebuilt_is_quarantined_until_released() {
    let fx = Fixture::new("picky").await;
    fx.create_picky_index().await;
    fx.create_table("calm", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        &format!("ALTER DATABASE \"{}\" SET pilot.picky = 'on'", fx.target_db),
    )
    .await;

    let first = fx.invoke_main(json!({"mode": "run"})).await;
    let rebuilt: Vec<&str> = first.reindexed.iter().map(|r| r.index.as_str()).collect();
    assert_eq!(rebuilt, ["public.calm_id"], "{first:?}");
    let failed = json(&first.failed[0]);
    assert_eq!(failed["index"], "public.fussy_picky");
    assert_eq!(failed["sqlstate"], "P0001");
    assert_eq!(failed["class"], "index");
    assert_eq!(failed["quarantined"], true);
    // A raise may quote row values: only its kind, object and SQLSTATE are kept.
    let error = failed["error"].as_str().unwrap();
    assert!(!error.contains("picky refuses"), "{error}");
    assert!(error.contains("SQLSTATE P0001"), "{error}");
    let listed = json(&first)["quarantined"][0].clone();
    assert_eq!(listed["index"], "public.fussy_picky", "{first:?}");

    let control = fx.control().await;
    assert_eq!(
        count(&control, "SELECT count(*) FROM index_pilot.quarantined").await,
        1
    );
    for event in [
        json!({"mode": "run"}),
        json!({"mode": "reindex", "targets": ["main"], "index": "public.fussy_picky", "force": true}),
    ] {
        let again = fx.invoke_main(event.clone()).await;
        assert!(again.failed.is_empty(), "{event}: {again:?}");
        assert_eq!(
            json(&again)["quarantined"][0]["index"],
            "public.fussy_picky",
            "{event}"
        );
    }
    assert_eq!(
        recorded::<Row>(
            &control,
            History,
            "count(*)",
            "WHERE index_name = 'fussy_picky'",
            &[]
        )
        .await
        .get::<_, i64>(0),
        1,
        "a quarantined index was tried again"
    );

    // The operator fixes the cause and releases it, as the README says.
    batch(
        &fx.target().await,
        &format!("ALTER DATABASE \"{}\" RESET pilot.picky", fx.target_db),
    )
    .await;
    batch(
        &control,
        "UPDATE index_pilot.quarantine SET released_at = now(), released_by = current_user
         WHERE released_at IS NULL AND target = 'main' AND schema_name = 'public'
           AND index_name = 'fussy_picky'",
    )
    .await;
    let released = fx.invoke_main(json!({"mode": "run"})).await;
    let rebuilt: Vec<&str> = released
        .reindexed
        .iter()
        .map(|r| r.index.as_str())
        .collect();
    assert_eq!(rebuilt, ["public.fussy_picky"], "{released:?}");
    assert_eq!(json(&released)["quarantined"], json!([]));
}

/// Permission denied (42501: the role does not own the tables, the usual mistake) is
/// the target's setup, not the index's fault: the target is in error once, saying
/// what to grant; no index is quarantined, and the other candidates are not tried
/// one by one into the same wall.
#[tokio::test]
async fn permission_denied_is_the_targets_setup_and_quarantines_nothing() {
    let fx = Fixture::new("denied").await;
    fx.create_table("owned", 100_000).await;
    fx.create_table("other", 100_000).await;
    batch(
        &fx.target().await,
        "CREATE ROLE lowly LOGIN; GRANT pg_read_all_stats TO lowly;",
    )
    .await;
    let lowly = fx.url_as_role("lowly");
    let fx = fx.with_targets(json!([{"name": "main", "url": lowly}]));
    fx.set(&[], "index_size_threshold", "1MB").await;
    let run = fx.invoke(json!({"mode": "run"})).await;
    let report = entry(&run, "main");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failed = json(&report.failed[0]);
    assert_eq!(failed["sqlstate"], "42501", "{report:?}");
    assert_eq!(failed["class"], "target");
    assert_eq!(failed["quarantined"], false);
    let target = json(report);
    assert_eq!(target["status"], "error", "{target}");
    let reason = target["reason"].as_str().unwrap();
    assert!(reason.contains("OWNER TO \"lowly\""), "{reason}");
    assert_eq!(report.deferred.len(), 1, "{report:?}");
    assert_eq!(target["deferred"][0]["kind"], "server_refused");
    let control = fx.control().await;
    assert_eq!(
        count(&control, "SELECT count(*) FROM index_pilot.quarantine").await,
        0
    );
    assert_eq!(
        recorded::<Row>(&control, History, "count(*)", "", &[])
            .await
            .get::<_, i64>(0),
        1,
        "only one rebuild was tried"
    );
}

/// A setting the server would refuse in the rebuild session (maintenance_work_mem
/// above its maximum) is refused where it is made: the control database will not
/// store it, and a row stored before that check (the constraint dropped here) stops
/// its target before anything runs, naming the row: nothing is recorded against the
/// index.
#[tokio::test]
async fn a_session_setting_the_server_refuses_is_the_targets_problem() {
    let fx = Fixture::new("refused_setting").await;
    fx.create_table("roomy", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let control = fx.control().await;
    let refused = control
        .execute(
            "INSERT INTO index_pilot.settings (key, value) VALUES ('maintenance_work_mem', '3TB')",
            &[],
        )
        .await
        .unwrap_err();
    let refused = refused
        .as_db_error()
        .expect("the server's refusal")
        .message();
    assert!(refused.contains("settings_value_check"), "{refused}");
    batch(
        &control,
        "ALTER TABLE index_pilot.settings DROP CONSTRAINT settings_value_check;
         INSERT INTO index_pilot.settings (key, value) VALUES ('maintenance_work_mem', '3TB');",
    )
    .await;
    let run = fx.invoke(json!({"mode": "run"})).await;
    let report = entry(&run, "main");
    let target = json(report);
    assert!(report.failed.is_empty(), "{target}");
    assert_eq!(target["status"], "error", "{target}");
    let reason = target["reason"].as_str().unwrap();
    assert!(
        reason.contains("maintenance_work_mem") && reason.contains("2147483647 kB"),
        "{reason}"
    );
    assert_eq!(
        count(&control, "SELECT count(*) FROM index_pilot.quarantine").await,
        0
    );
    assert_eq!(
        recorded::<Row>(&control, History, "count(*)", "", &[])
            .await
            .get::<_, i64>(0),
        0
    );
}

/// A rebuild blocked by a lock timeout is retried by later runs and never
/// quarantined, however often (a weekly anti-wraparound vacuum holds its table for
/// hours): more runs than quarantine_after fail, none quarantines. Its leftovers are
/// dropped once the blocker is gone, and the index is rebuilt.
#[tokio::test]
async fn a_blocked_rebuild_is_retried_and_never_quarantined() {
    let fx = Fixture::new("stubborn").await;
    fx.create_table("busy", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "lock_timeout", "500ms").await;
    fx.set(&[], "quarantine_after", "2").await;
    let holder = fx.target().await;
    batch(
        &holder,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM busy;",
    )
    .await;
    for run in 1..=3 {
        let report = fx.invoke_main(json!({"mode": "run"})).await;
        let failed = json(&report.failed[0]);
        assert_eq!(failed["class"], "blocked", "run {run}: {report:?}");
        assert_eq!(failed["sqlstate"], "55P03");
        assert_eq!(failed["quarantined"], false, "run {run}: {report:?}");
        assert_eq!(json(&report)["quarantined"], json!([]), "run {run}");
    }
    let control = fx.control().await;
    assert_eq!(
        count(&control, "SELECT count(*) FROM index_pilot.quarantine").await,
        0
    );

    batch(&holder, "COMMIT").await;
    let after = fx.invoke_main(json!({"mode": "run"})).await;
    let dropped: Vec<&str> = after
        .leftovers
        .iter()
        .filter(|l| l.action == "ours: dropped")
        .map(|l| l.index.as_str())
        .collect();
    assert_eq!(
        dropped,
        [
            "public.busy_id_ccnew",
            "public.busy_id_ccnew1",
            "public.busy_id_ccnew2"
        ],
        "{after:?}"
    );
    let rebuilt: Vec<&str> = after.reindexed.iter().map(|r| r.index.as_str()).collect();
    assert_eq!(rebuilt, ["public.busy_id"], "{after:?}");
    let invalid = count(
        &fx.target().await,
        "SELECT count(*) FROM pg_index WHERE NOT indisvalid",
    )
    .await;
    assert_eq!(invalid, 0);
}

/// A rebuild ended by the server (here an administrator terminating it, 57P01, as a
/// shutdown or failover would) stops the work on its target for the run: the next
/// candidate is not tried, nothing is quarantined, the copy is dropped.
#[tokio::test]
async fn a_server_that_refuses_rebuilds_stops_work_on_the_target() {
    let fx = Fixture::new("refusing").await;
    common::create_slow_tables(&fx, 2, std::time::Duration::from_secs(4)).await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    let observer = fx.target().await;
    let terminate = async {
        let pid =
            common::watch::running_reindex(&observer, std::time::Duration::from_secs(20)).await;
        batch(&observer, &format!("SELECT pg_terminate_backend({pid})")).await;
    };
    let (report, ()) = tokio::join!(fx.invoke_main(json!({"mode": "run"})), terminate);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failed = json(&report.failed[0]);
    assert_eq!(failed["sqlstate"], "57P01");
    assert_eq!(failed["class"], "target");
    assert_eq!(failed["quarantined"], false);
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("dropped its leftover"),
        "{failed}"
    );
    assert!(
        report.deferred[0]
            .reason
            .contains("the server refused rebuilds for now"),
        "{:?}",
        report.deferred
    );
    assert_eq!(json(&report)["quarantined"], json!([]));
    let invalid = count(
        &observer,
        "SELECT count(*) FROM pg_index WHERE NOT indisvalid",
    )
    .await;
    assert_eq!(invalid, 0);
}
