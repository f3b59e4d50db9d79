//! The looks right before a rebuild: a window that closes, a server with no room,
//! an Aurora reader that lags, a look that fails after the slot was taken.

use super::*;

/// Keeps one cluster for the window tests' slow statements.
fn slow_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<&'static Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| lone_cluster(&[]))
}

/// A window that closes while the rebuild waits for its confirmation: it is not
/// started after the window has closed. The confirmation's ANALYZE takes about 6 s,
/// and the window closes a few seconds after the run begins.
#[tokio::test]
async fn a_window_that_closes_during_the_looks_starts_nothing() {
    let fx = Fixture::bare_on(slow_cluster(), "window_closes").await;
    create_slow_confirmation(&fx).await;
    let closes: String = fx
        .control()
        .await
        .query_one(
            "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '4 seconds', 'HH24:MI:SS')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let opened: String = fx
        .control()
        .await
        .query_one(
            "SELECT to_char(now() AT TIME ZONE 'UTC' - interval '1 minute', 'HH24:MI:SS')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    batch(
        &fx.control().await,
        &format!(
            "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
             VALUES ('main', '{opened}', '{closes}')"
        ),
    )
    .await;

    let main = fx.invoke_main(RUN()).await;
    assert!(
        main.reindexed.is_empty() && main.in_progress.is_empty(),
        "started after its window closed: {main:?}"
    );
    let deferred = deferral(&main, "public.lazy_k");
    assert_eq!(deferred.kind, DeferralKind::Window, "{deferred:?}");
    assert_eq!(main.confirmations.len(), 1, "{main:?}");
    let history: i64 = recorded::<Row>(&fx.control().await, History, "count(*)", "", &[])
        .await
        .get(0);
    assert_eq!(history, 0, "the slot it held is given back, no history row");
}

/// A large candidate is confirmed (ANALYZE, pgstatindex) only once its server has
/// room for its rebuild: while another target's rebuild holds the server, it is
/// deferred without a read.
#[tokio::test]
async fn nothing_is_read_for_a_rebuild_the_server_has_no_room_for() {
    let holder = Fixture::new("room_holder").await;
    common::create_slow_tables(&holder, 1, Duration::from_secs(8)).await;
    let fx = Fixture::bare("room_reader").await;
    fx.create_table("orders", 50_000).await;
    fx.set(&[], "initial_baseline", "current").await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    fx.set(&[], "confirm_size_threshold", "16kB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    fx.bloat("orders").await;
    let targets = json!([
        {"name": "main", "url": fx.cluster.url(&fx.target_db)},
        {"name": "holder", "url": fx.cluster.url(&holder.target_db)},
    ]);
    let fx = fx.with_targets(targets);
    for (key, value) in [
        ("initial_baseline", "rebuild"),
        ("index_size_threshold", "8kB"),
        ("minimum_reliable_index_size", "8kB"),
    ] {
        fx.set(&[("target", "holder")], key, value).await;
    }

    // The holder's slow rebuild runs in an invocation of its own; main's starts once
    // that rebuild holds the server.
    let holding = fx.invoke(json!({"mode": "run", "targets": ["holder"]}));
    let reading = async {
        // The holder's own build: other tests share the server and build indexes too.
        wait_until(
            &holder.target().await,
            "SELECT EXISTS (SELECT FROM pg_stat_progress_create_index
                            WHERE datname = current_database())",
            Duration::from_secs(30),
        )
        .await;
        fx.invoke(json!({"mode": "run", "targets": ["main"]})).await
    };
    let (held, report) = tokio::join!(holding, reading);
    let main = entry(&report, "main");
    let deferred = deferral(main, "public.orders_id");
    assert_eq!(deferred.kind, DeferralKind::ServerBusy, "{deferred:?}");
    assert!(
        main.confirmations.is_empty(),
        "read before the server had room: {:?}",
        main.confirmations
    );
    assert_eq!(rebuilt(entry(&held, "holder")), ["public.lazy_0_k"]);
    // With room, it is confirmed, then rebuilt.
    let report = fx.invoke(json!({"mode": "run", "targets": ["main"]})).await;
    let main = entry(&report, "main");
    assert_eq!(main.confirmations.len(), 1, "{main:?}");
    assert_eq!(rebuilt(main), ["public.orders_id"]);
}

/// On Aurora the readers are in `aurora_replica_status()`, not in
/// pg_stat_replication: a reader that lags holds back every rebuild. (A function of
/// that name and shape stands in for Aurora's.)
#[tokio::test]
async fn an_aurora_reader_that_lags_holds_back_every_rebuild() {
    let fx = Fixture::new("aurora_lag").await;
    fx.bloated_tables(&["orders", "items"], 20_000).await;
    batch(
        &fx.target().await,
        "CREATE TABLE reader_lag (server_id text, session_id text, replica_lag_in_msec real);
         INSERT INTO reader_lag VALUES
             ('orders-1', 'MASTER_SESSION_ID', NULL),
             ('orders-2', 'b3f1c2d4-0000-4000-8000-000000000002', 15),
             ('orders-3', 'b3f1c2d4-0000-4000-8000-000000000003', 95000);
         CREATE FUNCTION aurora_replica_status()
             RETURNS TABLE (server_id text, session_id text, replica_lag_in_msec real)
             LANGUAGE sql AS 'SELECT * FROM reader_lag';",
    )
    .await;

    let main = fx.invoke_main(RUN()).await;
    assert!(main.reindexed.is_empty(), "{main:?}");
    for index in ["public.items_id", "public.orders_id"] {
        let deferred = deferral(&main, index);
        assert_eq!(deferred.kind, DeferralKind::Replication);
        assert_eq!(
            deferred.reason,
            "not started: Aurora reader \"orders-3\" lags 1 min 35 s behind (max_replica_lag 1 min 00 s)"
        );
    }
    // Caught up, the rebuilds go ahead.
    batch(
        &fx.target().await,
        "UPDATE reader_lag SET replica_lag_in_msec = 20 WHERE server_id = 'orders-3'",
    )
    .await;
    let main = fx.invoke_main(RUN()).await;
    assert_eq!(rebuilt(&main), ["public.items_id", "public.orders_id"]);
}

/// A look after the slot that fails (the scan connection is terminated while the
/// confirmation's ANALYZE runs) gives the slot back: no history row is left
/// `in_progress` to hold the server and to be counted later as an interrupted rebuild.
#[tokio::test]
async fn a_look_that_fails_after_the_slot_gives_the_slot_back() {
    let fx = Fixture::bare_on(slow_cluster(), "look_fails").await;
    create_slow_confirmation(&fx).await;
    let observer = fx.cluster.connect("postgres").await;
    let terminate = async {
        wait_until(
            &observer,
            &format!(
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = '{}'
                                AND application_name = 'index-pilot' AND query ILIKE 'ANALYZE%')",
                fx.target_db
            ),
            Duration::from_secs(30),
        )
        .await;
        batch(
            &observer,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{}' AND application_name = 'index-pilot'
                   AND query ILIKE 'ANALYZE%'",
                fx.target_db
            ),
        )
        .await;
    };
    let (report, ()) = tokio::join!(fx.invoke(RUN()), terminate);
    let main = entry(&report, "main");
    assert_eq!(main.status, index_pilot::report::Status::Error, "{main:?}");
    let left: i64 = recorded::<Row>(
        &fx.control().await,
        History,
        "count(*)",
        "WHERE status = 'in_progress'",
        &[],
    )
    .await
    .get(0);
    assert_eq!(left, 0, "the slot is given back");
}
