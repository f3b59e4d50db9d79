//! An HNSW rebuild's memory and the installed pgvector's known bugs. Memory: on a
//! server with pgvector 0.8.5 whose maintenance_work_mem is 1MB, pgvector's graph does
//! not fit in it, and a rebuild left at the server's value writes it to disk and goes
//! on the slow way, saying so in a NOTICE. Bugs: pgvector 0.8.1 (PostgreSQL 16) has
//! three that later releases fixed; 0.8.5 none.

use std::sync::OnceLock;

use common::steps::{batch, rebuilt};
use common::{json, Fixture};
use common::{pgvector_old_bin_dir, Cluster};
use serde_json::{json, Value};

/// The server of this file: pgvector, and maintenance_work_mem at its minimum.
fn small_memory_cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start_pgvector(&[("maintenance_work_mem", "1MB")]))
}

const NO_LONGER_FITS: &str = "hnsw graph no longer fits into maintenance_work_mem";

/// A table `items` of 10 000 vectors with an HNSW index built as a fresh build
/// (with enough memory, in the test's own session), its baseline taken right
/// after; then 60 % of the rows deleted and vacuumed: a bloated index of a few MB.
async fn bloated_hnsw(fx: &Fixture) {
    fx.set(&[], "index_size_threshold", "64kB").await;
    fx.set(&[], "minimum_reliable_index_size", "64kB").await;
    batch(
        &fx.target().await,
        "CREATE EXTENSION vector;
         CREATE TABLE items (id int NOT NULL, v vector(32) NOT NULL);
         INSERT INTO items
         SELECT g, (SELECT array_agg(random()::real) FROM generate_series(1, 32) WHERE g > 0)
                   ::vector(32)
         FROM generate_series(1, 10000) g;
         SET maintenance_work_mem = '64MB';
         CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 8);",
    )
    .await;
    fx.vacuum("items").await;
    let seeded = fx.invoke_main(json!({"mode": "baseline"})).await;
    assert!(rebuilt(&seeded).is_empty(), "{seeded:#?}");
    batch(&fx.target().await, "DELETE FROM items WHERE id % 10 < 6;").await;
    fx.vacuum("items").await;
}

/// The report entry of `public.items_v` among the rebuilt ones, as JSON.
fn rebuilt_entry(report: &Value) -> &Value {
    report["reindexed"]
        .as_array()
        .and_then(|list| list.iter().find(|r| r["index"] == "public.items_v"))
        .unwrap_or_else(|| panic!("items_v was not rebuilt: {report:#}"))
}

fn said_no_longer_fits(entry: &Value) -> bool {
    entry["server_messages"].as_array().is_some_and(|messages| {
        messages.iter().any(|m| {
            m["message"]
                .as_str()
                .is_some_and(|t| t.contains(NO_LONGER_FITS))
        })
    })
}

#[tokio::test]
async fn an_hnsw_rebuild_gets_the_memory_its_graph_needs() {
    let fx = Fixture::bare_on(small_memory_cluster(), "vector_memory").await;
    bloated_hnsw(&fx).await;
    let size = fx.index_size("public", "items_v").await;
    assert!(size > 1 << 20, "a few MB: {size} bytes");

    let report = json(&fx.invoke_main(json!({"mode": "run"})).await);
    let entry = rebuilt_entry(&report);
    let session = &entry["session"];
    assert_eq!(
        session["maintenance_work_mem_raised_from"], "1MB",
        "{entry:#}"
    );
    let used = session["maintenance_work_mem"].as_str().unwrap_or_default();
    assert!(used.ends_with("MB") && used != "1MB", "{entry:#}");
    assert!(!said_no_longer_fits(entry), "{entry:#}");
}

#[tokio::test]
async fn the_graph_that_no_longer_fits_is_said_in_its_entry() {
    let fx = Fixture::bare_on(small_memory_cluster(), "vector_memory_capped").await;
    fx.set(&[], "max_rebuild_maintenance_work_mem", "1MB").await;
    bloated_hnsw(&fx).await;

    let report = json(&fx.invoke_main(json!({"mode": "run"})).await);
    let entry = rebuilt_entry(&report);
    assert_eq!(entry["session"]["maintenance_work_mem"], "1MB", "{entry:#}");
    assert!(said_no_longer_fits(entry), "{entry:#}");
    let notice = entry["server_messages"]
        .as_array()
        .and_then(|m| m.first())
        .cloned()
        .unwrap_or_default();
    assert_eq!(notice["severity"], "NOTICE", "{notice:#}");
    assert_eq!(notice["code"], "00000", "{notice:#}");
}

/// The `fixed_in` of each pgvector warning or finding in `list`, sorted.
fn fixed_in(list: &Value) -> Vec<String> {
    let mut versions: Vec<String> = list
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|w| w["fixed_in"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
}

/// The findings of kind `pgvector` in a `check` report.
fn pgvector_findings(check: &Value) -> Vec<Value> {
    check["preflight"]["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["kind"] == "pgvector")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn pgvector_0_8_1_is_warned_about_and_builds_hnsw_without_parallel_workers() {
    static OLD: OnceLock<Cluster> = OnceLock::new();
    let old = OLD.get_or_init(|| Cluster::start_on(&pgvector_old_bin_dir(), &[]));
    let fx = Fixture::bare_on(old, "vector_versions").await;
    bloated_hnsw(&fx).await;

    let run = json(&fx.invoke_main(json!({"mode": "run"})).await);
    assert_eq!(
        fixed_in(&run["warnings"]),
        ["0.8.2", "0.8.3", "0.8.4"],
        "{run:#}"
    );
    let warned = run["warnings"].to_string();
    assert!(warned.contains("pgvector 0.8.1"), "{warned}");
    assert!(warned.contains("hnsw graph not repaired"), "{warned}");
    let entry = rebuilt_entry(&run);
    assert_eq!(
        entry["session"]["max_parallel_maintenance_workers"], 0,
        "{entry:#}"
    );

    let check = json(&fx.invoke_main(json!({"mode": "check"})).await);
    let findings = pgvector_findings(&check);
    assert_eq!(
        fixed_in(&Value::from(findings.clone())),
        ["0.8.2", "0.8.3", "0.8.4"],
        "{check:#}"
    );
    assert!(
        findings.iter().all(|f| f["severity"] == "warning"),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn a_pgvector_without_known_index_bugs_is_not_warned_about() {
    let fx = Fixture::bare_on(small_memory_cluster(), "vector_current").await;
    bloated_hnsw(&fx).await;
    let run = json(&fx.invoke_main(json!({"mode": "run"})).await);
    assert!(fixed_in(&run["warnings"]).is_empty(), "{run:#}");
    let entry = rebuilt_entry(&run);
    assert!(
        entry["session"]["max_parallel_maintenance_workers"].is_null(),
        "{entry:#}"
    );
    let check = json(&fx.invoke_main(json!({"mode": "check"})).await);
    assert!(pgvector_findings(&check).is_empty(), "{check:#}");
}
