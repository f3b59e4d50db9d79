//! The reindex engine end to end against a real PostgreSQL cluster: real bloat, real
//! REINDEX INDEX CONCURRENTLY, the control DB as a DBA would read it.

use common::recorded::{
    recorded,
    Table::{History, IndexState},
};
use common::steps::rebuilt;
use common::Fixture;
use index_pilot::report::Status;
use serde_json::json;
use tokio_postgres::Row;

#[tokio::test]
async fn bloated_btree_is_rebuilt_and_the_healthy_one_left_alone() {
    let fx = Fixture::new("rebuild").await;
    fx.create_table("bloated", 200_000).await;
    fx.create_table("healthy", 200_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let seeded = fx.invoke_main(json!({"mode": "baseline"})).await;
    assert_eq!(seeded.baselines_set, Some(2));
    assert!(seeded.reindexed.is_empty());
    fx.bloat("bloated").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&report), ["public.bloated_id"]);
    let rebuilt = &report.reindexed[0];
    assert!(
        rebuilt.size_after * 2 <= rebuilt.size_before,
        "at least halved: {} -> {}",
        rebuilt.size_before,
        rebuilt.size_after
    );
    assert!(rebuilt.estimated_bloat_before.unwrap() >= 2.0);
    assert!(report.failed.is_empty() && report.deferred.is_empty());
    assert_eq!(
        fx.index_size("public", "bloated_id").await as u64,
        rebuilt.size_after
    );

    let control = fx.control().await;
    let history: Row = recorded(
        &control,
        History,
        "status, size_before, size_after, index_oid_before <> index_oid_after",
        "",
        &[],
    )
    .await;
    assert_eq!(history.get::<_, String>(0), "completed");
    assert_eq!(history.get::<_, i64>(1) as u64, rebuilt.size_before);
    assert_eq!(history.get::<_, i64>(2) as u64, rebuilt.size_after);
    assert!(
        history.get::<_, bool>(3),
        "REINDEX CONCURRENTLY gives a new oid"
    );
    // The baseline follows the new oid and is the rebuilt index's own size per tuple.
    let baseline: Row = recorded(
        &control,
        IndexState,
        "s.index_oid, s.best_ratio, s.size_bytes::float8 / s.reltuples",
        "s WHERE s.index_name = 'bloated_id'",
        &[],
    )
    .await;
    let current_oid: u32 = fx
        .target()
        .await
        .query_one("SELECT 'public.bloated_id'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(baseline.get::<_, u32>(0), current_oid);
    let (best, ratio): (f64, f64) = (baseline.get(1), baseline.get(2));
    assert!(
        (best - ratio).abs() < 1e-6,
        "baseline {best} vs ratio {ratio}"
    );
    // People can read it.
    let views = control
        .query_one(
            "SELECT (SELECT count(*) FROM index_pilot.history),
                    (SELECT estimated_bloat::float8 FROM index_pilot.current_bloat WHERE index = 'public.bloated_id')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(views.get::<_, i64>(0), 1);
    assert_eq!(views.get::<_, f64>(1), 1.0);

    // A second run finds nothing to do.
    let again = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(again.reindexed.is_empty(), "{:?}", again.reindexed);
    assert_eq!(again.candidates, 0);
}

/// btree (int and text), hash, GIN, GiST and SP-GiST: each bloated one is rebuilt
/// once, and after ANALYZE (which recounts the tuples) a new run finds
/// nothing left to do.
#[tokio::test]
async fn every_access_method_is_rebuilt_once() {
    let fx = Fixture::new("methods").await;
    fx.target()
        .await
        .batch_execute(
            "CREATE TABLE docs (id int, code text, tags int[], spot point);
             INSERT INTO docs
             SELECT g, md5(g::text), ARRAY[g % 1000, g % 977, g % 953], point(g % 1000, g / 1000)
             FROM generate_series(1, 150000) g;
             CREATE INDEX docs_id ON docs (id);
             CREATE INDEX docs_code ON docs (code);
             CREATE INDEX docs_hash ON docs USING hash (id);
             CREATE INDEX docs_tags ON docs USING gin (tags);
             CREATE INDEX docs_spot ON docs USING gist (spot);
             CREATE INDEX docs_spot_sp ON docs USING spgist (spot);",
        )
        .await
        .unwrap();
    fx.vacuum("docs").await;
    fx.set(&[], "index_size_threshold", "500kB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    fx.bloat("docs").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        rebuilt(&report),
        [
            "public.docs_code",
            "public.docs_hash",
            "public.docs_id",
            "public.docs_spot",
            "public.docs_spot_sp",
            "public.docs_tags"
        ]
    );
    for r in &report.reindexed {
        assert!(r.size_after < r.size_before, "{r:?}");
    }
    // Before and after the tuple counts are refreshed, nothing is bloated any more.
    let again = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(again.reindexed.is_empty(), "{:?}", again.plan);
    // ANALYZE alone rewrites every index's reltuples (VACUUM may keep a GIN index's).
    fx.target()
        .await
        .batch_execute("ANALYZE docs")
        .await
        .unwrap();
    let after_analyze = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(
        after_analyze.reindexed.is_empty(),
        "{:?}",
        after_analyze.plan
    );
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let fx = Fixture::new("dryrun").await;
    fx.create_table("bloated", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    fx.bloat("bloated").await;
    let control = fx.control().await;
    let state_before: i64 = recorded::<Row>(
        &control,
        IndexState,
        "count(*)",
        "WHERE ratio > best_ratio * 2",
        &[],
    )
    .await
    .get(0);
    let before = fx.relfilenodes().await;

    let report = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(report.candidates, 1);
    assert_eq!(report.plan[0].index, "public.bloated_id");
    assert!(report.plan[0].estimated_bloat.unwrap() >= 2.0);
    // Each index shows once: the candidates in the plan, the rest as left alone.
    assert!(report
        .left_alone
        .iter()
        .all(|e| e.index != "public.bloated_id"));
    assert!(report.reindexed.is_empty());

    assert_eq!(fx.relfilenodes().await, before, "no index was rebuilt");
    let history: i64 = recorded::<Row>(&control, History, "count(*)", "", &[])
        .await
        .get(0);
    assert_eq!(history, 0);
    // Not even the scan was recorded: the stored state still shows the old reading.
    let state_after: i64 = recorded::<Row>(
        &control,
        IndexState,
        "count(*)",
        "WHERE ratio > best_ratio * 2",
        &[],
    )
    .await
    .get(0);
    assert_eq!((state_before, state_after), (0, 0));
}

#[tokio::test]
async fn names_that_need_quoting_are_rebuilt() {
    let fx = Fixture::new("quoting").await;
    let long_name = format!("idx_{}", "x".repeat(59));
    assert_eq!(long_name.len(), 63);
    let names = [
        ("Ünïcødé Schema", "Order \"Items\"", "Idx With Spaces"),
        ("Ünïcødé Schema", "Order \"Items\"", "UPPER_case"),
        ("public", "t", "quote\"inside"),
        ("public", "t", "ÄÖÜ_ñ"),
        ("public", "t", long_name.as_str()),
    ];
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let target = fx.target().await;
    target
        .batch_execute(&format!(
            "CREATE SCHEMA {s};
             CREATE TABLE {s}.{t} (id int);
             INSERT INTO {s}.{t} SELECT generate_series(1, 20000);
             CREATE TABLE public.t (id int);
             INSERT INTO public.t SELECT generate_series(1, 20000);",
            s = quote("Ünïcødé Schema"),
            t = quote("Order \"Items\"")
        ))
        .await
        .unwrap();
    for (schema, table, index) in names {
        target
            .batch_execute(&format!(
                "CREATE INDEX {} ON {}.{} (id)",
                quote(index),
                quote(schema),
                quote(table)
            ))
            .await
            .unwrap();
    }
    fx.vacuum("").await;
    fx.set(&[], "index_size_threshold", "0").await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let mut expected: Vec<String> = names
        .iter()
        .map(|(s, _, i)| index_pilot::domain::ident::QualifiedName::new(*s, *i).to_string())
        .collect();
    expected.sort();
    assert_eq!(rebuilt(&report), expected);

    // Each name, as the report prints it, works in a `reindex` event.
    for name in &expected {
        let forced = fx
            .invoke_main(
                json!({"mode": "reindex", "targets": ["main"], "index": name, "force": true}),
            )
            .await;
        assert_eq!(rebuilt(&forced), std::slice::from_ref(name), "{forced:?}");
    }
    assert!(fx.invalid_indexes().await.is_empty());
}

/// Invocations that start at the same moment on a new control database: one
/// migrates, the others wait for it, none fails.
#[tokio::test]
async fn concurrent_first_invocations_migrate_once() {
    let fx = Fixture::bare("migrate").await;
    let runs = (0..6).map(|_| fx.try_invoke(json!({"mode": "dry_run"})));
    for result in futures::future::join_all(runs).await {
        let report = result.expect("every invocation succeeds");
        assert_eq!(report.targets[0].status, Status::Ok);
    }
    let versions: Vec<i32> = fx
        .control()
        .await
        .query("SELECT version FROM index_pilot.schema_migrations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=15).collect::<Vec<i32>>());
}

/// A forced order skips windows and size limits: it reaches exactly the one database
/// it names, and an order that could mean more is refused before anything runs.
#[tokio::test]
async fn an_order_reaches_exactly_one_database() {
    let fx = Fixture::new("order").await;
    fx.create_table("orders", 20_000).await;
    let other_db = format!("{}_other", fx.target_db);
    fx.cluster.create_database(&other_db).await;
    let other = fx.cluster.connect(&other_db).await;
    other
        .batch_execute(
            "CREATE TABLE orders (id int);
             INSERT INTO orders SELECT generate_series(1, 20000);
             CREATE INDEX orders_id ON orders (id);",
        )
        .await
        .unwrap();
    let targets = json!([
        {"name": "main", "url": fx.cluster.url(&fx.target_db)},
        {"name": "other", "url": fx.cluster.url(&other_db)},
        {"name": "both", "url": fx.cluster.url(&fx.target_db),
         "databases": [fx.target_db.clone(), other_db.clone()]},
    ]);
    let fx = fx.with_targets(targets);
    let main = fx.target().await;
    let files = || async {
        let mut files = Vec::new();
        for client in [&main, &other] {
            let row = client
                .query_one("SELECT pg_relation_filenode('orders_id')::bigint", &[])
                .await
                .unwrap();
            files.push(row.get::<_, i64>(0));
        }
        files
    };
    let order = |extra: serde_json::Value| {
        let mut event = json!({"mode": "reindex", "index": "public.orders_id", "force": true});
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event
    };
    let before = files().await;
    for (extra, refusal) in [
        (
            json!({}),
            "name exactly one target in \"targets\" (this event names 0)",
        ),
        (
            json!({"targets": ["main", "other"]}),
            "(this event names 2)",
        ),
        (json!({"targets": ["both"]}), "lists several databases"),
        (
            json!({"targets": ["both"], "database": "elsewhere"}),
            "lists no database \"elsewhere\"",
        ),
        (
            json!({"targets": ["main"], "database": "x"}),
            "no \"databases\" list",
        ),
    ] {
        let error = fx.try_invoke(order(extra.clone())).await.unwrap_err();
        assert!(error.to_string().contains(refusal), "{extra}: {error}");
    }
    assert_eq!(files().await, before, "a refused order rebuilt something");

    let report = fx
        .invoke(order(json!({"targets": ["both"], "database": other_db})))
        .await;
    assert_eq!(report.targets.len(), 1, "{report:?}");
    assert_eq!(rebuilt(&report.targets[0]), ["public.orders_id"]);
    let after = files().await;
    assert_eq!(after[0], before[0], "the database not named was touched");
    assert_ne!(after[1], before[1], "the named database was not rebuilt");
}
