//! Following a rebuild of ours that runs on in the server: known by its process id
//! and process start on the target's own clock, whatever the control database's
//! clock says; nothing dropped or started beside it; a broken connection is no end.

use std::time::Duration;

use common::proxy::Proxy;
use common::recorded::{
    recorded,
    Table::{History, IndexState},
};
use common::steps::{batch, names, rebuilt};
use common::watch::{running_reindex, wait_until, BuildSampler};
use common::{create_slow_tables, Fixture};
use serde_json::json;
use tokio_postgres::Row;

/// The control database's clock an hour behind the target's: a rebuild that an
/// earlier invocation left running is still known as running (by its process id and
/// process start, both from the target), and nothing starts beside it.
#[tokio::test]
async fn a_skewed_control_clock_does_not_hide_a_running_rebuild() {
    let fx = Fixture::new("skew").await;
    create_slow_tables(&fx, 2, Duration::from_secs(6)).await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    batch(
        &fx.control().await,
        "CREATE FUNCTION index_pilot.an_hour_behind() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN NEW.started_at := NEW.started_at - interval '1 hour'; RETURN NEW; END $$;
         CREATE TRIGGER an_hour_behind BEFORE INSERT ON index_pilot.reindex_history
         FOR EACH ROW EXECUTE FUNCTION index_pilot.an_hour_behind();",
    )
    .await;
    let sampler = BuildSampler::start(fx.target().await);

    let first = fx
        .invoke_within(json!({"mode": "run"}), Duration::from_secs(2))
        .await;
    let started = &first.targets[0].in_progress;
    assert_eq!(started.len(), 1, "{first:?}");
    let next_hop = fx.app.reinvoker.next_event().expect("a next hop");
    let second = fx.invoke_within(next_hop, Duration::from_secs(3)).await;
    let entry = &second.targets[0];
    assert_eq!(entry.in_progress.len(), 1, "{second:?}");
    assert_eq!(entry.in_progress[0].index, started[0].index);
    assert!(
        entry.failed.is_empty() && entry.reindexed.is_empty(),
        "{second:?}"
    );
    assert!(
        entry.deferred[0].reason.contains("still running"),
        "{:?}",
        entry.deferred
    );
    let (max, samples) = sampler.max_at_once();
    assert!(samples > 10);
    assert_eq!(max, 1, "two rebuilds ran at once");
}

/// A recorded leftover of ours is not dropped while a rebuild of ours runs in the
/// database (another table's): DROP INDEX CONCURRENTLY waits like a rebuild does.
#[tokio::test]
async fn nothing_is_dropped_beside_a_running_rebuild_of_ours() {
    let fx = Fixture::new("beside").await;
    fx.create_table("plain", 100_000).await;
    create_slow_tables(&fx, 1, Duration::from_secs(8)).await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    fx.set(&[], "lock_timeout", "1s").await;
    // A reader with a snapshot makes plain_id's rebuild fail, and its copy's drop.
    let (reader, _) = fx.session("reader").await;
    batch(
        &reader,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM plain;",
    )
    .await;
    let failed = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.plain_id", "force": true}))
        .await;
    assert_eq!(failed.failed.len(), 1, "{failed:?}");
    assert_eq!(names(&fx.invalid_indexes().await), ["plain_id_ccnew"]);
    // lazy_0_k's rebuild outlives this invocation.
    let event =
        json!({"mode": "reindex", "targets": ["main"], "index": "public.lazy_0_k", "force": true});
    let leaving = fx.invoke_within(event, Duration::from_secs(3)).await;
    assert_eq!(leaving.targets[0].in_progress.len(), 1, "{leaving:?}");
    batch(&reader, "COMMIT").await;

    let beside = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.plain_id"}))
        .await;
    assert_eq!(beside.in_progress.len(), 1, "{beside:?}");
    let ours = beside
        .leftovers
        .iter()
        .find(|l| l.index == "public.plain_id_ccnew")
        .unwrap_or_else(|| panic!("{beside:?}"));
    assert_eq!(
        ours.action,
        "ours: kept while a rebuild of ours runs in this database"
    );
    assert!(names(&fx.invalid_indexes().await).contains(&"plain_id_ccnew"));

    let observer = fx.target().await;
    wait_until(
        &observer,
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'index-pilot'
             AND query ILIKE 'REINDEX%' AND state = 'active' AND datname = current_database())",
        Duration::from_secs(30),
    )
    .await;
    let after = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.plain_id"}))
        .await;
    // The outlived rebuild is recorded, the leftover dropped, and plain_id (without a
    // baseline, so a candidate) rebuilt at last.
    assert_eq!(
        rebuilt(&after),
        ["public.lazy_0_k", "public.plain_id"],
        "{after:?}"
    );
    assert!(fx.invalid_indexes().await.is_empty(), "{after:?}");
}

