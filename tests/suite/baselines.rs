//! Baselines at first sight: a database's first scan estimates what a fresh build
//! would take (or follows `initial_baseline`), an index that appears later is taken
//! as it is, and `baseline` seeds only what has no baseline unless told to reseed.

use std::collections::BTreeMap;

use common::recorded::{recorded, Table::IndexState};
use common::steps::{batch, deferral, rebuilt};
use common::Fixture;
use index_pilot::report::TargetReport;
use serde_json::json;
use tokio_postgres::Row;

/// `rows` rows with a btree on an integer and one on md5 text.
async fn create(fx: &Fixture, table: &str, rows: i32) {
    batch(
        &fx.target().await,
        &format!(
            "CREATE TABLE {table} (id int NOT NULL, payload text NOT NULL);
             INSERT INTO {table} SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;
             CREATE INDEX {table}_id ON {table} (id);
             CREATE INDEX {table}_payload ON {table} (payload);"
        ),
    )
    .await;
    fx.vacuum(table).await;
}

/// Deletes `percent` % of the rows (spread over the table) and vacuums.
async fn delete(fx: &Fixture, table: &str, percent: i32) {
    fx.delete_and_vacuum(table, &format!("id % 100 < {percent}"))
        .await;
}

/// How each index's baseline was set, as index_state says.
async fn sources(fx: &Fixture) -> BTreeMap<String, Option<String>> {
    let rows: Vec<Row> = recorded(
        &fx.control().await,
        IndexState,
        "index_name, baseline_source",
        "WHERE schema_name = 'public'",
        &[],
    )
    .await;
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

fn bloat_of(report: &TargetReport, index: &str) -> Option<f64> {
    report
        .new_baselines
        .iter()
        .find(|b| b.index == index)
        .and_then(|b| b.estimated_bloat)
}

#[tokio::test]
async fn the_first_scan_estimates_and_a_later_index_is_taken_as_it_is() {
    let fx = Fixture::bare("first_scan").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    create(&fx, "bloated", 200_000).await;
    create(&fx, "healthy", 200_000).await;
    delete(&fx, "bloated", 60).await;

    // No history at all: the estimate finds the bloat that is there, and only it.
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        rebuilt(&report),
        ["public.bloated_id", "public.bloated_payload"],
        "{report:#?}"
    );
    for index in ["public.bloated_id", "public.bloated_payload"] {
        let bloat = bloat_of(&report, index).expect("estimated");
        assert!((2.2..=2.8).contains(&bloat), "{index}: {bloat}");
    }
    for index in ["public.healthy_id", "public.healthy_payload"] {
        let bloat = bloat_of(&report, index).expect("estimated");
        assert!((0.95..=1.1).contains(&bloat), "{index}: {bloat}");
    }
    assert_eq!(report.baseline_sources, BTreeMap::from([("estimate", 4)]));
    let stored = sources(&fx).await;
    assert_eq!(stored["healthy_id"].as_deref(), Some("estimate"));
    assert_eq!(stored["bloated_id"].as_deref(), Some("rebuild"));

    // An index that appears after the first scan, bloated before it is first seen
    // (a partition filled and purged within a schedule): at most one schedule old,
    // it is taken as it is, not rebuilt.
    create(&fx, "later", 200_000).await;
    delete(&fx, "later", 60).await;
    let next = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(next.reindexed.is_empty(), "{:?}", next.reindexed);
    assert_eq!(next.baseline_sources, BTreeMap::from([("first_sight", 2)]));
    assert_eq!(
        sources(&fx).await["later_id"].as_deref(),
        Some("first_sight")
    );
}

#[tokio::test]
async fn initial_baseline_current_takes_all_and_rebuild_rebuilds_all() {
    for (policy, expected) in [
        ("current", Vec::<&str>::new()),
        ("rebuild", vec!["public.fresh_id", "public.fresh_payload"]),
    ] {
        let fx = Fixture::bare(&format!("policy_{policy}")).await;
        fx.set(&[], "index_size_threshold", "1MB").await;
        fx.set(&[], "initial_baseline", policy).await;
        create(&fx, "fresh", 200_000).await;
        delete(&fx, "fresh", 60).await;
        let report = fx.invoke_main(json!({"mode": "run"})).await;
        assert_eq!(rebuilt(&report), expected, "initial_baseline {policy}");
    }
}

