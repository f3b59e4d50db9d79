//! Unknown at first sight: an index the database's first scan finds under
//! `initial_baseline = estimate` that no estimate covers (GIN over tsvector, SP-GiST)
//! takes its size then as its baseline, and is shown as of unknown bloat, not healthy,
//! in current_bloat, the report, its text and its metric, until it is rebuilt or
//! accepted. An explicit `current` and an index first seen later are not unknown.

use std::collections::BTreeMap;

use common::steps::{batch, rebuilt};
use common::{json, Fixture};
use index_pilot::report::metrics::emf_documents;
use index_pilot::report::text::render;
use index_pilot::report::Report;
use serde_json::json;

/// (verdict, why, baseline_source) of every index of `docs`, by index name.
async fn standings(fx: &Fixture) -> BTreeMap<String, (String, String, Option<String>)> {
    fx.control()
        .await
        .query(
            "SELECT index, verdict, why, baseline_source FROM index_pilot.current_bloat
             WHERE table_name = 'docs'",
            &[],
        )
        .await
        .expect("current_bloat")
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
        .collect()
}

/// The indexes the report of target main lists as of unknown bloat.
fn unknown_in_report(report: &Report) -> Vec<String> {
    let entry = json(&report.targets[0]);
    let mut names: Vec<String> = entry["unknown_bloat"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|u| u["index"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The `UnknownBloat` metric of target main.
fn unknown_metric(report: &Report) -> Option<f64> {
    emf_documents(report, "IndexPilot", 1)
        .into_iter()
        .find(|d| d["Target"] == "main" && d.get("Reason").is_none())
        .and_then(|d| d["UnknownBloat"].as_f64())
}

#[tokio::test]
async fn unknown_at_first_sight_until_rebuilt_or_accepted() {
    let fx = Fixture::bare("unknown_first").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    // The operator's own choice for one of two alike indexes.
    fx.set(
        &[("index_name", "docs_fts_taken")],
        "initial_baseline",
        "current",
    )
    .await;
    batch(
        &fx.target().await,
        "CREATE TABLE docs (id int NOT NULL, doc tsvector, spot point);
         INSERT INTO docs SELECT g, to_tsvector('simple', 'w' || (g % 1000) || ' y' || g),
                point(random() * 1000, random() * 1000)
         FROM generate_series(1, 200000) g;
         CREATE INDEX docs_id ON docs (id);
         CREATE INDEX docs_fts ON docs USING gin (doc);
         CREATE INDEX docs_fts_taken ON docs USING gin (doc);
         CREATE INDEX docs_spot ON docs USING spgist (spot);",
    )
    .await;
    fx.vacuum("docs").await;

    // The first scan: no estimate for the GIN over tsvector (rare words pg_stats does
    // not know) nor for the SP-GiST. Unknown, not healthy, and not rebuilt for it.
    let first = fx.invoke(json!({"mode": "run"})).await;
    assert!(rebuilt(&first.targets[0]).is_empty(), "{first:#?}");
    assert_eq!(
        unknown_in_report(&first),
        ["public.docs_fts", "public.docs_spot"],
        "{first:#?}"
    );
    assert_eq!(unknown_metric(&first), Some(2.0));
    let text = render(std::slice::from_ref(&first));
    assert!(text.contains("Bloat unknown"), "{text}");
    assert!(text.contains("public.docs_spot"), "{text}");
    assert!(text.contains("a reindex order with force"), "{text}");
    let stood = standings(&fx).await;
    for index in ["public.docs_fts", "public.docs_spot"] {
        let (verdict, why, source) = &stood[index];
        assert_eq!(verdict, "unknown", "{index}: {why}");
        assert!(why.contains("rebuild it once"), "{index}: {why}");
        assert_eq!(source.as_deref(), Some("no_estimate"), "{index}");
    }
    let (verdict, _, source) = &stood["public.docs_fts_taken"];
    assert_eq!(
        (verdict.as_str(), source.as_deref()),
        ("healthy", Some("current"))
    );
    assert_eq!(stood["public.docs_id"].0, "healthy");

    // A dry run says the same; an index first seen after the first scan is taken as
    // it is (first_sight), not unknown.
    batch(
        &fx.target().await,
        "CREATE INDEX docs_fts_later ON docs USING gin (doc)",
    )
    .await;
    let dry = fx.invoke(json!({"mode": "dry_run"})).await;
    assert_eq!(
        unknown_in_report(&dry),
        ["public.docs_fts", "public.docs_spot"]
    );
    assert!(render(std::slice::from_ref(&dry)).contains("Bloat unknown"));
    fx.invoke(json!({"mode": "run"})).await;
    let (verdict, _, source) = &standings(&fx).await["public.docs_fts_later"];
    assert_eq!(
        (verdict.as_str(), source.as_deref()),
        ("healthy", Some("first_sight"))
    );

    // A forced order rebuilds one: its baseline is the fresh build's.
    let order = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.docs_spot", "force": true}))
        .await;
    assert_eq!(rebuilt(&order), ["public.docs_spot"], "{order:#?}");
    let after = fx.invoke(json!({"mode": "run"})).await;
    assert_eq!(unknown_in_report(&after), ["public.docs_fts"]);
    assert_eq!(unknown_metric(&after), Some(1.0));
    let (verdict, _, source) = &standings(&fx).await["public.docs_spot"];
    assert_eq!(
        (verdict.as_str(), source.as_deref()),
        ("healthy", Some("rebuild"))
    );

    // The operator accepts the other one as it is.
    fx.set(&[("index_name", "docs_fts")], "initial_baseline", "current")
        .await;
    let accepted = fx.invoke(json!({"mode": "run"})).await;
    assert!(rebuilt(&accepted.targets[0]).is_empty());
    assert!(unknown_in_report(&accepted).is_empty(), "{accepted:#?}");
    assert_eq!(unknown_metric(&accepted), Some(0.0));
    let (verdict, _, source) = &standings(&fx).await["public.docs_fts"];
    assert_eq!(
        (verdict.as_str(), source.as_deref()),
        ("healthy", Some("current"))
    );
}

#[tokio::test]
async fn initial_baseline_rebuild_makes_an_unknown_index_a_candidate() {
    let fx = Fixture::bare("unknown_rebuild").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        "CREATE TABLE docs (id int NOT NULL, spot point);
         INSERT INTO docs SELECT g, point(random() * 1000, random() * 1000)
         FROM generate_series(1, 200000) g;
         CREATE INDEX docs_spot ON docs USING spgist (spot);",
    )
    .await;
    fx.vacuum("docs").await;
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(rebuilt(&first).is_empty(), "{first:#?}");
    assert_eq!(standings(&fx).await["public.docs_spot"].0, "unknown");

    // initial_baseline = rebuild for that index: rebuilt once, then known.
    fx.set(
        &[("index_name", "docs_spot")],
        "initial_baseline",
        "rebuild",
    )
    .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), ["public.docs_spot"], "{run:#?}");
    let (verdict, _, source) = &standings(&fx).await["public.docs_spot"];
    assert_eq!(
        (verdict.as_str(), source.as_deref()),
        ("rebuilt", Some("rebuild"))
    );
    let next = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(rebuilt(&next).is_empty(), "{next:#?}");
}
