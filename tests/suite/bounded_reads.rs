//! Our own reads are bounded: pgstattuple and pgstatindex skip indexes above
//! `max_inspect_size`; a read that reached `max_inspect_time` is recorded and not tried
//! again on that index (a dry run reads the record and writes none); and a first
//! estimate's pgstattuple waits for a maintenance window. What was read is proved from
//! the server: the blocks `pg_statio_user_indexes` and `pg_statio_user_tables` count
//! for each index and table.

use std::collections::BTreeMap;

use common::steps::{batch, deferral, vacuumed};
use common::Fixture;
use index_pilot::report::TargetReport;
use serde_json::json;

/// The indexes whose blocks were read between two counts.
fn read_between(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> Vec<String> {
    after
        .iter()
        .filter(|(name, count)| before.get(*name) != Some(count))
        .map(|(name, _)| name.clone())
        .collect()
}

/// `rows` rows with a btree `<table>_id` (on an integer and md5 text: at a million
/// rows, pgstatindex reads it in well over a millisecond) and a GiST `<table>_p`,
/// vacuumed.
async fn points(fx: &Fixture, table: &str, rows: i32) {
    batch(
        &fx.target().await,
        &format!(
            "CREATE TABLE {table} (id int NOT NULL, code text NOT NULL, p point);
             INSERT INTO {table}
             SELECT g, md5(g::text), point(g % 1000, g / 1000) FROM generate_series(1, {rows}) g;
             CREATE INDEX {table}_id ON {table} (id, code);
             CREATE INDEX {table}_p ON {table} USING gist (p);"
        ),
    )
    .await;
    fx.vacuum(table).await;
}

/// Deletes 60 % of the rows and vacuums, until the statistics show it.
async fn bloat(fx: &Fixture, table: &str) {
    batch(
        &fx.target().await,
        &format!("DELETE FROM {table} WHERE id % 5 < 3"),
    )
    .await;
    fx.quiet().await;
    fx.vacuum(table).await;
    fx.statistics_show(
        table,
        &format!("n_mod_since_analyze = 0 AND {}", vacuumed()),
    )
    .await;
}

fn note<'a>(report: &'a TargetReport, index: &str) -> (&'a str, &'a str) {
    let baseline = report
        .new_baselines
        .iter()
        .find(|b| b.index == index)
        .unwrap_or_else(|| panic!("no new baseline for {index}: {report:#?}"));
    (
        baseline.source.as_str(),
        baseline.note.as_deref().unwrap_or(""),
    )
}

fn how<'a>(report: &'a TargetReport, index: &str) -> &'a str {
    report
        .confirmations
        .iter()
        .find(|c| c.index == index)
        .map(|c| c.how.as_str())
        .unwrap_or_else(|| panic!("no confirmation of {index}: {report:#?}"))
}

#[tokio::test]
async fn whole_index_reads_skip_indexes_above_max_inspect_size() {
    let fx = Fixture::bare("inspect_size").await;
    for (key, value) in [
        ("index_size_threshold", "64kB"),
        ("minimum_reliable_index_size", "64kB"),
        ("confirm_size_threshold", "64kB"),
        ("max_inspect_size", "1MB"),
    ] {
        fx.set(&[], key, value).await;
    }
    batch(&fx.target().await, "CREATE EXTENSION pgstattuple").await;
    points(&fx, "big", 200_000).await;
    points(&fx, "small", 10_000).await;
    assert!(fx.index_size("public", "big_id").await > 1 << 20);
    assert!(fx.index_size("public", "big_p").await > 1 << 20);
    assert!(fx.index_size("public", "small_id").await < 1 << 20);
    assert!(fx.index_size("public", "small_p").await < 1 << 20);

    // First sight: pgstattuple reads the small GiST, not the large one.
    let before = fx.blocks_read().await;
    let first = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(read_between(&before, &fx.blocks_read().await), ["small_p"]);
    assert_eq!(note(&first, "public.small_p").0, "pgstattuple");
    let (source, why) = note(&first, "public.big_p");
    assert_eq!(source, "no_estimate");
    assert!(
        why.contains("pgstattuple not read: larger than max_inspect_size (")
            && why.ends_with(" > 1024 kB)"),
        "{why}"
    );

    // Confirmation: pgstatindex reads the small btree, not the large one.
    fx.invoke_main(json!({"mode": "baseline"})).await;
    bloat(&fx, "big").await;
    bloat(&fx, "small").await;
    let before = fx.blocks_read().await;
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(read_between(&before, &fx.blocks_read().await), ["small_id"]);
    assert!(
        how(&dry, "public.small_id").starts_with("pgstatindex: leaf pages"),
        "{dry:#?}"
    );
    let big = how(&dry, "public.big_id");
    assert!(
        big.starts_with("pgstatindex not read: larger than max_inspect_size ("),
        "{big}"
    );
}

/// A session holds the lock on `t_id` that its REINDEX CONCURRENTLY waits for (and
/// fails on, after `lock_timeout`), so that the candidate stays a candidate from one
/// run to the next; ANALYZE of its table and pgstatindex (share locks) do not wait.
async fn hold_index(fx: &Fixture) -> tokio_postgres::Client {
    let (holder, _) = fx.session("holder").await;
    batch(&holder, "BEGIN; ALTER INDEX t_id SET (fillfactor = 90)").await;
    holder
}

