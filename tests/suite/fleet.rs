//! A fleet, not a queue: a target that cannot progress holds back only itself, every
//! hop advances or says why, one server gets at most max_rebuilds_per_server
//! rebuilds whoever starts them, and an index no invocation can fit is left with its
//! reason above max_automatic_index_size.

use std::time::{Duration, Instant};

use common::recorded::{recorded, Table::History};
use common::steps::{batch, entry, rebuilt};
use common::watch::{wait_until, BuildSampler};
use common::{create_slow_tables, Fixture};
use index_pilot::report::Status;
use serde_json::json;
use tokio_postgres::Row;

/// Completed rebuilds in the control database, by target.
async fn completed(fx: &Fixture, target: &str) -> i64 {
    recorded::<Row>(
        &fx.control().await,
        History,
        "count(*)",
        "WHERE target = $1 AND status = 'completed'",
        &[&target],
    )
    .await
    .get(0)
}

/// The scenario that froze the fleet: three candidates each predicted (at the
/// default 10 MiB/s before any history) to need just about the whole budget, and a
/// second target. Each hop used to defer the same three ("needs about 2s, 2s left")
/// until the hop cap; now an index that no invocation could fit after its own setup
/// is started, and the other target is served by the same scheduled invocation.
#[tokio::test]
async fn a_target_that_cannot_progress_holds_back_only_itself() {
    let fx = Fixture::new("starve").await;
    let other_db = "starve_other";
    fx.cluster.create_database(other_db).await;
    let targets = json!([
        {"name": "main", "url": fx.cluster.url(&fx.target_db)},
        {"name": "other", "url": fx.cluster.url(other_db)},
    ]);
    let fx = fx.with_targets(targets);
    let target = fx.target().await;
    for i in 0..3 {
        batch(
            &target,
            &format!(
                "CREATE TABLE big_{i} (id int, payload text);
                 INSERT INTO big_{i} SELECT g, md5(g::text) FROM generate_series(1, 400000) g;
                 CREATE INDEX big_{i}_payload ON big_{i} (payload);"
            ),
        )
        .await;
        fx.vacuum(&format!("big_{i}")).await;
    }
    let other = fx.cluster.connect(other_db).await;
    batch(
        &other,
        "CREATE TABLE small (id int, payload text);
         INSERT INTO small SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
         CREATE INDEX small_id ON small (id);
         DELETE FROM small WHERE id % 5 < 3;",
    )
    .await;
    batch(&other, "VACUUM ANALYZE small").await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    // The two targets share a server; this test is about time, not that limit.
    fx.set(&[], "max_rebuilds_per_server", "2").await;
    // The budget is the default prediction for the largest index and 50 ms: it fits
    // a whole invocation, but not what is left after the invocation's own start.
    let largest = fx.index_size("public", "big_0_payload").await;
    let predicted = Duration::from_secs_f64(largest as f64 / (10.0 * 1024.0 * 1024.0));
    let budget = predicted + Duration::from_millis(50);
    assert!(
        (Duration::from_millis(1500)..Duration::from_secs(4)).contains(&budget),
        "{largest} bytes make a budget of {budget:?}"
    );

    let reports = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), budget)
        .await;
    let hops: Vec<String> = reports
        .iter()
        .map(|r| {
            let main = entry(r, "main");
            format!(
                "hop {}: rebuilt {:?}, in progress {:?}, deferred {:?}, notes {:?}",
                r.hop,
                rebuilt(main),
                main.in_progress
                    .iter()
                    .map(|p| &p.index)
                    .collect::<Vec<_>>(),
                main.deferred
                    .iter()
                    .map(|d| format!("{}: {}", d.index, d.reason))
                    .collect::<Vec<_>>(),
                r.notes
            )
        })
        .collect();
    println!("{}", hops.join("\n"));
    // The other target was served by the scheduled invocation itself.
    let other = entry(&reports[0], "other");
    assert_eq!(other.status, Status::Ok, "{other:?}");
    assert_eq!(rebuilt(other), ["public.small_id"], "{other:?}");
    // A few hops at most, each of which started or finished something.
    assert!(
        reports.len() <= 4,
        "{} hops:\n{}",
        reports.len(),
        hops.join("\n")
    );
    for (report, line) in reports.iter().zip(&hops) {
        let main = entry(report, "main");
        assert!(
            !main.reindexed.is_empty() || !main.in_progress.is_empty() || report.hop > 0,
            "the scheduled invocation started nothing on main: {line}"
        );
    }
    // What is left at the end of the chain has a reason each, or nothing is left.
    let last = reports.last().unwrap();
    let left = entry(last, "main");
    assert!(
        last.complete || !left.deferred.is_empty() || !left.in_progress.is_empty(),
        "the chain ended with work left and no reason:\n{}",
        hops.join("\n")
    );
    // Whatever outlived the chain ends in the server; the next schedule records it.
    // In the two targets' databases: other tests share the server.
    wait_until(
        &fx.target().await,
        &format!(
            "SELECT NOT EXISTS (SELECT FROM pg_stat_progress_create_index
                                WHERE datname IN (current_database(), '{other_db}'))"
        ),
        Duration::from_secs(60),
    )
    .await;
    fx.invoke_hops_with_budget(json!({"mode": "run"}), Duration::from_secs(60))
        .await;
    assert_eq!(completed(&fx, "main").await, 3, "{}", hops.join("\n"));
    assert_eq!(completed(&fx, "other").await, 1);
}

