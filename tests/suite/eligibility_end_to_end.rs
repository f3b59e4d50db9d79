//! What is never touched, end to end: the kinds of index a rebuild must leave alone.

use common::steps::rebuilt;
use common::Fixture;
use serde_json::json;

#[tokio::test]
async fn excluded_kinds_of_index_are_never_touched() {
    let fx = Fixture::new("excluded").await;
    let target = fx.target().await;
    target
        .batch_execute(
            "CREATE TABLE plain (id int, b box, v int);
             INSERT INTO plain SELECT g, box(point(g, g), point(g + 0.5, g + 0.5)), g % 1000
               FROM generate_series(1, 100000) g;
             CREATE INDEX plain_brin ON plain USING brin (id);
             ALTER TABLE plain ADD CONSTRAINT plain_no_overlap EXCLUDE USING gist (b WITH &&);
             -- a failed CREATE INDEX CONCURRENTLY leaves an invalid index behind
             CREATE TABLE parted (id int, v int) PARTITION BY RANGE (id);
             CREATE TABLE parted_leaf PARTITION OF parted FOR VALUES FROM (0) TO (1000000);
             INSERT INTO parted SELECT g, g FROM generate_series(1, 100000) g;
             CREATE INDEX parted_id ON parted (id);",
        )
        .await
        .unwrap();
    fx.vacuum("plain, parted").await;
    assert!(target
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY plain_invalid ON plain (v)")
        .await
        .is_err());
    // A temporary table lives as long as the session that made it: keep it open.
    let session = fx.target().await;
    session
        .batch_execute(
            "CREATE TEMP TABLE scratch AS SELECT g AS id FROM generate_series(1, 100000) g;
             CREATE INDEX scratch_id ON scratch (id);",
        )
        .await
        .unwrap();
    let temp_schema: String = session
        .query_one(
            "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    fx.set(&[], "index_size_threshold", "0").await;

    let excluded = [
        "public.plain_brin".to_owned(),
        "public.plain_no_overlap".to_owned(),
        "public.plain_invalid".to_owned(),
        "public.parted_id".to_owned(),
        format!("{temp_schema}.scratch_id"),
        "pg_catalog.pg_class_oid_index".to_owned(),
    ];
    let before = fx.relfilenodes().await;
    // No baselines yet: every eligible index is a candidate, so `run` rebuilds the
    // partition's own index and nothing on the list.
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        rebuilt(&report),
        ["public.parted_leaf_id_idx"],
        "{report:?}"
    );
    for index in &excluded {
        let report = fx
            .invoke(json!({"mode": "reindex", "targets": ["main"], "index": index, "force": true}))
            .await;
        let forced = &report.targets[0];
        assert!(forced.reindexed.is_empty(), "{index} was rebuilt");
        let reason = forced
            .deferred
            .first()
            .map(|d| d.reason.clone())
            .or(forced.reason.clone())
            .unwrap_or_default();
        assert!(
            reason.contains("not eligible") || reason.contains("does not exist"),
            "{index}: {reason}"
        );
    }
    let after = fx.relfilenodes().await;
    for (name, node) in &before {
        if name != "public.parted_leaf_id_idx" {
            assert_eq!(after.get(name), Some(node), "{name} was touched");
        }
    }
    drop(session);
}
