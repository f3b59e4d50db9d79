//! Confirm before acting: a large candidate's statistics are refreshed when stale, a
//! btree's pages are read with pgstatindex, and a false alarm is not rebuilt.

use common::recorded::{recorded, Table::IndexState};
use common::steps::{batch, rebuilt, vacuumed};
use common::Fixture;
use index_pilot::report::{Confirmation, TargetReport};
use serde_json::json;
use tokio_postgres::Row;

/// A table of `rows` with a btree `<table>_id`, vacuumed; every candidate of 1 MB or
/// more is confirmed.
async fn fixture(name: &str, rows: i32) -> Fixture {
    let fx = Fixture::bare(name).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "confirm_size_threshold", "1MB").await;
    batch(
        &fx.target().await,
        &format!(
            "CREATE EXTENSION pgstattuple;
             CREATE TABLE t (id int NOT NULL, payload text NOT NULL);
             INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;
             CREATE INDEX t_id ON t (id);"
        ),
    )
    .await;
    fx.vacuum("t").await;
    fx.statistics_show("t", "last_vacuum IS NOT NULL AND n_mod_since_analyze = 0")
        .await;
    fx
}

fn confirmation<'a>(report: &'a TargetReport, index: &str) -> &'a Confirmation {
    report
        .confirmations
        .iter()
        .find(|c| c.index == index)
        .unwrap_or_else(|| panic!("no confirmation of {index}: {report:#?}"))
}

/// Rows added since the last ANALYZE: the index grew to 2.5 times its size, its
/// tuple count did not, so its size per tuple looks 2.5 times what it was.
async fn grow_without_analyze(fx: &Fixture) {
    batch(
        &fx.target().await,
        "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(200001, 500000) g",
    )
    .await;
    fx.statistics_show("t", "n_mod_since_analyze >= 300000")
        .await;
}

#[tokio::test]
async fn stale_statistics_are_refreshed_and_the_false_alarm_is_not_rebuilt() {
    let fx = fixture("stale", 200_000).await;
    fx.invoke_main(json!({"mode": "run"})).await;
    grow_without_analyze(&fx).await;

    // The dry run says what a run would do, and does not ANALYZE.
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(dry.candidates, 1);
    let look = confirmation(&dry, "public.t_id");
    assert!(
        look.how.contains("a run would ANALYZE public.t first"),
        "{}",
        look.how
    );

    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(run.reindexed.is_empty(), "{:?}", run.reindexed);
    let look = confirmation(&run, "public.t_id");
    assert!(look.false_alarm, "{look:?}");
    assert!(look.estimated_bloat.unwrap() >= 2.2, "{look:?}");
    assert!(look.confirmed_bloat.unwrap() < 1.2, "{look:?}");
    assert!(look.how.contains("ANALYZE public.t"), "{}", look.how);
    let reltuples: f32 = fx
        .target()
        .await
        .query_one("SELECT reltuples FROM pg_class WHERE relname = 't'", &[])
        .await
        .unwrap()
        .get(0);
    assert!((reltuples / 500_000.0 - 1.0).abs() < 0.02, "{reltuples}");
}

#[tokio::test]
async fn analyze_before_rebuild_off_leaves_the_statistics_as_they_are() {
    let fx = fixture("no_analyze", 200_000).await;
    fx.set(&[], "analyze_before_rebuild", "false").await;
    // pgstatindex would see through it: without the extension, only the statistics
    // speak.
    batch(&fx.target().await, "DROP EXTENSION pgstattuple").await;
    fx.invoke_main(json!({"mode": "run"})).await;
    grow_without_analyze(&fx).await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), ["public.t_id"]);
    let look = confirmation(&run, "public.t_id");
    assert!(!look.false_alarm);
    assert!(
        look.how.contains("analyze_before_rebuild is off"),
        "{}",
        look.how
    );
    assert!(
        look.how.contains("pgstatindex not available"),
        "{}",
        look.how
    );
}

