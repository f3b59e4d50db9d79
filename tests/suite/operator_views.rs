//! The control database's views for people: `current_bloat` with the settings in
//! force and why each index is or is not a candidate, and `target_totals`, what
//! index-pilot did per target and day.

use std::collections::BTreeMap;

use common::recorded::writers;
use common::steps::{batch, rebuilt};
use common::Fixture;
use serde_json::json;
use tokio_postgres::Client;

/// One index as `current_bloat` shows it.
#[derive(Debug)]
struct Shown {
    threshold: Option<String>,
    scale_factor: Option<f64>,
    reliable: Option<String>,
    skip: Option<bool>,
    skipped_by: Option<String>,
    candidate: Option<bool>,
    why: String,
    verdict: Option<String>,
}

async fn current_bloat(control: &Client) -> BTreeMap<String, Shown> {
    control
        .query(
            "SELECT index, index_size_threshold, index_rebuild_scale_factor,
                    minimum_reliable_index_size, skip, skipped_by, candidate, why, verdict
             FROM index_pilot.current_bloat WHERE target = 'main'",
            &[],
        )
        .await
        .expect("current_bloat")
        .iter()
        .map(|row| {
            (
                row.get(0),
                Shown {
                    threshold: row.get(1),
                    scale_factor: row.get(2),
                    reliable: row.get(3),
                    skip: row.get(4),
                    skipped_by: row.get(5),
                    candidate: row.get(6),
                    why: row.get(7),
                    verdict: row.get(8),
                },
            )
        })
        .collect()
}

