//! Rebuilds and deadlines: a rebuild outlives the process that started it, one running
//! at the deadline is left to the server, the next hop waits for one that overran.

use super::*;

/// A rebuild that outlives its invocation: the process that started it is killed (as
/// Lambda ends an invocation); the server goes on building. A later invocation
/// reports its progress while it runs and records it when it has ended.
#[tokio::test]
async fn a_rebuild_outlives_the_process_that_started_it() {
    let fx = Fixture::new("outlive").await;
    create_slow_indexes(&fx, 1, Duration::from_secs(8)).await;
    small_indexes_count(&fx).await;
    let size_before = fx.index_size("public", "slow_0").await;

    // The child's invocation has 2 s: its lease and its run go stale 2 s after it starts.
    let budget = Duration::from_secs(2);
    let targets = json!([{"name": "main", "url": fx.cluster.url(&fx.target_db)}]).to_string();
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_index-pilot"))
        .args(["invoke", "--event", "-"])
        .env("INDEX_PILOT_CONTROL_URL", fx.cluster.url(&fx.control_db))
        .env("INDEX_PILOT_TARGETS", &targets)
        .env("INDEX_PILOT_BUDGET", "2s")
        .env("INDEX_PILOT_SAFETY_MARGIN", "0s")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(br#"{"mode": "run"}"#).unwrap();
    }
    let observer = fx.target().await;
    let reindex_running = || async {
        observer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'index-pilot'
                   AND query ILIKE 'REINDEX%' AND state = 'active'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
            == 1
    };
    let mut waited = 0;
    while !reindex_running().await {
        waited += 1;
        assert!(waited < 600, "the child never started the rebuild");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    tokio::time::sleep((budget + Duration::from_millis(500)).saturating_sub(started.elapsed()))
        .await;
    assert!(
        reindex_running().await,
        "killing the client stopped the server's rebuild"
    );

    // The next scheduled invocation takes the run over and follows the rebuild.
    let during = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), budget)
        .await;
    let entry = &during[0].targets[0];
    assert!(entry.reindexed.is_empty(), "{during:?}");
    assert_eq!(entry.in_progress.len(), 1, "{during:?}");
    assert_eq!(entry.in_progress[0].index, "public.slow_0");
    assert!(!entry.in_progress[0].phase.is_empty());
    assert!(!during[0].complete);
    // Bloated still, the index waits for its own rebuild to end: not for itself.
    let own = deferral(entry, "public.slow_0");
    assert!(
        own.reason
            .starts_with("its rebuild, started by an earlier invocation"),
        "{own:?}"
    );

    let mut waited = 0;
    while reindex_running().await {
        waited += 1;
        assert!(waited < 600, "the rebuild never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(budget).await;
    let after = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), budget)
        .await;
    let entry = &after[0].targets[0];
    assert_eq!(entry.reindexed.len(), 1, "{after:?}");
    let adopted = &entry.reindexed[0];
    assert!(adopted.adopted);
    assert_eq!(adopted.size_before as i64, size_before);
    assert_eq!(
        adopted.size_after as i64,
        fx.index_size("public", "slow_0").await
    );
    assert!(after.last().unwrap().complete);
    let row: Row = recorded(&fx.control().await, History, "status, size_after", "", &[]).await;
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(
        row.get::<_, Option<i64>>(1),
        Some(adopted.size_after as i64)
    );
    let invalid: i64 = observer
        .query_one("SELECT count(*) FROM pg_index WHERE NOT indisvalid", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(invalid, 0, "a _ccnew or _ccold index was left");
}

/// A rebuild still running when the invocation's time is up is left to the server:
/// the invocation ends on time and says so; a later one records how it ended.
#[tokio::test]
async fn a_rebuild_running_at_the_deadline_is_left_to_the_server() {
    let fx = Fixture::new("deadline").await;
    // 5 s to rebuild; the invocation has 2.5 s, which leaves time for its start
    // (a new control database's migrations, the scan) on a busy machine.
    create_slow_indexes(&fx, 1, Duration::from_secs(5)).await;
    small_indexes_count(&fx).await;
    let budget = Duration::from_millis(2500);
    let first = handle(
        &fx.app,
        LambdaEvent::new(json!({"mode": "run"}), lambda_context(budget)),
    )
    .await
    .unwrap();
    assert!(
        first.duration_ms <= 2_600,
        "it ended on time: {} ms",
        first.duration_ms
    );
    assert!(!first.complete);
    let entry = &first.targets[0];
    assert!(entry.reindexed.is_empty(), "{first:?}");
    assert_eq!(entry.in_progress.len(), 1, "{first:?}");
    assert_eq!(entry.in_progress[0].index, "public.slow_0");

    // It was predicted to fit (1 s, no history yet): the next hop waits for it a
    // little, then leaves it to the server too and chains no further.
    let next_hop = fx.app.reinvoker.next_event().expect("a next hop");
    let second = handle(&fx.app, LambdaEvent::new(next_hop, lambda_context(budget)))
        .await
        .unwrap();
    assert!(second.duration_ms <= 2_600, "{} ms", second.duration_ms);
    assert_eq!(second.targets[0].in_progress.len(), 1, "{second:?}");
    assert!(!second.complete);
    assert!(
        fx.app.reinvoker.next_event().is_none(),
        "nothing to chain while it runs"
    );

    // Once it has ended (and the run's last hop has gone quiet), the next scheduled
    // invocation records it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), budget)
        .await;
    let entry = &after[0].targets[0];
    assert_eq!(entry.reindexed.len(), 1, "{after:?}");
    assert!(entry.reindexed[0].adopted);
    assert!(after.last().unwrap().complete);
    assert_eq!(rebuild_counts(&fx).await, all_rebuilt_once(1));
}

/// A rebuild that overran its invocation by a little: the next hop waits for it,
/// records it and goes on, instead of leaving the run to the next schedule.
#[tokio::test]
async fn the_next_hop_waits_for_a_rebuild_that_overran_a_little() {
    let fx = Fixture::new("overran").await;
    // 2 s to rebuild, predicted at 1 s (no history yet): started with 1.8 s left, it
    // is still running at the deadline.
    create_slow_indexes(&fx, 1, Duration::from_secs(2)).await;
    small_indexes_count(&fx).await;
    // Migrate the new control database first, so the run starts at once.
    fx.invoke(json!({"mode": "dry_run"})).await;
    let first = handle(
        &fx.app,
        LambdaEvent::new(
            json!({"mode": "run"}),
            lambda_context(Duration::from_millis(1800)),
        ),
    )
    .await
    .unwrap();
    assert_eq!(first.targets[0].in_progress.len(), 1, "{first:?}");
    assert!(!first.complete);

    let next_hop = fx.app.reinvoker.next_event().expect("a next hop");
    let next = handle(
        &fx.app,
        LambdaEvent::new(next_hop, lambda_context(Duration::from_secs(5))),
    )
    .await
    .unwrap();
    let entry = &next.targets[0];
    assert!(entry.in_progress.is_empty(), "{next:?}");
    assert_eq!(entry.reindexed.len(), 1, "{next:?}");
    assert!(entry.reindexed[0].adopted);
    assert!(next.complete, "{next:?}");
    assert_eq!(rebuild_counts(&fx).await, all_rebuilt_once(1));
}