#[tokio::test]
async fn pgstatindex_exposes_a_wrong_baseline_and_corrects_it() {
    let fx = fixture("wrong_baseline", 200_000).await;
    fx.invoke_main(json!({"mode": "run"})).await;
    // A baseline a third of the truth, as a rebuild of other data once left.
    batch(
        &fx.control().await,
        "UPDATE index_pilot.index_state SET best_ratio = best_ratio / 3, state_digest = NULL
         WHERE index_name = 't_id'",
    )
    .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(run.reindexed.is_empty(), "{:?}", run.reindexed);
    let look = confirmation(&run, "public.t_id");
    assert!(
        look.false_alarm && look.how.contains("pgstatindex"),
        "{look:?}"
    );
    assert!(look.confirmed_bloat.unwrap() < 1.2, "{look:?}");
    let (source, bloat): (String, f64) = {
        let row: Row = recorded(
            &fx.control().await,
            IndexState,
            "baseline_source, ratio / best_ratio",
            "WHERE index_name = 't_id'",
            &[],
        )
        .await;
        (row.get(0), row.get(1))
    };
    assert_eq!(source, "pgstatindex");
    assert!(bloat < 1.2, "{bloat}");
    // The next run has nothing to confirm.
    let next = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(next.candidates, 0);
    assert!(next.confirmations.is_empty());
}

#[tokio::test]
async fn real_bloat_is_confirmed_and_rebuilt() {
    let fx = fixture("real_bloat", 200_000).await;
    fx.invoke_main(json!({"mode": "run"})).await;
    batch(&fx.target().await, "DELETE FROM t WHERE id % 5 < 3").await;
    fx.vacuum("t").await;
    fx.statistics_show("t", &format!("{} AND n_mod_since_analyze = 0", vacuumed()))
        .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), ["public.t_id"]);
    let look = confirmation(&run, "public.t_id");
    assert!(!look.false_alarm);
    assert!(look.confirmed_bloat.unwrap() >= 2.0, "{look:?}");
}

#[tokio::test]
async fn dead_tuples_make_pgstatindex_inconclusive_and_the_rebuild_goes_ahead() {
    let fx = fixture("dead", 200_000).await;
    fx.invoke_main(json!({"mode": "run"})).await;
    // Deleted and analyzed, not vacuumed: the live rows are counted, and the index's
    // pages stay full of dead entries a rebuild leaves out.
    batch(&fx.target().await, "DELETE FROM t WHERE id % 5 < 3").await;
    batch(&fx.target().await, "ANALYZE t").await;
    fx.statistics_show("t", "n_dead_tup >= 100000 AND n_mod_since_analyze = 0")
        .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), ["public.t_id"], "{run:#?}");
    let look = confirmation(&run, "public.t_id");
    assert!(
        look.how.contains("pgstatindex not conclusive"),
        "{}",
        look.how
    );
}

/// The statistics were reset (or lost in a crash): no dead tuples as far as they
/// know, though the index is full of dead rows' entries. pgstatindex's full pages must
/// not overrule the estimate, nor hide the bloat behind a "corrected" baseline.
#[tokio::test]
async fn after_a_statistics_reset_pgstatindex_does_not_overrule() {
    let fx = fixture("reset", 200_000).await;
    fx.invoke_main(json!({"mode": "run"})).await;
    batch(&fx.target().await, "DELETE FROM t WHERE id % 5 < 3").await;
    batch(&fx.target().await, "ANALYZE t").await;
    batch(&fx.target().await, "SELECT pg_stat_reset()").await;
    fx.statistics_show("t", "n_dead_tup = 0 AND last_vacuum IS NULL")
        .await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(rebuilt(&run), ["public.t_id"], "{run:#?}");
    let look = confirmation(&run, "public.t_id");
    assert!(!look.false_alarm, "{look:?}");
    assert!(look.how.contains("no VACUUM"), "{}", look.how);
}
