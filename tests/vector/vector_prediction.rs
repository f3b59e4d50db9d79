//! Predictions per access method, on a server with pgvector: a btree and an HNSW of
//! about the same size over the same vectors. The HNSW is predicted at its own rate
//! (its default of 1 MB/s before it has history, then what its rebuilds took), never
//! at the btree's; the time budget, the maintenance windows and
//! max_automatic_index_size judge each by its own prediction.

use std::time::Duration;

use common::steps::{batch, deferral, rebuilt};
use common::{pgvector_cluster, Fixture};
use index_pilot::domain::deferral::DeferralKind;
use index_pilot::domain::throughput::RateSource;
use index_pilot::report::{PlannedIndex, TargetReport};
use serde_json::json;

const MIB: f64 = 1024.0 * 1024.0;
const BTREE: &str = "public.items_btree";
const HNSW: &str = "public.items_hnsw";

/// Table `items` of `rows` 128-dimensional vectors with a btree and an HNSW on them,
/// both candidates at first sight. Each row takes about 650 bytes in either index
/// (the HNSW with m = 4, so the build is quick): 36,000 rows make two of about 22 to
/// 24 MB.
async fn items(name: &str, rows: u32) -> Fixture {
    let fx = Fixture::bare_on(pgvector_cluster(), name).await;
    fx.set(&[], "initial_baseline", "rebuild").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        &format!(
            "CREATE EXTENSION vector;
             CREATE TABLE items (id int NOT NULL, v vector(128) NOT NULL);
             INSERT INTO items
             SELECT g, a::vector(128)
             FROM generate_series(1, {rows}) g,
                  LATERAL (SELECT array_agg(random()::real + g * 0 + i * 0) AS a
                           FROM generate_series(1, 128) i) r;
             CREATE INDEX items_btree ON items (v);
             CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops)
                 WITH (m = 4, ef_construction = 8);"
        ),
    )
    .await;
    fx.vacuum("items").await;
    fx
}

fn planned<'a>(report: &'a TargetReport, index: &str) -> &'a PlannedIndex {
    report
        .plan
        .iter()
        .find(|p| p.index == index)
        .unwrap_or_else(|| panic!("{index} is not in the plan: {:?}", report.plan))
}

/// The prediction the plan shows, against the size over `bytes_per_second` (within
/// the millisecond the report rounds to; a second at least).
fn assert_predicted(p: &PlannedIndex, bytes_per_second: f64, source: RateSource) {
    let expected = (p.size_bytes as f64 / bytes_per_second * 1000.0).max(1000.0);
    assert!(
        (p.predicted_duration_ms as f64 - expected).abs() <= 1.0,
        "{} predicted {} ms, expected {expected} ms: {p:?}",
        p.index,
        p.predicted_duration_ms
    );
    assert_eq!(p.prediction_source, source, "{p:?}");
}

/// Before any history, each at its access method's default: the btree at 10 MB/s,
/// the HNSW at 1 MB/s. In 15 s the btree (about 2 s) fits; the HNSW (about 24 s)
/// fits no invocation and is larger than max_automatic_index_size, so it is not
/// started, where a btree-rate prediction (about 2.4 s) would have started it. A
/// window that closes in 15 s holds it back too.
#[tokio::test]
async fn before_any_history_an_hnsw_is_predicted_at_its_own_default() {
    let fx = items("vector_prediction_default", 36_000).await;
    fx.set(&[], "max_automatic_index_size", "1MB").await;

    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(dry.plan.len(), 2, "{:?}", dry.plan);
    let (btree, hnsw) = (planned(&dry, BTREE), planned(&dry, HNSW));
    assert!(
        btree.size_bytes > 16 << 20 && hnsw.size_bytes > 16 << 20,
        "{:?}",
        dry.plan
    );
    assert_predicted(btree, 10.0 * MIB, RateSource::Default);
    assert_predicted(hnsw, MIB, RateSource::Default);
    assert!(dry.deferred.is_empty(), "{:?}", dry.deferred);

    let report = fx
        .invoke_within(json!({"mode": "run"}), Duration::from_secs(15))
        .await;
    let main = &report.targets[0];
    assert_eq!(rebuilt(main), [BTREE], "{main:?}");
    assert!(main.in_progress.is_empty(), "{main:?}");
    let held = deferral(main, HNSW);
    assert_eq!(held.kind, DeferralKind::TooLarge, "{held:?}");
    assert!(
        held.reason.contains("hnsw at 1024 kB/s, its default")
            && held.reason.contains("more than any invocation has"),
        "{held:?}"
    );

    // Inside a window that closes in 15 s: the btree-rate prediction would fit it.
    fx.control()
        .await
        .execute(
            "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
             VALUES ('main', (now() AT TIME ZONE 'UTC' - interval '1 minute')::time,
                             (now() AT TIME ZONE 'UTC' + interval '15 seconds')::time)",
            &[],
        )
        .await
        .expect("window");
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let held = deferral(&dry, HNSW);
    assert_eq!(held.kind, DeferralKind::Window, "{held:?}");
    assert!(
        held.reason
            .contains("would end after the maintenance window closes"),
        "{held:?}"
    );
}

/// History: btree rebuilds at 100 MB/s, and one HNSW rebuild of 1 MB that took
/// 200 s. The HNSW is predicted at its own learned rate (a 2 MB one at about 400 s),
/// not the btree's nor the whole target's (the old single figure, about 2.4 MB/s,
/// gave it a second): a window that closes in two minutes takes the btree and holds
/// the HNSW back.
#[tokio::test]
async fn a_learned_hnsw_rate_predicts_hnsw_rebuilds() {
    let fx = items("vector_prediction_learned", 4_000).await;
    let history = "INSERT INTO index_pilot.reindex_history
             (run_id, target, database_name, database_oid, schema_name, table_name,
              index_name, access_method, index_oid_before, status, reason, size_before,
              reltuples_before, duration_ms)
         SELECT gen_random_uuid(), 'main', 'earlier', 1, 'public', 'gone', 'gone_' || g,
                'btree', 1, 'completed', 'bloated', 104857600, 1, 1000
         FROM generate_series(1, 5) g
         UNION ALL
         SELECT gen_random_uuid(), 'main', 'earlier', 1, 'public', 'gone', 'gone_hnsw',
                'hnsw', 1, 'completed', 'bloated', 1048576, 1, 200000;
         INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
         VALUES ('main', (now() AT TIME ZONE 'UTC' - interval '1 minute')::time,
                         (now() AT TIME ZONE 'UTC' + interval '2 minutes')::time);";
    batch(&fx.control().await, history).await;

    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(dry.plan.len(), 2, "{:?}", dry.plan);
    let hnsw = planned(&dry, HNSW);
    assert!(hnsw.size_bytes > 1 << 20, "{hnsw:?}");
    assert_predicted(hnsw, MIB / 200.0, RateSource::Learned);
    assert_predicted(planned(&dry, BTREE), 100.0 * MIB, RateSource::Learned);

    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), [BTREE], "{run:?}");
    let held = deferral(&run, HNSW);
    assert_eq!(held.kind, DeferralKind::Window, "{held:?}");
    assert!(
        held.reason.contains("learned from this target's rebuilds")
            && held.reason.starts_with("needs about "),
        "{held:?}"
    );
    // The btree's rebuild joined the btree's history; the HNSW's figure is its own.
    let again = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_predicted(planned(&again, HNSW), MIB / 200.0, RateSource::Learned);
}