/// The rebuild connection breaks while the server builds (a network cut): the server
/// goes on, so index-pilot follows it by its pid like a rebuild that outlived its
/// invocation, and never starts the next candidate beside it.
#[tokio::test]
async fn a_broken_rebuild_connection_is_followed_not_doubled() {
    let fx = Fixture::new("cut").await;
    create_slow_tables(&fx, 2, Duration::from_secs(4)).await;
    let proxy = Proxy::start(fx.cluster.port).await;
    let through_proxy = format!(
        "postgresql://postgres@127.0.0.1:{}/{}",
        proxy.port, fx.target_db
    );
    let fx = fx.with_targets(json!([{"name": "main", "url": through_proxy}]));
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    let sampler = BuildSampler::start(fx.target().await);
    let observer = fx.target().await;

    let invocation = fx.invoke_within(json!({"mode": "run"}), Duration::from_secs(30));
    let cut = async {
        running_reindex(&observer, Duration::from_secs(20)).await;
        // The scan connection came first; the rebuild connection is the newest.
        assert_eq!(proxy.accepted(), 2);
        proxy.cut_newest();
    };
    let (report, ()) = tokio::join!(invocation, cut);
    let entry = &report.targets[0];
    assert!(entry.failed.is_empty(), "{report:?}");
    assert_eq!(entry.in_progress.len(), 1, "{report:?}");
    assert!(
        entry.in_progress[0].phase.contains("connection broke"),
        "{report:?}"
    );
    assert!(
        entry.deferred[0].reason.contains("still running"),
        "{:?}",
        entry.deferred
    );
    // Hops that come while it runs report it in progress and start nothing else.
    while let Some(event) = fx.app.reinvoker.next_event() {
        let hop = fx.invoke_within(event, Duration::from_secs(20)).await;
        let entry = &hop.targets[0];
        assert!(entry.failed.is_empty(), "{hop:?}");
        assert!(
            entry.reindexed.iter().all(|r| r.index == "public.lazy_0_k"),
            "{hop:?}"
        );
    }
    wait_until(
        &observer,
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'index-pilot'
             AND query ILIKE 'REINDEX%' AND state = 'active' AND datname = current_database())",
        Duration::from_secs(30),
    )
    .await;
    let event =
        json!({"mode": "reindex", "targets": ["main"], "index": "public.lazy_1_k", "force": true});
    let last = fx.invoke_within(event, Duration::from_secs(30)).await;
    let completed: Vec<(String, i64)> = recorded::<Vec<Row>>(
        &fx.control().await,
        History,
        "index_name, count(*)",
        "WHERE status = 'completed' GROUP BY 1 ORDER BY 1",
        &[],
    )
    .await
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        completed,
        [("lazy_0_k".to_owned(), 1), ("lazy_1_k".to_owned(), 1)],
        "{last:?}"
    );
    let (max, samples) = sampler.max_at_once();
    assert!(samples > 10);
    assert_eq!(max, 1, "two rebuilds ran at once");
}

/// A rebuild left running past its swap (held while it waits for a reader before
/// marking the old index dead): a scan in the meantime meets the new index under the
/// name. When the rebuild ends it is recorded completed, its baseline moves to the
/// new oid over what that scan wrote, and the index is not rebuilt again.
#[tokio::test]
async fn a_rebuild_finished_after_another_scan_keeps_its_baseline() {
    let fx = Fixture::new("lateswap").await;
    fx.create_table("a", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let observer = fx.target().await;
    let (reader, _) = fx.session("reader").await;
    batch(&reader, "BEGIN; SELECT count(*) FROM a;").await;

    let first = fx
        .invoke_within(json!({"mode": "run"}), Duration::from_millis(2500))
        .await;
    assert_eq!(first.targets[0].in_progress.len(), 1, "{first:?}");
    wait_until(
        &observer,
        "SELECT EXISTS (SELECT FROM pg_stat_progress_create_index
             WHERE phase = 'waiting for readers before marking dead'
               AND datname = current_database())",
        Duration::from_secs(20),
    )
    .await;
    let next_hop = fx.app.reinvoker.next_event().expect("a next hop");
    let meanwhile = fx.invoke_within(next_hop, Duration::from_secs(3)).await;
    assert_eq!(meanwhile.targets[0].in_progress.len(), 1, "{meanwhile:?}");

    batch(&reader, "COMMIT").await;
    wait_until(
        &observer,
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'index-pilot'
             AND query ILIKE 'REINDEX%' AND state = 'active' AND datname = current_database())",
        Duration::from_secs(20),
    )
    .await;
    let event = json!({"mode": "reindex", "targets": ["main"], "index": "public.a_id"});
    let settled = fx.invoke_within(event, Duration::from_secs(10)).await;
    let entry = &settled.targets[0];
    assert_eq!(entry.status, index_pilot::report::Status::Ok, "{settled:?}");
    assert_eq!(rebuilt(entry), ["public.a_id"], "{settled:?}");
    let states: Vec<(u32, Option<f64>)> = recorded::<Vec<Row>>(
        &fx.control().await,
        IndexState,
        "index_oid, best_ratio",
        "WHERE index_name = 'a_id'",
        &[],
    )
    .await
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let oid: u32 = observer
        .query_one("SELECT 'a_id'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].0, oid);
    assert!(states[0].1.is_some(), "no baseline: {states:?}");
    // Nothing left to rebuild (a run would be left to the chain the first one began).
    let again = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(again.candidates, 0, "would be rebuilt twice: {again:?}");
}
