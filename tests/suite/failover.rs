//! A failover in the middle of a rebuild, for real: a streaming standby is promoted
//! while index-pilot rebuilds an index on the primary, the old primary stops at once
//! (the build dies with it; its invalid copy is already on the standby), and the
//! target's address now reaches the promoted server (a proxy switched over, as a DNS
//! name moves). The next runs settle the interrupted rebuild, drop our copy by the
//! identity recorded for it, leave someone else's look-alike alone, and rebuild the
//! index once.

use std::time::Duration;

use common::proxy::Proxy;
use common::recorded::{recorded, Table::History};
use common::replication::primary_with_standby;
use common::steps::{entry, rebuilt};
use common::watch::{wait_until, BuildSampler};
use common::{create_slow_indexes, make_rebuilds_slow, Cluster, Fixture};
use index_pilot::report::{Report, Status, TargetReport};
use serde_json::json;
use tokio_postgres::Row;

/// A target on a primary with a streaming standby, reached through a proxy; its
/// control database elsewhere (the shared cluster), as it would be in production.
struct World {
    fx: Fixture,
    primary: Cluster,
    standby: Cluster,
    proxy: Proxy,
}

/// Our index, and the copy PostgreSQL gives its rebuild: `slow_0_ccnew` is taken.
const INDEX: &str = "slow_0";
const OUR_COPY: &str = "slow_0_ccnew1";
/// Someone else's failed CREATE INDEX CONCURRENTLY, under our copy's first name.
const OTHERS: &str = "slow_0_ccnew";

/// The table `slow` with `slow_0`, whose rebuild takes a minute (longer than the test
/// needs: it dies in the failover), and someone else's invalid `slow_0_ccnew` on it.
async fn world(name: &str) -> World {
    let (primary, standby) = primary_with_standby();
    let proxy = Proxy::start(primary.port).await;
    let fx = Fixture::new(name).await;
    primary.create_database(&fx.target_db).await;
    let fx = fx.target_at(proxy.port);
    create_slow_indexes(&fx, 1, Duration::from_secs(60)).await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    let failed = fx
        .target()
        .await
        .batch_execute(&format!(
            "CREATE UNIQUE INDEX CONCURRENTLY \"{OTHERS}\" ON slow ((id % 2))"
        ))
        .await;
    assert!(failed.is_err(), "{OTHERS} was meant to fail");
    World {
        fx,
        primary,
        standby,
        proxy,
    }
}

/// (oid, relfilenode) of an index, or None when it is not in the database.
async fn identity(client: &tokio_postgres::Client, index: &str) -> Option<(u32, u32)> {
    client
        .query_opt(
            "SELECT oid, relfilenode FROM pg_class WHERE relname = $1",
            &[&index],
        )
        .await
        .expect("pg_class")
        .map(|r| (r.get(0), r.get(1)))
}

/// Once our rebuild builds its copy on the primary and the control database holds
/// the copy's oid, and the standby has replayed it: the standby is promoted, the old
/// primary stopped at once, the proxy switched to the promoted server. Returns the
/// copy's oid as recorded.
async fn fail_over_while_building(world: &World) -> u32 {
    let World {
        fx,
        primary,
        standby,
        proxy,
    } = world;
    let on_primary = primary.connect(&fx.target_db).await;
    wait_until(
        &on_primary,
        "SELECT EXISTS (SELECT FROM pg_stat_progress_create_index p JOIN pg_stat_activity a
             USING (pid) WHERE a.application_name = 'index-pilot'
             AND p.phase LIKE 'building index%')",
        Duration::from_secs(30),
    )
    .await;
    let control = fx.control().await;
    wait_until(
        &control,
        "SELECT EXISTS (SELECT FROM index_pilot.reindex_history
             WHERE status = 'in_progress' AND copy_oid IS NOT NULL)",
        Duration::from_secs(30),
    )
    .await;
    let copy: u32 = recorded::<Row>(
        &control,
        History,
        "copy_oid",
        "WHERE status = 'in_progress'",
        &[],
    )
    .await
    .get(0);
    let on_primary_copy = identity(&on_primary, OUR_COPY).await;
    assert_eq!(on_primary_copy.map(|(oid, _)| oid), Some(copy));
    standby.replay_everything_of(primary).await;
    let on_standby = standby.connect(&fx.target_db).await;
    assert_eq!(
        identity(&on_standby, OUR_COPY).await,
        on_primary_copy,
        "the copy was not replicated"
    );
    standby.promote().await;
    primary.stop_immediately();
    proxy.switch_to(standby.port);
    copy
}

