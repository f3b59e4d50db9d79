//! Runs longer than one invocation: the time budget, hops, duplicate deliveries,
//! concurrent invocations, a lost chain, and a rebuild that outlives the process that
//! started it.

use std::collections::BTreeMap;
use std::time::Duration;

use common::recorded::{recorded, Table::History};
use common::steps::deferral;
use common::{create_slow_indexes, lambda_context, Fixture};
use index_pilot::invocation::handler::handle;
use index_pilot::report::{Report, Status};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tokio_postgres::Row;

mod deadlines;

/// How many times each index was rebuilt (completed history rows), by name.
async fn rebuild_counts(fx: &Fixture) -> BTreeMap<String, i64> {
    let rows: Vec<Row> = recorded(
        &fx.control().await,
        History,
        "index_name, count(*)",
        "WHERE status = 'completed' GROUP BY 1",
        &[],
    )
    .await;
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// Delivers every continuation waiting in the in-process queue, with time to spare.
async fn run_queued_hops(fx: &Fixture) {
    while let Some(event) = fx.app.reinvoker.next_event() {
        handle(
            &fx.app,
            LambdaEvent::new(event, lambda_context(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    }
}

fn all_rebuilt_once(count: usize) -> BTreeMap<String, i64> {
    (0..count).map(|i| (format!("slow_{i}"), 1)).collect()
}

/// Small indexes count: the slow ones are far below the default thresholds.
async fn small_indexes_count(fx: &Fixture) {
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
}

/// 8 indexes whose rebuilds take about 1 s each.
/// One invocation with `event`, three seconds before its deadline.
async fn hop(fx: &Fixture, event: Value) -> Report {
    handle(
        &fx.app,
        LambdaEvent::new(event, lambda_context(Duration::from_secs(3))),
    )
    .await
    .unwrap()
}

async fn slow_fixture(name: &str) -> Fixture {
    let fx = Fixture::new(name).await;
    create_slow_indexes(&fx, 8, Duration::from_secs(1)).await;
    small_indexes_count(&fx).await;
    fx
}

#[tokio::test]
async fn a_small_budget_spreads_the_run_over_hops() {
    let fx = slow_fixture("hops").await;
    let reports = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), Duration::from_secs(3))
        .await;
    // The rebuilds together need more than two budgets, so at least three hops.
    let rebuild_ms: u64 = reports
        .iter()
        .flat_map(|r| &r.targets[0].reindexed)
        .map(|r| r.duration_ms)
        .sum();
    assert!(rebuild_ms > 6_000, "the rebuilds took only {rebuild_ms} ms");
    assert!(reports.len() >= 3, "{} hops", reports.len());
    let run_id = reports[0].run_id;
    for (hop, report) in reports.iter().enumerate() {
        assert_eq!(report.run_id, run_id);
        assert_eq!(report.hop as usize, hop);
        assert_eq!(
            report.complete,
            hop == reports.len() - 1,
            "hop {hop}: {:?}",
            report.notes
        );
        assert!(
            report.duration_ms <= 3_000,
            "hop {hop} overran its budget: {} ms",
            report.duration_ms
        );
    }
    // Every hop but the last left work for the next and said why.
    let deferred = &reports[0].targets[0].deferred;
    assert!(
        deferred
            .iter()
            .any(|d| d.reason.contains("the next one takes it")),
        "{deferred:?}"
    );
    assert_eq!(rebuild_counts(&fx).await, all_rebuilt_once(8));
    let state: String = fx
        .control()
        .await
        .query_one(
            "SELECT state FROM index_pilot.target_progress WHERE target = 'main' AND run_id = $1",
            &[&run_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "done");
}

#[tokio::test]
async fn a_continuation_delivered_twice_does_its_work_once() {
    let fx = slow_fixture("duplicate").await;
    let first = hop(&fx, json!({"mode": "run"})).await;
    assert!(!first.complete);
    let next = fx.app.reinvoker.next_event().expect("a continuation");
    assert_eq!(next["hop"], 1);
    assert_eq!(next["run_id"], first.run_id.to_string());
    let reports: Vec<Report> =
        futures::future::join_all([hop(&fx, next.clone()), hop(&fx, next.clone())]).await;
    let idle: Vec<&Report> = reports
        .iter()
        .filter(|r| !r.notes.is_empty() && r.targets.is_empty())
        .collect();
    assert_eq!(
        idle.len(),
        1,
        "one of the two deliveries does nothing: {reports:?}"
    );
    assert!(
        idle[0].notes[0].contains("already taken"),
        "{:?}",
        idle[0].notes
    );
    // A late redelivery of hop 1 after hop 2 started is stale too.
    run_queued_hops(&fx).await;
    let late = hop(&fx, next).await;
    assert!(late.targets.is_empty() && !late.notes.is_empty());
    assert_eq!(rebuild_counts(&fx).await, all_rebuilt_once(8));
}

#[tokio::test]
async fn four_invocations_at_the_same_moment_rebuild_each_index_once() {
    let fx = slow_fixture("together").await;
    let started = futures::future::join_all((0..4).map(|_| {
        handle(
            &fx.app,
            LambdaEvent::new(
                json!({"mode": "run"}),
                lambda_context(Duration::from_secs(5)),
            ),
        )
    }))
    .await;
    let reports: Vec<Report> = started.into_iter().map(Result::unwrap).collect();
    let working = reports
        .iter()
        .filter(|r| r.targets[0].status == Status::Ok)
        .count();
    assert_eq!(
        working, 1,
        "one invocation holds the target, the others leave it: {reports:?}"
    );
    for idle in reports.iter().filter(|r| r.targets[0].status != Status::Ok) {
        let reason = idle.targets[0].reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains("another invocation is working on this target"),
            "{reason}"
        );
        assert!(idle.continued_with.is_empty(), "{idle:?}");
    }
    run_queued_hops(&fx).await;
    assert_eq!(rebuild_counts(&fx).await, all_rebuilt_once(8));
}

#[tokio::test]
async fn the_next_schedule_takes_what_a_lost_chain_left() {
    let fx = slow_fixture("lost").await;
    let budget = Duration::from_secs(3);
    let first = handle(
        &fx.app,
        LambdaEvent::new(json!({"mode": "run"}), lambda_context(budget)),
    )
    .await
    .unwrap();
    assert!(!first.complete);
    assert_eq!(first.continued_with, ["main"]);
    // The continuation is lost: nobody delivers it. The next schedule starts a run
    // of its own and takes the target where the lost chain left it.
    assert!(fx.app.reinvoker.next_event().is_some());
    let reports = fx
        .invoke_hops_with_budget(json!({"mode": "run"}), budget)
        .await;
    assert_ne!(reports[0].run_id, first.run_id);
    assert_eq!(reports[0].hop, 0);
    assert!(reports.last().unwrap().complete);
    assert_eq!(rebuild_counts(&fx).await, all_rebuilt_once(8));
}

#[tokio::test]
async fn a_continuation_naming_a_target_no_longer_configured_goes_on_without_it() {
    let fx = slow_fixture("removed").await;
    let first = hop(&fx, json!({"mode": "run"})).await;
    let mut next = fx.app.reinvoker.next_event().expect("a continuation");
    next["targets"] = json!(["main", "dropped_from_config"]);
    let report = hop(&fx, next).await;
    assert_eq!(report.run_id, first.run_id);
    assert_eq!(report.targets.len(), 1, "{report:?}");
    assert_eq!(report.targets[0].name, "main");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n == "no longer configured, left out: dropped_from_config"),
        "{:?}",
        report.notes
    );
    // An event from outside naming an unknown target is still refused.
    let error = fx
        .try_invoke(json!({"mode": "run", "targets": ["dropped_from_config"]}))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not configured"), "{error}");
}
