//! A control database that stops answering while a rebuild is watched (a failover
//! behind a name, a network that swallows packets: connections stay open, nothing
//! comes back) must not freeze the watch: it still cancels a rebuild that waited too
//! long, and still leaves one running to the server when the invocation's time is up.
//! The invocation then ends with the control database's error, not at Lambda's kill;
//! and a target that stops answering ends with the invocation's time.

use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::steps::batch;
use common::{json, Fixture};
use index_pilot::config::Source;
use index_pilot::report::Status;
use serde_json::json;
use tokio_postgres::Client;

/// A rebuild that waits for a young snapshot (so it is started, then waits), with the
/// control database reached through a proxy. Returns the proxy and the session that
/// holds the snapshot.
async fn held_rebuild(fx: &mut Fixture, max_rebuild_wait: &str) -> (Proxy, Client) {
    fx.create_table("held", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "max_rebuild_wait", max_rebuild_wait).await;
    let proxy = Proxy::start(fx.cluster.port).await;
    let through_proxy = format!(
        "postgresql://postgres@127.0.0.1:{}/{}",
        proxy.port, fx.control_db
    );
    fx.app.config.control.source = Source::Url(Box::new(through_proxy.parse().unwrap()));
    let (holder, _) = fx.session("dashboard").await;
    batch(&holder, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;").await;
    (proxy, holder)
}

async fn reindex_running(observer: &Client) -> bool {
    observer
        .query_one(
            "SELECT count(*) > 0 FROM pg_stat_activity
             WHERE application_name = 'index-pilot' AND query ILIKE 'REINDEX%'
               AND state = 'active' AND datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Black-holes the control database as soon as the rebuild's statement runs, before
/// the watch's first look; returns when that was.
async fn black_hole_once_started(proxy: &Proxy, observer: &Client) -> Instant {
    let began = Instant::now();
    while !reindex_running(observer).await {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "no rebuild started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.black_hole();
    Instant::now()
}

/// The cancel path: the rebuild waits longer than max_rebuild_wait and is cancelled
/// a few seconds after, the control database silent all along.
#[tokio::test]
async fn a_silent_control_database_does_not_keep_the_watch_from_cancelling() {
    let mut fx = Fixture::new("silent_cancel").await;
    let (proxy, holder) = held_rebuild(&mut fx, "2s").await;
    let observer = fx.target().await;
    let watch = async {
        let silent_since = black_hole_once_started(&proxy, &observer).await;
        while reindex_running(&observer).await {
            assert!(
                silent_since.elapsed() < Duration::from_secs(30),
                "the rebuild was not cancelled: the watch froze on the silent control database"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        silent_since.elapsed()
    };
    let invocation =
        tokio::time::timeout(Duration::from_secs(120), fx.invoke(json!({"mode": "run"})));
    let (report, cancelled_after) = tokio::join!(invocation, watch);
    let report = report.expect("the invocation must end although the control database is silent");
    assert!(
        cancelled_after < Duration::from_secs(15),
        "{cancelled_after:?}"
    );
    let target = &report.targets[0];
    assert_eq!(target.status, Status::Error, "{}", json(target));
    let reason = target.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("control database"), "{reason}");
    assert!(reason.contains("no answer"), "{reason}");
    batch(&holder, "COMMIT").await;
}

/// The time-up path: the invocation's time ends while the rebuild waits; the rebuild
/// is left to the server and the invocation ends.
#[tokio::test]
async fn a_silent_control_database_does_not_keep_the_watch_past_its_time() {
    let mut fx = Fixture::new("silent_time_up").await;
    let (proxy, holder) = held_rebuild(&mut fx, "1h").await;
    let observer = fx.target().await;
    let began = Instant::now();
    let invocation = tokio::time::timeout(
        Duration::from_secs(120),
        fx.invoke_within(json!({"mode": "run"}), Duration::from_secs(8)),
    );
    let (report, _) = tokio::join!(invocation, black_hole_once_started(&proxy, &observer));
    let report = report.expect("the invocation must end although the control database is silent");
    // The time-up came at the end of the budget; what followed is the control
    // database's bound, once (then it is given up).
    assert!(
        began.elapsed() < Duration::from_secs(60),
        "{:?}",
        began.elapsed()
    );
    let target = &report.targets[0];
    assert_eq!(
        target.in_progress.len(),
        1,
        "left to the server: {}",
        json(target)
    );
    assert!(reindex_running(&observer).await, "the rebuild goes on");
    batch(&holder, "COMMIT").await;
    let began = Instant::now();
    while reindex_running(&observer).await && began.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A target that stops answering once the work on it has begun (here its scan
/// connection, black-holed as soon as the rebuild connection opens: the next look at
/// the sessions before the rebuild never comes back) ends with the invocation's time:
/// the target is in error, the invocation ends.
#[tokio::test]
async fn a_silent_target_ends_with_the_invocations_time() {
    let fx = Fixture::new("silent_target").await;
    fx.create_table("calm", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let proxy = Proxy::start(fx.cluster.port).await;
    let fx = fx.target_at(proxy.port);
    let silence = async {
        while proxy.accepted() < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        proxy.black_hole_first();
    };
    let began = Instant::now();
    let invocation = tokio::time::timeout(
        Duration::from_secs(90),
        fx.invoke_within(json!({"mode": "run"}), Duration::from_secs(8)),
    );
    let (report, ()) = tokio::join!(invocation, silence);
    let report = report.expect("the invocation must end although the target is silent");
    assert!(
        began.elapsed() < Duration::from_secs(40),
        "{:?}",
        began.elapsed()
    );
    let target = &report.targets[0];
    assert_eq!(target.status, Status::Error, "{}", json(target));
    let reason = target.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("no answer from the target"), "{reason}");
}