/// The invocations after the failover: the hops a chain still had to run, a
/// scheduled run, and one more, which must find nothing left to do. Their reports,
/// in order.
async fn runs_after_failover(fx: &Fixture) -> Vec<Report> {
    let mut events = Vec::new();
    while let Some(hop) = fx.app.reinvoker.next_event() {
        events.push(hop);
    }
    events.extend([json!({"mode": "run"}), json!({"mode": "run"})]);
    let mut reports = Vec::new();
    for event in events {
        reports.push(fx.invoke_within(event, Duration::from_secs(60)).await);
    }
    reports
}

/// One rebuild of our index as the control database recorded it.
#[derive(Debug)]
struct Recorded {
    status: String,
    copy_oid: Option<u32>,
    index_oid_after: Option<u32>,
    error: Option<String>,
    /// Ended before the next rebuild of the index started (the last: true).
    ended_before_next: bool,
}

async fn history(fx: &Fixture) -> Vec<Recorded> {
    let rows: Vec<Row> = recorded(
        &fx.control().await,
        History,
        "status, copy_oid, index_oid_after, error,
         coalesce(finished_at <= lead(started_at) OVER (ORDER BY id), true)",
        "WHERE index_name = $1 ORDER BY id",
        &[&INDEX],
    )
    .await;
    rows.iter()
        .map(|r| Recorded {
            status: r.get(0),
            copy_oid: r.get(1),
            index_oid_after: r.get(2),
            error: r.get(3),
            ended_before_next: r.get(4),
        })
        .collect()
}

fn statuses(history: &[Recorded]) -> Vec<&str> {
    history.iter().map(|r| r.status.as_str()).collect()
}

/// What the runs after the failover must have done: settled the interrupted rebuild
/// (failed, its copy dropped: the oid recorded for it is gone), left someone else's
/// index as it was, rebuilt the index once, and started nothing beside a rebuild.
async fn check_after_failover(world: &World, copy: u32, before: (u32, u32), others: (u32, u32)) {
    let fx = &world.fx;
    let rows = history(fx).await;
    assert_eq!(statuses(&rows), ["failed", "completed"], "{rows:?}");
    let interrupted = &rows[0];
    assert_eq!(interrupted.copy_oid, Some(copy), "{rows:?}");
    assert_eq!(
        interrupted.error.as_deref(),
        Some("interrupted: its server process ended before the rebuild completed; dropped its leftover public.slow_0_ccnew1")
    );
    assert!(
        rows.iter().all(|r| r.ended_before_next),
        "two at once: {rows:?}"
    );
    let control = fx.control().await;
    let kept: i64 = control
        .query_one("SELECT count(*) FROM index_pilot.leftovers", &[])
        .await
        .expect("leftovers")
        .get(0);
    assert_eq!(kept, 0, "a leftover of ours is still recorded");

    let promoted = world.standby.connect(&fx.target_db).await;
    let copy_exists: bool = promoted
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_class WHERE oid = $1)",
            &[&copy],
        )
        .await
        .expect("pg_class")
        .get(0);
    assert!(!copy_exists, "our copy (oid {copy}) is still there");
    assert_eq!(
        fx.invalid_indexes().await,
        [(OTHERS.to_owned(), others.0)],
        "someone else's index was touched, or something of ours is left"
    );
    assert_eq!(identity(&promoted, OTHERS).await, Some(others));
    let (oid, relfilenode) = identity(&promoted, INDEX).await.expect("the index");
    assert_eq!(rows[1].index_oid_after, Some(oid), "{rows:?}");
    assert_ne!(relfilenode, before.1, "not rebuilt");
}