#[tokio::test]
async fn current_bloat_shows_the_settings_in_force_and_why() {
    let fx = Fixture::new("views").await;
    for (table, rows) in [
        ("calm", 100_000),
        ("special", 100_000),
        ("small", 5_000),
        ("skipme", 100_000),
    ] {
        fx.create_table(table, rows).await;
    }
    fx.create_picky_index().await;
    batch(
        &fx.target().await,
        "CREATE SCHEMA repack;
         CREATE TABLE repack.log (id int);
         INSERT INTO repack.log SELECT generate_series(1, 100000);
         CREATE INDEX log_id ON repack.log (id);",
    )
    .await;
    fx.vacuum("repack.log").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "quarantine_after", "1").await;
    fx.set(
        &[("schema_name", "public"), ("table_name", "special")],
        "index_rebuild_scale_factor",
        "5",
    )
    .await;
    fx.set(
        &[("schema_name", "public"), ("table_name", "skip*")],
        "skip",
        "true",
    )
    .await;
    let control = fx.control().await;
    let skip_id: i64 = control
        .query_one(
            "SELECT id FROM index_pilot.settings WHERE key = 'skip'",
            &[],
        )
        .await
        .unwrap()
        .get(0);

    // Baselines first, then bloat: a baseline run judges like a run and rebuilds nothing.
    fx.invoke_main(json!({"mode": "baseline"})).await;
    for table in ["calm", "special", "fussy"] {
        batch(
            &fx.target().await,
            &format!("DELETE FROM {table} WHERE id % 5 < 3"),
        )
        .await;
        fx.vacuum(table).await;
    }
    fx.invoke_main(json!({"mode": "baseline"})).await;
    let shown = current_bloat(&control).await;
    let calm = &shown["public.calm_id"];
    assert_eq!(calm.candidate, Some(true), "{calm:?}");
    assert!(calm.why.starts_with("candidate: bloat 2."), "{calm:?}");
    assert!(calm.why.ends_with(" ≥ 2"), "{calm:?}");
    assert_eq!(
        (
            calm.threshold.as_deref(),
            calm.scale_factor,
            calm.reliable.as_deref()
        ),
        (Some("1024 kB"), Some(2.0), Some("128 kB"))
    );
    assert_eq!(calm.skip, Some(false));
    // The table's own scale factor, not the global one.
    let special = &shown["public.special_id"];
    assert_eq!(special.scale_factor, Some(5.0), "{special:?}");
    assert_eq!(special.candidate, Some(false));
    assert!(special.why.starts_with("bloat 2."), "{special:?}");
    assert!(special.why.ends_with(" < 5"), "{special:?}");
    let small = &shown["public.small_id"];
    assert_eq!(small.candidate, Some(false));
    assert_eq!(small.verdict.as_deref(), Some("below_threshold"));
    assert_eq!(small.why, "below index_size_threshold (1024 kB)");
    let skipped = &shown["public.skipme_id"];
    assert_eq!(skipped.skip, Some(true), "{skipped:?}");
    assert_eq!(
        skipped.why,
        format!("skipped by setting #{skip_id} (table public.skip*)")
    );
    assert_eq!(
        skipped.skipped_by.as_deref(),
        Some(format!("setting #{skip_id} (table public.skip*)").as_str())
    );
    let built_in = &shown["repack.log_id"];
    assert_eq!(built_in.why, "built-in skip: schema repack (pg_repack)");
    assert_eq!(built_in.skip, Some(true));

    // The run rebuilds calm and fails on fussy, which goes into quarantine.
    batch(
        &fx.target().await,
        &format!("ALTER DATABASE \"{}\" SET pilot.picky = 'on'", fx.target_db),
    )
    .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), ["public.calm_id"], "{run:?}");
    assert_eq!(run.failed.len(), 1, "{run:?}");
    let shown = current_bloat(&control).await;
    assert_eq!(shown["public.calm_id"].verdict.as_deref(), Some("rebuilt"));
    let fussy = &shown["public.fussy_picky"];
    assert_eq!(fussy.candidate, Some(false), "{fussy:?}");
    assert!(
        fussy.why.starts_with("quarantined since ")
            && fussy
                .why
                .ends_with("after 1 failed rebuild (SQLSTATE P0001)"),
        "{fussy:?}"
    );

    // What index-pilot did today.
    let totals = control
        .query_one(
            "SELECT rebuilds_completed, rebuilds_failed, bytes_reclaimed, reclaimed,
                    quarantined, still_quarantined, day = (now() AT TIME ZONE 'UTC')::date,
                    (SELECT sum(size_before - size_after)::int8 FROM index_pilot.reindex_history
                     WHERE status = 'completed'),
                    pg_size_pretty(bytes_reclaimed)
             FROM index_pilot.target_totals
             WHERE target = 'main' AND database_name = $1",
            &[&fx.target_db],
        )
        .await
        .expect("target_totals");
    let (completed, failed): (i64, i64) = (totals.get(0), totals.get(1));
    let (reclaimed, pretty): (i64, String) = (totals.get(2), totals.get(3));
    assert_eq!((completed, failed), (1, 1));
    let report_reclaimed = run.reindexed[0].size_before - run.reindexed[0].size_after;
    assert_eq!(reclaimed, totals.get::<_, i64>(7));
    assert_eq!(reclaimed as u64, report_reclaimed);
    assert!(reclaimed > 1 << 20, "{reclaimed}");
    assert_eq!(pretty, totals.get::<_, String>(8));
    assert_eq!((totals.get::<_, i64>(4), totals.get::<_, i64>(5)), (1, 1));
    assert!(totals.get::<_, bool>(6));

    // A reindex of one index leaves the others' rows as they were: they are judged as
    // a plain run judges them, not as "not the index asked for".
    fx.invoke_main(json!({"mode": "run"})).await;
    let before = writers(&control, "WHERE target = 'main'").await;
    let reindex = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.special_id", "force": true}))
        .await;
    assert_eq!(rebuilt(&reindex), ["public.special_id"], "{reindex:?}");
    let after = writers(&control, "WHERE target = 'main'").await;
    for index in ["calm_id", "small_id", "skipme_id", "log_id", "fussy_picky"] {
        assert_eq!(after[index], before[index], "{index} was written again");
    }
    let shown = current_bloat(&control).await;
    // Rebuilt, calm_id is smaller than the threshold now; the next scan said so.
    assert_eq!(
        shown["public.calm_id"].why,
        "below index_size_threshold (1024 kB)"
    );
    assert_eq!(
        shown["public.fussy_picky"].verdict.as_deref(),
        Some("quarantined")
    );

    // A release shows at once, before the next scan judges the index again.
    batch(
        &control,
        "UPDATE index_pilot.quarantine SET released_at = now() WHERE released_at IS NULL",
    )
    .await;
    let shown = current_bloat(&control).await;
    assert_eq!(
        shown["public.fussy_picky"].why,
        "released from quarantine; the next scan judges it"
    );
    let still: i64 = control
        .query_one(
            "SELECT still_quarantined FROM index_pilot.target_totals WHERE target = 'main'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(still, 0);
}
