//! pgvector indexes no estimate covers (HNSW over `sparsevec`, HNSW over `bit` with
//! bit_hamming_ops), found by their database's first scan under `initial_baseline =
//! estimate`: their size then is their baseline, and their bloat is unknown, not
//! healthy (PostgreSQL 18, pgvector 0.8.5).

use common::steps::{batch, rebuilt};
use common::{json, pgvector_cluster, Fixture};
use serde_json::json;

const ROWS: i32 = 12_000;

#[tokio::test]
async fn sparse_and_bit_vector_indexes_are_unknown_at_first_sight() {
    let fx = Fixture::bare_on(pgvector_cluster(), "vector_unknown").await;
    fx.set(&[], "index_size_threshold", "64kB").await;
    fx.set(&[], "minimum_reliable_index_size", "64kB").await;
    batch(
        &fx.target().await,
        &format!(
            "CREATE EXTENSION vector;
             CREATE TABLE items (id int NOT NULL, s sparsevec(1000) NOT NULL, b bit(64) NOT NULL);
             INSERT INTO items
             SELECT g,
                    format('{{%s:%s,%s:%s,%s:%s}}/1000', 1 + g % 331, random(),
                           332 + g % 317, random(), 650 + g % 349, random())::sparsevec,
                    (random() * 9.2e18)::int8::bit(64)
             FROM generate_series(1, {ROWS}) g;
             CREATE INDEX items_sparse ON items USING hnsw (s sparsevec_l2_ops) WITH (m = 8);
             CREATE INDEX items_bits ON items USING hnsw (b bit_hamming_ops) WITH (m = 8);"
        ),
    )
    .await;
    fx.vacuum("items").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(rebuilt(&report).is_empty(), "{report:#?}");
    let mut unknown: Vec<String> = json(&report)["unknown_bloat"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|u| u["index"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    unknown.sort();
    assert_eq!(
        unknown,
        ["public.items_bits", "public.items_sparse"],
        "{report:#?}"
    );
    let rows = fx
        .control()
        .await
        .query(
            "SELECT index, verdict, baseline_source FROM index_pilot.current_bloat
             WHERE table_name = 'items' ORDER BY 1",
            &[],
        )
        .await
        .expect("current_bloat");
    let stood: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    for (index, verdict, source) in &stood {
        assert_eq!(verdict, "unknown", "{index}");
        assert_eq!(source.as_deref(), Some("no_estimate"), "{index}");
    }
    assert_eq!(stood.len(), 2);
}
