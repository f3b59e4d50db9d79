//! Free storage before each rebuild, read from CloudWatch (moto_server on 127.0.0.1)
//! through the real AWS SDK: too little defers the candidates with kind `disk` and
//! the numbers, plenty lets them be rebuilt, an instance without datapoints defers
//! them naming it.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use common::moto::Moto;
use common::steps::rebuilt;
use common::{json, Fixture};
use index_pilot::aws::{CloudWatch, Sdk};
use serde_json::{json, Value};

const GB: f64 = (1u64 << 30) as f64;

/// `instance`'s `metric`: `value` bytes `minutes` ago, for each pair.
async fn put(moto: &Moto, instance: &str, metric: &str, points: &[(u64, f64)]) {
    let client = aws_sdk_cloudwatch::Client::new(&moto.sdk().await);
    let now = SystemTime::now();
    for &(minutes, value) in points {
        let datum = MetricDatum::builder()
            .metric_name(metric)
            .dimensions(
                Dimension::builder()
                    .name("DBInstanceIdentifier")
                    .value(instance)
                    .build(),
            )
            .timestamp(DateTime::from(now - Duration::from_secs(minutes * 60)))
            .value(value)
            .unit(StandardUnit::Bytes)
            .build();
        client
            .put_metric_data()
            .namespace("AWS/RDS")
            .metric_data(datum)
            .send()
            .await
            .expect("PutMetricData");
    }
}

/// The fixture with its target naming `free_storage`, reading CloudWatch in moto.
async fn with_free_storage(fx: Fixture, moto: &Moto, free_storage: Value) -> Fixture {
    let url = fx.cluster.url(&fx.target_db);
    let mut fx =
        fx.with_targets(json!([{"name": "main", "url": url, "free_storage": free_storage}]));
    fx.app = fx
        .app
        .with_free_storage(CloudWatch::new(Sdk::from_config(moto.sdk().await)));
    fx
}

/// The GetMetricStatistics requests moto received.
fn reads(moto: &Moto) -> usize {
    moto.requests()
        .iter()
        .filter(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("GetMetricStatistics"))
                || r["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("Action=GetMetricStatistics"))
        })
        .count()
}

#[tokio::test]
async fn free_storage_from_cloudwatch_decides_whether_a_rebuild_starts() {
    let fx = Fixture::new("disk").await;
    fx.create_table("orders", 100_000).await;
    fx.create_table("lines", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    fx.bloat("orders").await;
    fx.bloat("lines").await;
    let candidates = ["public.lines_id", "public.orders_id"];

    let moto = Moto::start();
    // The newest datapoint counts, not the smallest nor the oldest.
    put(
        &moto,
        "db-full",
        "FreeStorageSpace",
        &[(5, 100.0 * GB), (2, 5.0 * GB)],
    )
    .await;
    put(&moto, "db-roomy", "FreeStorageSpace", &[(3, GB)]).await;
    put(
        &moto,
        "db-roomy",
        "FreeLocalStorage",
        &[(6, GB), (3, 100.0 * GB)],
    )
    .await;
    let deferred_names = |report: &index_pilot::report::TargetReport| {
        let mut names: Vec<String> = report.deferred.iter().map(|d| d.index.clone()).collect();
        names.sort();
        names
    };

    // A misspelled instance does not lift the protection: the report names it.
    let fx = with_free_storage(fx, &moto, json!({"instance": "db-typo"})).await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(report.reindexed.is_empty(), "{:?}", report.reindexed);
    assert_eq!(deferred_names(&report), candidates);
    for deferred in &report.deferred {
        let deferred = json(deferred);
        assert_eq!(deferred["kind"], "disk", "{deferred}");
        assert_eq!(deferred["hazard"]["hazard"], "disk_unknown", "{deferred}");
        assert_eq!(deferred["hazard"]["instance"], "db-typo", "{deferred}");
        let reason = deferred["reason"].as_str().unwrap();
        assert!(
            reason.contains("free storage of instance db-typo (FreeStorageSpace) is unknown: CloudWatch has no FreeStorageSpace datapoint"),
            "{reason}"
        );
    }

    // 5 GB free with min_free_storage 5GB (the default): no room for a copy.
    let fx = with_free_storage(fx, &moto, json!({"instance": "db-full"})).await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(report.reindexed.is_empty(), "{:?}", report.reindexed);
    assert_eq!(deferred_names(&report), candidates);
    for deferred in &report.deferred {
        let deferred = json(deferred);
        assert_eq!(deferred["kind"], "disk", "{deferred}");
        let hazard = &deferred["hazard"];
        assert_eq!(hazard["hazard"], "disk", "{deferred}");
        assert_eq!(hazard["storage"]["instance"], "db-full");
        assert_eq!(hazard["storage"]["metric"], "FreeStorageSpace");
        assert_eq!(hazard["storage"]["free_bytes"], 5u64 << 30);
        let age = hazard["storage"]["age_s"].as_u64().unwrap();
        assert!((120..180).contains(&age), "two minutes old: {age}");
        let name = deferred["index"]
            .as_str()
            .unwrap()
            .trim_start_matches("public.");
        let size = fx.index_size("public", name).await as u64;
        assert_eq!(hazard["min_free_bytes"], 5u64 << 30);
        assert_eq!(
            hazard["needed_bytes"],
            2 * size + (5u64 << 30),
            "{deferred}"
        );
        let reason = deferred["reason"].as_str().unwrap();
        assert!(
            reason.contains("instance db-full has 5120 MB free"),
            "{reason}"
        );
    }

    // Plenty of local storage (Aurora's metric; its FreeStorageSpace would not do):
    // both are rebuilt, after one read of CloudWatch.
    let before = reads(&moto);
    let fx = with_free_storage(
        fx,
        &moto,
        json!({"instance": "db-roomy", "metric": "FreeLocalStorage"}),
    )
    .await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(report.deferred.is_empty(), "{:?}", report.deferred);
    assert_eq!(rebuilt(&report), candidates);
    assert_eq!(reads(&moto) - before, 1, "one reading serves both rebuilds");
}