#[tokio::test]
async fn other_methods_use_pgstattuple_their_catalog_model_or_their_current_size() {
    let fx = Fixture::bare("methods_first").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        "CREATE EXTENSION pgstattuple;
         CREATE TABLE shapes (id int, p point, b box, tags int[], doc tsvector);
         INSERT INTO shapes SELECT g, point(random() * 1000, random() * 1000),
                box(point(g % 1000, g / 1000), point(g % 1000 + 2, g / 1000 + 2)),
                ARRAY[g % 50, g % 77, g % 13],
                to_tsvector('simple', 'w' || (g % 1000) || ' y' || g)
         FROM generate_series(1, 300000) g;
         CREATE INDEX shapes_p ON shapes USING gist (p);
         CREATE INDEX shapes_b ON shapes USING gist (b);
         CREATE INDEX shapes_id_hash ON shapes USING hash (id);
         CREATE INDEX shapes_tags ON shapes USING gin (tags);
         CREATE INDEX shapes_doc ON shapes USING gin (doc);",
    )
    .await;
    // 80 %: a hash index's buckets halve in steps, and it must be past 2× for sure.
    fx.delete_and_vacuum("shapes", "id % 5 <> 0").await;

    let report = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let by_index: BTreeMap<&str, _> = report
        .new_baselines
        .iter()
        .map(|b| (b.index.as_str(), b))
        .collect();
    let source = |index: &str| by_index[index].source.as_str();
    assert_eq!(source("public.shapes_p"), "pgstattuple");
    assert_eq!(source("public.shapes_b"), "pgstattuple");
    assert_eq!(source("public.shapes_id_hash"), "estimate");
    // An array whose every element pg_stats knows; a tsvector's rare words it does not.
    assert_eq!(source("public.shapes_tags"), "estimate");
    assert_eq!(source("public.shapes_doc"), "no_estimate");
    assert!(by_index["public.shapes_doc"]
        .note
        .as_deref()
        .unwrap()
        .contains("does not know every element"));
    let planned: Vec<&str> = report.plan.iter().map(|p| p.index.as_str()).collect();
    for index in [
        "public.shapes_p",
        "public.shapes_b",
        "public.shapes_id_hash",
        "public.shapes_tags",
    ] {
        assert!(planned.contains(&index), "{index} bloated 5×: {report:#?}");
    }

    // Without pgstattuple, GiST takes its current size, and says why.
    batch(&fx.target().await, "DROP EXTENSION pgstattuple").await;
    let without = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let gist = without
        .new_baselines
        .iter()
        .find(|b| b.index == "public.shapes_p")
        .unwrap();
    assert_eq!(gist.source.as_str(), "no_estimate");
    assert!(gist
        .note
        .as_deref()
        .unwrap()
        .contains("pgstattuple is not installed"));
}

#[tokio::test]
async fn baseline_seeds_only_what_has_none_and_reseed_seeds_all() {
    let fx = Fixture::bare("seed_once").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    create(&fx, "t", 200_000).await;
    let seeded = fx.invoke_main(json!({"mode": "baseline"})).await;
    assert_eq!(seeded.baselines_set, Some(2));
    delete(&fx, "t", 60).await;

    // Bloat that exists when baseline runs again is not hidden by it.
    let again = fx.invoke_main(json!({"mode": "baseline"})).await;
    assert_eq!(again.baselines_set, Some(0));
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(dry.candidates, 2, "{:?}", dry.left_alone);

    // reseed: every index is accepted as it is now.
    let reseeded = fx
        .invoke_main(json!({"mode": "baseline", "reseed": true}))
        .await;
    assert_eq!(reseeded.baselines_set, Some(2));
    let after = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(after.candidates, 0, "{:?}", after.left_alone);
    assert_eq!(sources(&fx).await["t_id"].as_deref(), Some("accepted"));
}