/// (index name, read, when) of every recorded timeout.
async fn timeouts(fx: &Fixture) -> Vec<(String, String, String)> {
    fx.control()
        .await
        .query(
            "SELECT index_name, read_kind, timed_out_at::text FROM index_pilot.read_timeouts
             ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

#[tokio::test]
async fn a_read_that_timed_out_is_recorded_and_not_tried_again() {
    let fx = Fixture::bare("inspect_timeout").await;
    for (key, value) in [
        ("index_size_threshold", "1MB"),
        ("confirm_size_threshold", "1MB"),
        ("max_inspect_time", "1ms"),
        ("lock_timeout", "1s"),
    ] {
        fx.set(&[], key, value).await;
    }
    batch(&fx.target().await, "CREATE EXTENSION pgstattuple").await;
    points(&fx, "t", 1_000_000).await;

    // First sight: pgstattuple on the GiST times out; the run records it and the
    // GiST takes its current size.
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    let (source, why) = note(&first, "public.t_p");
    assert_eq!(source, "no_estimate");
    assert!(
        why.contains("pgstattuple timed out after 1 ms (max_inspect_time): recorded"),
        "{why}"
    );
    assert_eq!(timeouts(&fx).await.len(), 1);

    // 60 % of the rows deleted and vacuumed, not analyzed: the confirmation would
    // ANALYZE, then read the btree. (The GiST, bloated as well, is left alone: its
    // rebuild would read the table too.)
    fx.set(&[("index_name", "t_p")], "skip", "true").await;
    batch(&fx.target().await, "DELETE FROM t WHERE id % 5 < 3").await;
    fx.quiet().await;
    batch(&fx.target().await, "VACUUM t").await;
    fx.statistics_show(
        "t",
        &format!("n_mod_since_analyze >= 600000 AND {}", vacuumed()),
    )
    .await;

    // A dry run's pgstatindex times out too, and it records nothing.
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let look = how(&dry, "public.t_id");
    assert!(
        look.contains("a run would ANALYZE public.t first"),
        "{look}"
    );
    assert!(
        look.contains("pgstatindex timed out after 1 ms (max_inspect_time): a run records it"),
        "{look}"
    );
    assert_eq!(timeouts(&fx).await.len(), 1);

    // A run records both (its rebuild then waits for the lock, and fails on it).
    let holder = hold_index(&fx).await;
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    let look = how(&run, "public.t_id");
    for read in ["ANALYZE", "pgstatindex"] {
        assert!(
            look.contains(&format!(
                "{read} timed out after 1 ms (max_inspect_time): recorded"
            )),
            "{look}"
        );
    }
    assert!(run.reindexed.is_empty(), "{run:#?}");
    assert_eq!(run.failed[0].class.as_str(), "blocked", "{run:#?}");
    let recorded = timeouts(&fx).await;
    assert_eq!(
        recorded
            .iter()
            .map(|(i, r, _)| (i.as_str(), r.as_str()))
            .collect::<Vec<_>>(),
        [
            ("t_id", "analyze"),
            ("t_id", "pgstatindex"),
            ("t_p", "pgstattuple")
        ]
    );

    // Neither the next dry run nor the next run reads the table or the btree again,
    // and the records stay as they were.
    let before = fx.blocks_read().await;
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let again = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        read_between(&before, &fx.blocks_read().await),
        Vec::<String>::new()
    );
    for report in [&dry, &again] {
        let look = how(report, "public.t_id");
        for read in ["ANALYZE", "pgstatindex"] {
            assert!(
                look.contains(&format!("{read} not run: it timed out on this index at ")),
                "{look}"
            );
        }
    }
    assert_eq!(timeouts(&fx).await, recorded);
    drop(holder);
}

#[tokio::test]
async fn a_first_estimate_reads_a_gist_only_inside_a_maintenance_window() {
    let fx = Fixture::bare("inspect_window").await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    batch(&fx.target().await, "CREATE EXTENSION pgstattuple").await;
    points(&fx, "shapes", 200_000).await;
    fx.control()
        .await
        .batch_execute(
            "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
             VALUES ('main', (now() AT TIME ZONE 'UTC' + interval '1 hour')::time,
                             (now() AT TIME ZONE 'UTC' + interval '2 hours')::time)",
        )
        .await
        .unwrap();

    // Outside the window the GiST waits for its estimate, and pgstattuple reads nothing.
    let before = fx.blocks_read().await;
    let outside = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(
        read_between(&before, &fx.blocks_read().await),
        Vec::<String>::new()
    );
    let waits = deferral(&outside, "public.shapes_p");
    assert_eq!(waits.kind.as_str(), "awaiting_estimate");
    assert!(
        waits
            .reason
            .contains("pgstattuple not run: outside its maintenance windows until "),
        "{waits:?}"
    );

    // Inside it, the next scan reads it.
    fx.control()
        .await
        .batch_execute(
            "UPDATE index_pilot.maintenance_windows
             SET starts_at = (now() AT TIME ZONE 'UTC' - interval '1 minute')::time,
                 ends_at = (now() AT TIME ZONE 'UTC' + interval '1 hour')::time",
        )
        .await
        .unwrap();
    let before = fx.blocks_read().await;
    let inside = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(read_between(&before, &fx.blocks_read().await).contains(&"shapes_p".to_owned()));
    assert_eq!(note(&inside, "public.shapes_p").0, "pgstattuple");
}