/// The reports of the runs after the failover: the interrupted rebuild said failed
/// once (what ended it, and its copy dropped), the index rebuilt once, someone else's
/// index reported and not touched, and the last run has nothing left to do.
fn check_reports(reports: &[Report]) {
    let entries: Vec<&TargetReport> = reports.iter().map(|r| entry(r, "main")).collect();
    let failed: Vec<_> = entries.iter().flat_map(|e| &e.failed).collect();
    assert_eq!(failed.len(), 1, "{entries:?}");
    assert_eq!(failed[0].index, "public.slow_0");
    assert!(
        failed[0].error.starts_with("interrupted")
            && failed[0]
                .error
                .contains("dropped its leftover public.slow_0_ccnew1"),
        "{:?}",
        failed[0]
    );
    assert!(!failed[0].quarantined, "{:?}", failed[0]);
    let reindexed: Vec<_> = entries.iter().flat_map(|e| rebuilt(e)).collect();
    assert_eq!(reindexed, ["public.slow_0"], "{entries:?}");
    for entry in &entries {
        assert_eq!(entry.status, Status::Ok, "{entry:?}");
        let others: Vec<_> = entry
            .leftovers
            .iter()
            .map(|l| (l.index.as_str(), l.ours, l.action.as_str()))
            .collect();
        assert_eq!(
            others,
            [("public.slow_0_ccnew", false, "not ours: reported only")],
            "{entry:?}"
        );
    }
    let last = entries.last().expect("a run");
    assert!(
        last.reindexed.is_empty() && last.failed.is_empty() && last.in_progress.is_empty(),
        "{last:?}"
    );
}

/// The failover strikes while our rebuild of `slow_0` builds its copy: `watched`, the
/// invocation that started it still watches it; otherwise it outlived that invocation.
async fn failover(name: &str, watched: bool) {
    let world = world(name).await;
    let fx = &world.fx;
    let target = fx.target().await;
    let before = identity(&target, INDEX).await.expect("the index");
    let others = identity(&target, OTHERS)
        .await
        .expect("someone else's index");
    let copy = if watched {
        let invocation = fx.invoke_within(json!({"mode": "run"}), Duration::from_secs(120));
        let (report, copy) = tokio::join!(invocation, fail_over_while_building(&world));
        // The server went away under it: the target is in error, nothing is settled.
        let entry = entry(&report, "main");
        assert_eq!(entry.status, Status::Error, "{entry:?}");
        assert!(
            entry.reindexed.is_empty() && entry.failed.is_empty(),
            "{entry:?}"
        );
        copy
    } else {
        let first = fx
            .invoke_within(json!({"mode": "run"}), Duration::from_secs(4))
            .await;
        assert_eq!(entry(&first, "main").in_progress.len(), 1, "{first:?}");
        fail_over_while_building(&world).await
    };
    assert_eq!(statuses(&history(fx).await), ["in_progress"]);
    // The promoted server has the copy, and someone else's index, as replicated.
    let promoted = world.standby.connect(&fx.target_db).await;
    assert_eq!(
        identity(&promoted, OUR_COPY).await.map(|(oid, _)| oid),
        Some(copy)
    );
    assert_eq!(identity(&promoted, OTHERS).await, Some(others));

    make_rebuilds_slow(fx, Duration::from_secs(2)).await;
    let sampler = BuildSampler::start(promoted);
    let reports = runs_after_failover(fx).await;
    check_reports(&reports);
    check_after_failover(&world, copy, before, others).await;
    let (max, samples) = sampler.max_at_once();
    assert!(samples > 10);
    assert_eq!(max, 1, "two rebuilds ran at once");
}

/// The failover strikes while the invocation that started the rebuild watches it.
#[tokio::test]
async fn a_failover_under_a_watched_rebuild() {
    failover("watched", true).await;
}

/// The failover strikes a rebuild that outlived the invocation that started it.
#[tokio::test]
async fn a_failover_under_a_rebuild_left_running() {
    failover("left", false).await;
}
