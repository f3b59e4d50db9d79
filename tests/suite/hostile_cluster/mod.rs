//! The cluster around the primary is part of the primary: a replication slot nobody
//! reads, synchronous standbys that are missing, a table past its freeze age, a
//! database near wraparound and a vacuum on the table each keep a rebuild from
//! starting, named in the report with their numbers; what they do not touch is
//! rebuilt. And what a rebuild waits for before its statement (the server's slot, a
//! confirmation) does not let it start after its window has closed.

use std::sync::OnceLock;
use std::time::Duration;

use common::recorded::{recorded, Table::History};
use common::steps::{batch, deferral, entry, rebuilt};
use common::watch::wait_until;
use common::{create_slow_confirmation, json as to_json, Cluster, Fixture};
use index_pilot::domain::deferral::DeferralKind;
use serde_json::json;
use tokio_postgres::Row;

mod looks;

const RUN: fn() -> serde_json::Value = || json!({"mode": "run"});

/// A cluster apart from the shared one, for what reaches every database of a server.
fn lone_cluster(settings: &'static [(&'static str, &'static str)]) -> &'static Cluster {
    Box::leak(Box::new(Cluster::start_with(settings)))
}

#[tokio::test]
async fn a_slot_that_would_keep_too_much_wal_defers_the_rebuild() {
    let fx = Fixture::bare_on(lone_cluster(&[]), "slot_keeps").await;
    fx.set(&[], "initial_baseline", "rebuild").await;
    // A standby that went away and left its slot: the WAL from now on is kept for it.
    batch(
        &fx.target().await,
        "SELECT pg_create_physical_replication_slot('gone_standby', true)",
    )
    .await;
    fx.bloated_tables(&["orders", "items"], 50_000).await;
    fx.set(&[], "max_slot_retained_wal", "1MB").await;

    // A dry run says what a run would meet.
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(
        deferral(&dry, "public.orders_id").kind,
        DeferralKind::Replication,
        "{dry:?}"
    );
    let main = fx.invoke_main(RUN()).await;
    assert!(main.reindexed.is_empty(), "{main:?}");
    let deferred = deferral(&main, "public.orders_id");
    assert_eq!(deferred.kind, DeferralKind::Replication);
    assert!(
        deferred
            .reason
            .contains("replication slot \"gone_standby\" (physical, inactive) keeps")
            && deferred.reason.contains("max_slot_retained_wal (1024 kB)"),
        "{}",
        deferred.reason
    );
    let hazard = to_json(&deferred.hazard);
    assert_eq!(hazard["hazard"], "slot_retains", "{hazard}");
    assert_eq!(hazard["slot"]["name"], "gone_standby");
    assert!(hazard["slot"]["retained_bytes"].as_u64().unwrap() > 0);

    // Off, the slot is not looked at.
    batch(
        &fx.control().await,
        "UPDATE index_pilot.settings SET value = 'off' WHERE key = 'max_slot_retained_wal'",
    )
    .await;
    let main = fx.invoke_main(RUN()).await;
    assert_eq!(rebuilt(&main), ["public.items_id", "public.orders_id"]);
    batch(
        &fx.target().await,
        "SELECT pg_drop_replication_slot('gone_standby')",
    )
    .await;
}

/// With synchronous_standby_names set and no standby streaming, every commit waits
/// for ever: a rebuild that started would hang in its first commit.
#[tokio::test]
async fn missing_synchronous_standbys_keep_every_rebuild_from_starting() {
    let cluster = lone_cluster(&[("synchronous_standby_names", "ghost")]);
    let fx = Fixture::bare_on(cluster, "no_sync_standby").await;
    // The test's own sessions and the control database commit locally; index-pilot's
    // sessions in the target keep the server's synchronous_commit.
    let admin = cluster.connect("postgres").await;
    for database in [&fx.control_db, &fx.target_db] {
        batch(
            &admin,
            &format!("ALTER DATABASE \"{database}\" SET synchronous_commit = local"),
        )
        .await;
    }
    fx.set(&[], "initial_baseline", "rebuild").await;
    fx.bloated_tables(&["orders", "items"], 20_000).await;
    // The test clusters do not wait for their disks (synchronous_commit = off); a
    // primary that waits for standbys does.
    batch(
        &admin,
        &format!(
            "ALTER DATABASE \"{}\" SET synchronous_commit = on",
            fx.target_db
        ),
    )
    .await;

    let main = tokio::time::timeout(Duration::from_secs(60), fx.invoke_main(RUN()))
        .await
        .expect("a rebuild waited for a synchronous standby that is not there");
    assert!(main.reindexed.is_empty(), "{main:?}");
    for index in ["public.items_id", "public.orders_id"] {
        let deferred = deferral(&main, index);
        assert_eq!(deferred.kind, DeferralKind::Replication);
        assert!(
            deferred.reason.contains(
                "synchronous_standby_names (\"ghost\") asks for 1 synchronous standby, and 0 standbys are streaming"
            ),
            "{}",
            deferred.reason
        );
    }
}

/// Burns `count` transaction ids, one subtransaction each.
async fn burn_transaction_ids(fx: &Fixture, count: u32) {
    batch(
        &fx.target().await,
        &format!(
            "CREATE TABLE IF NOT EXISTS burn (n int);
             DO $$ BEGIN
                 FOR i IN 1..{count} LOOP
                     BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN others THEN NULL; END;
                 END LOOP;
             END $$;"
        ),
    )
    .await;
}

#[tokio::test]
async fn a_table_past_its_freeze_age_waits_for_its_vacuum() {
    let fx = Fixture::new("freeze_age").await;
    fx.bloated_tables(&["old_orders", "young_orders"], 50_000)
        .await;
    // Autovacuum must freeze old_orders at 100,000 transactions (its own setting);
    // young_orders has the server's 200 million.
    batch(
        &fx.target().await,
        "ALTER TABLE old_orders SET (autovacuum_freeze_max_age = 100000)",
    )
    .await;
    burn_transaction_ids(&fx, 100_010).await;

    let main = fx.invoke_main(RUN()).await;
    assert_eq!(rebuilt(&main), ["public.young_orders_id"], "{main:?}");
    let deferred = deferral(&main, "public.old_orders_id");
    assert_eq!(deferred.kind, DeferralKind::Wraparound);
    assert!(
        deferred.reason.starts_with(
            "not started: table public.old_orders is past its freeze age (age(relfrozenxid) "
        ) && deferred
            .reason
            .contains("autovacuum_freeze_max_age 100000;"),
        "{}",
        deferred.reason
    );
    let hazard = to_json(&deferred.hazard);
    assert!(
        hazard["ages"]["table_xid_age"].as_i64().unwrap() > 100_000,
        "{hazard}"
    );
}

#[tokio::test]
async fn a_database_near_wraparound_starts_nothing() {
    let fx = Fixture::new("wraparound").await;
    fx.bloated_tables(&["orders", "items"], 20_000).await;
    let age: i64 = fx
        .target()
        .await
        .query_one(
            "SELECT age(datfrozenxid)::int8 FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    fx.set(&[], "wraparound_danger_age", &age.to_string()).await;

    let main = fx.invoke_main(RUN()).await;
    assert!(main.reindexed.is_empty(), "{main:?}");
    for index in ["public.items_id", "public.orders_id"] {
        let deferred = deferral(&main, index);
        assert_eq!(deferred.kind, DeferralKind::Wraparound);
        assert!(
            deferred.reason.contains(&format!(
                "database {} is near wraparound (age(datfrozenxid) ",
                fx.target_db
            )),
            "{}",
            deferred.reason
        );
    }
}

#[tokio::test]
async fn a_vacuum_on_the_table_defers_its_indexes_only() {
    let fx = Fixture::new("vacuuming").await;
    fx.bloated_tables(&["busy", "calm"], 50_000).await;
    // Every page of busy to visit again, and a VACUUM throttled to a page per 100 ms:
    // half a minute and more.
    batch(&fx.target().await, "UPDATE busy SET payload = payload").await;
    let (vacuum, pid) = fx.session("slow_vacuum").await;
    batch(
        &vacuum,
        "SET vacuum_cost_delay = '100ms'; SET vacuum_cost_limit = 1",
    )
    .await;
    // Alone in its query: VACUUM does not run in a transaction block.
    let vacuuming = tokio::spawn(async move { vacuum.batch_execute("VACUUM busy").await });
    let observer = fx.target().await;
    wait_until(
        &observer,
        &format!(
            "SELECT EXISTS (SELECT FROM pg_stat_progress_vacuum WHERE pid = {pid}
                            AND relid = 'busy'::regclass)"
        ),
        Duration::from_secs(30),
    )
    .await;

    let main = fx.invoke_main(RUN()).await;
    assert_eq!(rebuilt(&main), ["public.calm_id"], "{main:?}");
    let deferred = deferral(&main, "public.busy_id");
    assert_eq!(deferred.kind, DeferralKind::Vacuum);
    assert!(
        deferred
            .reason
            .starts_with(&format!("not started: a VACUUM (pid {pid}, "))
            && deferred.reason.contains("is processing table public.busy"),
        "{}",
        deferred.reason
    );
    batch(&observer, &format!("SELECT pg_cancel_backend({pid})")).await;
    assert!(
        vacuuming.await.unwrap().is_err(),
        "the vacuum was cancelled"
    );
}
