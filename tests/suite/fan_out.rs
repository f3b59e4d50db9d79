//! Fan-out: a scheduled run over more targets than a shard holds invokes the
//! function once per shard, each shard its own chain; a lost shard holds back only
//! its own targets, and the next schedule takes them.

use std::collections::BTreeSet;
use std::time::Duration;

use common::recorded::{recorded, Table::History};
use common::steps::batch;
use common::{lambda_context, shared_cluster, Cluster, Fixture};
use index_pilot::invocation::handler::handle;
use index_pilot::report::{Report, Status};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tokio_postgres::Row;

const TARGETS: usize = 60;

/// A cheap database with one bloated 16 kB-class index, `t.t_id`.
async fn cheap_database(cluster: &Cluster, name: &str) {
    cluster.create_database(name).await;
    let client = cluster.connect(name).await;
    batch(
        &client,
        "CREATE TABLE t (id int);
         INSERT INTO t SELECT generate_series(1, 5000);
         CREATE INDEX t_id ON t (id);
         DELETE FROM t WHERE id % 5 < 3;",
    )
    .await;
    batch(&client, "VACUUM ANALYZE t").await;
}

async fn deliver(fx: &Fixture, event: Value) -> Report {
    handle(
        &fx.app,
        LambdaEvent::new(event, lambda_context(Duration::from_secs(60))),
    )
    .await
    .unwrap_or_else(|e| panic!("invocation failed: {e}"))
}

/// Delivers every queued event but those `lost` drops, and what they hand over.
async fn deliver_all(fx: &Fixture, lost: impl Fn(&Value) -> bool) -> Vec<Report> {
    let mut reports = Vec::new();
    while let Some(event) = fx.app.reinvoker.next_event() {
        if !lost(&event) {
            reports.push(deliver(fx, event).await);
        }
    }
    reports
}

/// The targets whose index was rebuilt, by the reports.
fn rebuilt_targets(reports: &[Report]) -> BTreeSet<String> {
    reports
        .iter()
        .flat_map(|r| &r.targets)
        .filter(|t| t.reindexed.len() == 1 && t.status == Status::Ok)
        .map(|t| t.name.clone())
        .collect()
}

#[tokio::test]
async fn sixty_targets_on_three_clusters_fan_out_in_three_shards() {
    let clusters = [shared_cluster(), &Cluster::start(), &Cluster::start()];
    let mut targets = Vec::new();
    for i in 0..TARGETS {
        let cluster = clusters[i % clusters.len()];
        let db = format!("fan_{i:02}");
        cheap_database(cluster, &db).await;
        targets.push(json!({"name": format!("t{i:02}"), "url": cluster.url(&db)}));
    }
    let fx = Fixture::new("fan_out").await.with_targets(json!(targets));
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    assert_eq!(fx.app.config.shard_size, 25);

    // The schedule's invocation only hands out the shards.
    let scheduled = deliver(&fx, json!({"mode": "run"})).await;
    assert!(scheduled.targets.is_empty(), "{scheduled:?}");
    let sizes: Vec<usize> = scheduled.shards.iter().map(|s| s.targets).collect();
    assert_eq!(sizes, [20, 20, 20]);
    assert!(scheduled.shards.iter().all(|s| s.error.is_none()));

    // Shard 1 is lost (throttled, failed): the others are processed all the same.
    let is_shard_1 = |event: &Value| event["shard"] == 1 && event["hop"] == 0;
    let reports = deliver_all(&fx, is_shard_1).await;
    assert!(reports.iter().all(|r| r.run_id == scheduled.run_id));
    let done = rebuilt_targets(&reports);
    assert_eq!(done.len(), 40, "{done:?}");
    let shard_1: BTreeSet<String> = (20..40).map(|i| format!("t{i:02}")).collect();
    assert!(done.is_disjoint(&shard_1), "{done:?}");

    // The next schedule takes what the lost shard left; the rest has nothing to do.
    let next = deliver(&fx, json!({"mode": "run"})).await;
    assert_eq!(next.shards.len(), 3);
    let reports = deliver_all(&fx, |_| false).await;
    assert_eq!(rebuilt_targets(&reports), shard_1);
    assert_eq!(
        reports.iter().map(|r| r.targets.len()).sum::<usize>(),
        TARGETS
    );
    let control = fx.control().await;
    let states: Vec<(String, i64)> = control
        .query(
            "SELECT state, count(*) FROM index_pilot.target_progress GROUP BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(states, [("done".to_owned(), TARGETS as i64)]);
    let rebuilds: i64 = recorded::<Row>(
        &control,
        History,
        "count(*)",
        "WHERE status = 'completed'",
        &[],
    )
    .await
    .get(0);
    assert_eq!(rebuilds, TARGETS as i64, "each index rebuilt once");
}