/// While someone's index build runs in the database, nothing reads a whole index: a
/// GiST's estimate waits (pgstattuple would hold a snapshot the build waits for), and
/// a large candidate is not confirmed. Once the build is over, both go ahead.
#[tokio::test]
async fn a_build_in_the_database_holds_back_whole_index_reads() {
    let fx = Fixture::bare("build_running").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "confirm_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        "CREATE EXTENSION pgstattuple;
         CREATE TABLE shapes (id int, p point);
         INSERT INTO shapes SELECT g, point(random() * 1000, random() * 1000)
         FROM generate_series(1, 200000) g;
         CREATE INDEX shapes_p ON shapes USING gist (p);",
    )
    .await;
    create(&fx, "t", 200_000).await;
    delete(&fx, "t", 60).await;
    common::create_slow_indexes(&fx, 0, std::time::Duration::from_secs(10)).await;
    let (builder, _) = fx.session("someone-else").await;
    let build = tokio::spawn(async move {
        builder
            .batch_execute("CREATE INDEX CONCURRENTLY someone_slow ON slow (slow_key(k))")
            .await
    });
    let target = fx.target().await;
    for _ in 0..100 {
        let building: i64 = target
            // Of this database only: other tests share the server.
            .query_one(
                "SELECT count(*) FROM pg_stat_progress_create_index
                 WHERE datname = current_database()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if building > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let during = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert!(
        !build.is_finished(),
        "the build ended before the dry run did: make it slower"
    );
    let waits = deferral(&during, "public.shapes_p");
    assert!(waits.reason.contains("an index build runs"), "{waits:?}");
    let look = during
        .confirmations
        .iter()
        .find(|c| c.index.starts_with("public.t_"))
        .unwrap_or_else(|| panic!("{during:#?}"));
    assert!(look.how.contains("an index build runs"), "{look:?}");
    // A run records the GiST as found, without a baseline yet (t is left alone: its
    // rebuilds would wait for the other build).
    fx.set(&[("table_name", "t")], "skip", "true").await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(
        run.deferred.iter().any(|d| d.index == "public.shapes_p"),
        "{run:#?}"
    );
    assert!(
        !build.is_finished(),
        "the build ended before the run did: make it slower"
    );

    build.await.unwrap().expect("the other build");
    let after = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let gist = after
        .new_baselines
        .iter()
        .find(|b| b.index == "public.shapes_p")
        .unwrap_or_else(|| panic!("{after:#?}"));
    assert_eq!(gist.source.as_str(), "pgstattuple");
    // The next run estimates it and records the baseline, though the index did not
    // change since the run that found it.
    fx.invoke_main(json!({"mode": "run"})).await;
    let stored: Option<String> = recorded::<Row>(
        &fx.control().await,
        IndexState,
        "baseline_source",
        "WHERE index_name = 'shapes_p'",
        &[],
    )
    .await
    .get(0);
    assert_eq!(stored.as_deref(), Some("pgstattuple"));
    batch(
        &fx.control().await,
        "DELETE FROM index_pilot.settings WHERE key = 'skip'",
    )
    .await;
    let unskipped = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert!(
        unskipped
            .confirmations
            .iter()
            .any(|c| c.how.contains("pgstatindex: leaf pages")),
        "{unskipped:#?}"
    );
}

/// Names that need quoting everywhere an estimate or a confirmation puts one in SQL:
/// pgstattuple installed in a schema of its own, and a table ANALYZE must name.
#[tokio::test]
async fn names_that_need_quoting_are_estimated_and_confirmed() {
    let fx = Fixture::bare("quoted_first").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "confirm_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        r#"CREATE SCHEMA "Stat ""Tools""";
           CREATE EXTENSION pgstattuple SCHEMA "Stat ""Tools""";
           CREATE SCHEMA "Sales EU";
           CREATE TABLE "Sales EU"."Orders ""2024""" (id int, p point);
           INSERT INTO "Sales EU"."Orders ""2024"""
           SELECT g, point(random() * 1000, random() * 1000) FROM generate_series(1, 200000) g;
           CREATE INDEX "Ordre Ÿ id" ON "Sales EU"."Orders ""2024""" (id);
           CREATE INDEX "Ordre Ÿ p" ON "Sales EU"."Orders ""2024""" USING gist (p);"#,
    )
    .await;
    fx.vacuum(r#""Sales EU"."Orders ""2024""""#).await;
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    let source = |name: &str| {
        first
            .new_baselines
            .iter()
            .find(|b| b.index == name)
            .map(|b| b.source.as_str())
    };
    assert_eq!(
        source(r#""Sales EU"."Ordre Ÿ id""#),
        Some("estimate"),
        "{first:#?}"
    );
    assert_eq!(source(r#""Sales EU"."Ordre Ÿ p""#), Some("pgstattuple"));
    assert!(first.reindexed.is_empty());

    // Rows added, not analyzed: both indexes look bloated until ANALYZE (the first
    // look analyzes the table; the second finds the statistics fresh).
    batch(
        &fx.target().await,
        r#"INSERT INTO "Sales EU"."Orders ""2024""" SELECT g, point(0, 0) FROM generate_series(200001, 500000) g"#,
    )
    .await;
    fx.statistics_show(r#"Orders "2024""#, "n_mod_since_analyze >= 300000")
        .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    let btree = run
        .confirmations
        .iter()
        .find(|c| c.index == r#""Sales EU"."Ordre Ÿ id""#)
        .unwrap_or_else(|| panic!("{run:#?}"));
    assert!(btree.false_alarm, "{btree:?}");
    assert!(
        run.confirmations
            .iter()
            .any(|c| c.how.contains(r#"ANALYZE "Sales EU"."Orders ""2024""""#)),
        "{:?}",
        run.confirmations
    );
}
