//! pgvector's indexes seen for the first time, with the product's defaults
//! (`initial_baseline = estimate`): the estimate of a fresh build, from the column's
//! dimensions and the index's options, finds the bloat an HNSW or an IVFFlat already
//! has, and leaves a healthy one alone.

use std::collections::BTreeMap;

use common::steps::{batch, rebuilt};
use common::{pgvector_cluster, Fixture};
use serde_json::json;

const ROWS: i32 = 12_000;

/// A table of random 32-dimension values as `vector` and `halfvec`, an HNSW over the
/// first and an IVFFlat over the second.
fn table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (id int NOT NULL, v vector(32) NOT NULL, h halfvec(32) NOT NULL);
         INSERT INTO {table}
         SELECT g, a::vector(32), a::halfvec(32)
         FROM generate_series(1, {ROWS}) g,
              LATERAL (SELECT array_agg(random()::real + s * 0 + g * 0) AS a
                       FROM generate_series(1, 32) s) r;
         CREATE INDEX {table}_hnsw ON {table} USING hnsw (v vector_l2_ops) WITH (m = 12);
         CREATE INDEX {table}_ivf ON {table} USING ivfflat (h halfvec_l2_ops) WITH (lists = 10);"
    )
}

#[tokio::test]
async fn bloated_vector_indexes_seen_first_are_rebuilt_and_healthy_ones_spared() {
    let fx = Fixture::bare_on(pgvector_cluster(), "vector_first_sight").await;
    fx.set(&[], "index_size_threshold", "64kB").await;
    fx.set(&[], "minimum_reliable_index_size", "64kB").await;
    batch(
        &fx.target().await,
        &format!(
            "CREATE EXTENSION vector; {} {}",
            table_sql("bloated"),
            table_sql("healthy")
        ),
    )
    .await;
    batch(&fx.target().await, "DELETE FROM bloated WHERE id % 10 < 6").await;
    fx.vacuum("bloated, healthy").await;

    // No history: the estimate of a fresh build is each index's baseline, so the
    // bloat already there shows.
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        rebuilt(&report),
        ["public.bloated_hnsw", "public.bloated_ivf"],
        "{report:#?}"
    );
    let seen: BTreeMap<&str, _> = report
        .new_baselines
        .iter()
        .map(|b| (b.index.as_str(), b))
        .collect();
    // 60 % of the rows gone: 2.5 times the entries a build would hold; an IVFFlat's
    // lists, each ending in a part-filled page, shrink less than their entries.
    for (index, expected) in [
        ("public.bloated_hnsw", 2.2..=2.8),
        ("public.bloated_ivf", 2.0..=2.8),
        ("public.healthy_hnsw", 0.9..=1.1),
        ("public.healthy_ivf", 0.9..=1.1),
    ] {
        let baseline = seen
            .get(index)
            .unwrap_or_else(|| panic!("{index}: {report:#?}"));
        assert_eq!(baseline.source.as_str(), "estimate", "{baseline:?}");
        assert_eq!(baseline.note, None, "{baseline:?}");
        let bloat = baseline.estimated_bloat.expect("judged");
        assert!(expected.contains(&bloat), "{index}: {bloat}");
    }
    assert_eq!(report.baseline_sources, BTreeMap::from([("estimate", 4)]));
}