/// Two targets on one server, reached under two names (127.0.0.1 and 127.0.0.2),
/// two slow rebuilds each: by default one rebuild at a time runs on that server,
/// though each target has its own lease and invocation work and its own host
/// string; with max_rebuilds_per_server 2 they run side by side. Targets that
/// disagree share the least limit.
#[tokio::test]
async fn one_server_runs_at_most_max_rebuilds_per_server() {
    let a = Fixture::new("server_a").await;
    let b = Fixture::new("server_b").await;
    create_slow_tables(&a, 2, Duration::from_secs(1)).await;
    create_slow_tables(&b, 2, Duration::from_secs(1)).await;
    let fx = a.with_targets(json!([
        {"name": "a", "url": b.cluster.url("server_a_target")},
        {"name": "b", "url": b.cluster.url_by_second_name(&b.target_db)},
    ]));
    fx.set(&[], "index_size_threshold", "8kB").await;
    fx.set(&[], "minimum_reliable_index_size", "8kB").await;

    let (one, took_one) = rebuild_all(&fx, "1").await;
    assert_eq!(
        one, 1,
        "rebuilds at once on the server with the default limit"
    );
    // Target a may run 4, b only 1: b's rebuild is not joined by a's, nor does it
    // join them.
    fx.set(&[("target", "a")], "max_rebuilds_per_server", "4")
        .await;
    let (least, _) = rebuild_all(&fx, "1").await;
    assert_eq!(least, 1, "rebuilds at once when a says 4 and b says 1");
    fx.control()
        .await
        .batch_execute("DELETE FROM index_pilot.settings WHERE target = 'a'")
        .await
        .unwrap();
    let (two, took_two) = rebuild_all(&fx, "2").await;
    assert_eq!(two, 2, "rebuilds at once on the server with a limit of 2");
    // The invocation's own cap holds too.
    let mut fx = fx;
    fx.app.config.max_concurrent_rebuilds = 1;
    let (capped, _) = rebuild_all(&fx, "2").await;
    assert_eq!(
        capped, 1,
        "rebuilds at once with INDEX_PILOT_MAX_CONCURRENT_REBUILDS=1"
    );
    println!("one at a time: {took_one:?}; two at a time: {took_two:?}");
}

/// One run over targets a and b with `max_rebuilds_per_server` = `limit`, from no
/// baselines and no scan (a first scan: `initial_baseline = rebuild` makes every index
/// a candidate): the most rebuilds seen at once on the server, and the time it took.
async fn rebuild_all(fx: &Fixture, limit: &str) -> (usize, Duration) {
    fx.control()
        .await
        .batch_execute(
            "DELETE FROM index_pilot.index_state;
             DELETE FROM index_pilot.database_scans;
             DELETE FROM index_pilot.settings WHERE key = 'max_rebuilds_per_server' AND target IS NULL",
        )
        .await
        .unwrap();
    fx.set(&[], "max_rebuilds_per_server", limit).await;
    let sampler =
        BuildSampler::start_in(fx.target().await, &["server_a_target", "server_b_target"]);
    let began = Instant::now();
    let reports = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), Duration::from_secs(60))
        .await;
    let took = began.elapsed();
    let (at_once, samples) = sampler.max_at_once();
    assert!(samples > 20, "{samples} samples");
    for target in ["a", "b"] {
        let entry = entry(&reports[0], target);
        assert_eq!(entry.reindexed.len(), 2, "{target}: {entry:?}");
        let statistics = |d: &&index_pilot::report::Deferred| d.reason.starts_with("no statistics");
        assert!(
            entry.deferred.iter().all(|d| statistics(&d)),
            "{target}: {:?}",
            entry.deferred
        );
    }
    (at_once, took)
}

/// An index no invocation can fit is started to outlive the invocation, unless it is
/// larger than max_automatic_index_size: then it is left, with the reason.
#[tokio::test]
async fn an_index_too_large_for_any_invocation_waits_above_max_automatic_index_size() {
    let fx = Fixture::new("too_large").await;
    fx.create_table("orders", 60_000).await;
    fx.bloat("orders").await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    fx.set(&[], "max_automatic_index_size", "512kB").await;
    // Every rebuild is predicted to take at least 1 s: a 0.5 s invocation fits none.
    let report = fx
        .invoke_within(json!({"mode": "run"}), Duration::from_millis(500))
        .await;
    let main = entry(&report, "main");
    assert!(
        main.reindexed.is_empty() && main.in_progress.is_empty(),
        "{main:?}"
    );
    assert_eq!(main.deferred.len(), 1, "{main:?}");
    let reason = &main.deferred[0].reason;
    assert!(
        reason.contains("more than any invocation has")
            && reason.contains("max_automatic_index_size (512 kB)"),
        "{reason}"
    );
    assert!(report.continued_with.is_empty(), "{report:?}");
    // Explicitly asked for, it is started all the same.
    let asked = fx
        .invoke_within(
            json!({"mode": "reindex", "targets": ["main"], "index": "public.orders_id"}),
            Duration::from_millis(500),
        )
        .await;
    let main = entry(&asked, "main");
    assert_eq!(main.reindexed.len() + main.in_progress.len(), 1, "{main:?}");
}
