//! A primary with a streaming standby: a standby that lags holds back every rebuild
//! on its primary, one whose lag this role may not see counts as lagging, and
//! between two rebuilds the standby replays the first before the second starts.

use common::recorded::{recorded, Table::History};
use common::replication::primary_with_standby;
use common::steps::{batch, deferral, rebuilt};
use common::{json as to_json, Cluster, Fixture};
use index_pilot::domain::deferral::DeferralKind;
use serde_json::json;
use tokio_postgres::Row;

/// A target database on `primary` (its control database on the shared cluster), with
/// two bloated candidates; the standby has replayed it all.
async fn on_primary(name: &str, primary: &Cluster, standby: &Cluster) -> Fixture {
    let fx = Fixture::new(name).await;
    primary.create_database(&fx.target_db).await;
    let fx = fx.target_at(primary.port);
    fx.bloated_tables(&["orders", "items"], 20_000).await;
    standby.replay_everything_of(primary).await;
    fx
}

#[tokio::test]
async fn a_standby_that_lags_holds_back_every_rebuild() {
    let (primary, standby) = primary_with_standby();
    let fx = on_primary("standby_lags", &primary, &standby).await;
    fx.set(&[], "max_replica_lag_bytes", "1MB").await;
    // The standby stops replaying; the primary writes on.
    batch(
        &standby.connect("postgres").await,
        "SELECT pg_wal_replay_pause()",
    )
    .await;
    batch(
        &fx.target().await,
        "CREATE TABLE churn AS SELECT g, md5(g::text) FROM generate_series(1, 100000) g",
    )
    .await;

    let main = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(main.reindexed.is_empty(), "{main:?}");
    for index in ["public.items_id", "public.orders_id"] {
        let deferred = deferral(&main, index);
        assert_eq!(deferred.kind, DeferralKind::Replication);
        assert!(
            deferred
                .reason
                .starts_with("not started: standby \"standby\" (client 127.0.0.1, async) replays ")
                && deferred.reason.ends_with("max_replica_lag_bytes 1024 kB)"),
            "{}",
            deferred.reason
        );
    }
    let hazard = to_json(&deferral(&main, "public.orders_id").hazard);
    assert_eq!(hazard["hazard"], "standby_lag");
    assert!(hazard["standby"]["replay_lag_bytes"].as_u64().unwrap() > 1 << 20);

    // Replaying again and caught up, the rebuilds go ahead.
    batch(
        &standby.connect("postgres").await,
        "SELECT pg_wal_replay_resume()",
    )
    .await;
    standby.replay_everything_of(&primary).await;
    let main = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&main), ["public.items_id", "public.orders_id"]);
}

#[tokio::test]
async fn a_standby_whose_lag_this_role_may_not_see_counts_as_lagging() {
    let (primary, standby) = primary_with_standby();
    let fx = on_primary("standby_unseen", &primary, &standby).await;
    batch(
        &fx.target().await,
        "CREATE ROLE pilot LOGIN;
         ALTER TABLE orders OWNER TO pilot;
         ALTER TABLE items OWNER TO pilot;",
    )
    .await;
    let targets = json!([{"name": "main", "url": primary.url_as("pilot", &fx.target_db)}]);
    let fx = fx.with_targets(targets);

    let main = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(main.reindexed.is_empty(), "{main:?}");
    let deferred = deferral(&main, "public.orders_id");
    assert_eq!(deferred.kind, DeferralKind::Replication);
    assert_eq!(
        deferred.reason,
        "not started: this role may not see how far 1 standby lags (GRANT pg_read_all_stats to it, or set max_replica_lag and max_replica_lag_bytes to off)"
    );

    batch(&fx.target().await, "GRANT pg_read_all_stats TO pilot").await;
    let main = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&main), ["public.items_id", "public.orders_id"]);
}

/// The standby applies each commit 3 s late: after the first rebuild, the second
/// waits until the standby has replayed it.
#[tokio::test]
async fn the_standby_replays_a_rebuild_before_the_next_starts() {
    let (primary, standby) = primary_with_standby();
    let on_standby = standby.connect("postgres").await;
    batch(
        &on_standby,
        "ALTER SYSTEM SET recovery_min_apply_delay = '3s'",
    )
    .await;
    batch(&on_standby, "SELECT pg_reload_conf()").await;
    let fx = on_primary("standby_replays", &primary, &standby).await;

    let main = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&main), ["public.items_id", "public.orders_id"]);
    let gaps: Vec<f64> = recorded::<Vec<Row>>(
        &fx.control().await,
        History,
        "extract(epoch FROM started_at - lag(finished_at) OVER (ORDER BY id))::float8",
        "ORDER BY id",
        &[],
    )
    .await
    .iter()
    .filter_map(|row| row.get::<_, Option<f64>>(0))
    .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(
        gaps[0] >= 2.0,
        "the second rebuild started {}s after the first ended, before the standby replayed it",
        gaps[0]
    );
}
