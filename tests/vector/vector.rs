//! pgvector's indexes on a real server with pgvector (PostgreSQL 18.4, pgvector 0.8.5):
//! HNSW and IVFFlat over `vector` and `halfvec` with the L2, cosine and inner-product
//! operator classes, and a partitioned table with an HNSW per partition. Baselines from
//! a fresh build, then 60 % of the rows deleted: every one of them is rebuilt, smaller.

use common::steps::{batch, rebuilt};
use common::{pgvector_cluster, Fixture};
use serde_json::json;

/// Every kind of vector index the tests cover: (name, access method, column, opclass, options).
const KINDS: [(&str, &str, &str, &str, &str); 10] = [
    ("hnsw_l2", "hnsw", "v", "vector_l2_ops", "m = 8"),
    ("hnsw_cos", "hnsw", "v", "vector_cosine_ops", "m = 8"),
    ("hnsw_ip", "hnsw", "v", "vector_ip_ops", "m = 8"),
    ("hnsw_half_l2", "hnsw", "h", "halfvec_l2_ops", "m = 8"),
    ("hnsw_half_cos", "hnsw", "h", "halfvec_cosine_ops", "m = 8"),
    ("hnsw_half_ip", "hnsw", "h", "halfvec_ip_ops", "m = 8"),
    ("ivf_l2", "ivfflat", "v", "vector_l2_ops", "lists = 20"),
    ("ivf_cos", "ivfflat", "v", "vector_cosine_ops", "lists = 20"),
    ("ivf_ip", "ivfflat", "v", "vector_ip_ops", "lists = 20"),
    (
        "ivf_half_l2",
        "ivfflat",
        "h",
        "halfvec_l2_ops",
        "lists = 20",
    ),
];

const ROWS: i32 = 12_000;

/// A table `items` with every kind of index above, and a table `parts` partitioned in
/// two with an HNSW on the parent (so one on each partition).
async fn create(fx: &Fixture) {
    let mut sql = format!(
        "CREATE EXTENSION vector;
         CREATE TABLE items (id int NOT NULL, v vector(16) NOT NULL, h halfvec(16) NOT NULL);
         INSERT INTO items
         SELECT g, a::vector(16), a::halfvec(16)
         FROM (SELECT g, ARRAY(SELECT random()::real + g * 0 FROM generate_series(1, 16)) AS a
               FROM generate_series(1, {ROWS}) g) r;
         CREATE TABLE parts (id int NOT NULL, v vector(16) NOT NULL) PARTITION BY RANGE (id);
         CREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (MINVALUE) TO ({half});
         CREATE TABLE parts_high PARTITION OF parts FOR VALUES FROM ({half}) TO (MAXVALUE);
         INSERT INTO parts SELECT id, v FROM items;
         CREATE INDEX parts_v ON parts USING hnsw (v vector_l2_ops) WITH (m = 8);",
        half = ROWS / 2
    );
    for (name, method, column, opclass, options) in KINDS {
        sql.push_str(&format!(
            "CREATE INDEX {name} ON items USING {method} ({column} {opclass}) WITH ({options});"
        ));
    }
    batch(&fx.target().await, &sql).await;
    fx.vacuum("items, parts").await;
}

fn every_vector_index() -> Vec<String> {
    let mut names: Vec<String> = KINDS
        .iter()
        .map(|(name, ..)| format!("public.{name}"))
        .collect();
    names.extend(["public.parts_high_v_idx", "public.parts_low_v_idx"].map(String::from));
    names.sort();
    names
}

#[tokio::test]
async fn every_kind_of_vector_index_bloated_by_deletes_is_rebuilt() {
    let fx = Fixture::bare_on(pgvector_cluster(), "vector_kinds").await;
    fx.set(&[], "index_size_threshold", "64kB").await;
    fx.set(&[], "minimum_reliable_index_size", "64kB").await;
    create(&fx).await;

    // Baselines from what a fresh build gives: every index was just built.
    let seeded = fx.invoke_main(json!({"mode": "baseline"})).await;
    assert!(rebuilt(&seeded).is_empty(), "{seeded:#?}");
    let healthy = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(rebuilt(&healthy).is_empty(), "{healthy:#?}");

    batch(
        &fx.target().await,
        "DELETE FROM items WHERE id % 10 < 6; DELETE FROM parts WHERE id % 10 < 6;",
    )
    .await;
    fx.vacuum("items, parts").await;
    let mut before = Vec::new();
    for name in every_vector_index() {
        let (schema, index) = name.split_once('.').expect("qualified");
        before.push(fx.index_size(schema, index).await);
    }

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    let mut done: Vec<String> = rebuilt(&report).into_iter().map(String::from).collect();
    done.sort();
    assert_eq!(done, every_vector_index(), "{report:#?}");
    for (name, size_before) in every_vector_index().iter().zip(before) {
        let (schema, index) = name.split_once('.').expect("qualified");
        let size_after = fx.index_size(schema, index).await;
        assert!(
            size_after * 10 < size_before * 7,
            "{name}: {size_before} bytes before, {size_after} after"
        );
    }
}
