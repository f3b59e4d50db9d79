//! A dry run is harmless on a database with hundreds of large candidates: its
//! confirmations read whole indexes only while its budget lasts, each read ends with
//! the budget at the latest, and the candidates it had no time for say so.

use std::time::{Duration, Instant};

use common::steps::batch;
use common::Fixture;
use serde_json::json;

const CANDIDATES: usize = 300;
const BUDGET: Duration = Duration::from_secs(2);
/// What each pgstatindex takes here at least, as a read of a large index would.
const READ_TAKES: Duration = Duration::from_millis(50);
/// Beyond the budget: the catalog scan, the control database, the report.
const MARGIN: Duration = Duration::from_millis(1500);

/// `CANDIDATES` tables of 2,000 rows with a btree each, a baseline each, then 60 % of
/// their rows deleted and vacuumed: each index 2.5 times the size a build would give.
async fn many_bloated_candidates(fx: &Fixture) {
    batch(
        &fx.target().await,
        &format!(
            "DO $$ BEGIN FOR i IN 1..{CANDIDATES} LOOP
                 EXECUTE format('CREATE TABLE c%s (id int NOT NULL)', i);
                 EXECUTE format('INSERT INTO c%s SELECT generate_series(1, 2000)', i);
                 EXECUTE format('CREATE INDEX c%s_id ON c%s (id)', i, i);
             END LOOP; END $$"
        ),
    )
    .await;
    let tables: Vec<String> = (1..=CANDIDATES).map(|i| format!("c{i}")).collect();
    fx.vacuum(&tables.join(", ")).await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    batch(
        &fx.target().await,
        &format!(
            "DO $$ BEGIN FOR i IN 1..{CANDIDATES} LOOP
                 EXECUTE format('DELETE FROM c%s WHERE id %% 5 < 3', i);
             END LOOP; END $$"
        ),
    )
    .await;
    // The DELETE's counts reach the statistics before the VACUUM's reset (else they
    // outlive it), and the VACUUM's before the dry run: pgstatindex is conclusive
    // only where the statistics know of the VACUUM and of few dead tuples.
    every_table_shows(fx, "n_dead_tup > 0").await;
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    fx.vacuum_clean(&tables).await;
}

/// Waits until pg_stat_user_tables shows `condition` for every candidate's table.
async fn every_table_shows(fx: &Fixture, condition: &str) {
    let target = fx.target().await;
    let query = format!(
        "SELECT count(*) FROM pg_stat_user_tables WHERE relname ~ '^c[0-9]+$' AND {condition}"
    );
    let mut shown = 0;
    for _ in 0..100 {
        batch(&target, "SELECT pg_stat_clear_snapshot()").await;
        shown = target.query_one(&query, &[]).await.unwrap().get(0);
        if shown == CANDIDATES as i64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let other: String = target
        .query_one(
            &format!(
                "SELECT format('%s: n_live_tup %s, n_dead_tup %s, n_mod_since_analyze %s, last_vacuum %s',
                               relname, n_live_tup, n_dead_tup, n_mod_since_analyze, last_vacuum)
                 FROM pg_stat_user_tables WHERE relname ~ '^c[0-9]+$' AND NOT ({condition}) LIMIT 1"
            ),
            &[],
        )
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| e.to_string());
    panic!("the statistics showed {condition} for {shown} tables of {CANDIDATES}; not for {other}");
}

/// pgstattuple in a schema of its own, its pgstatindex replaced by one that counts
/// every call the server receives (a sequence: a cancelled read counts too) and takes
/// at least `READ_TAKES`.
async fn counted_slow_pgstatindex(fx: &Fixture) {
    batch(
        &fx.target().await,
        &format!(
            "CREATE SCHEMA stats;
             CREATE EXTENSION pgstattuple SCHEMA stats;
             ALTER EXTENSION pgstattuple DROP FUNCTION stats.pgstatindex(regclass);
             ALTER FUNCTION stats.pgstatindex(regclass) RENAME TO real_pgstatindex;
             CREATE SEQUENCE stats.reads;
             CREATE FUNCTION stats.pgstatindex(relname regclass,
                 OUT version int, OUT tree_level int, OUT index_size bigint,
                 OUT root_block_no bigint, OUT internal_pages bigint, OUT leaf_pages bigint,
                 OUT empty_pages bigint, OUT deleted_pages bigint,
                 OUT avg_leaf_density float8, OUT leaf_fragmentation float8)
             LANGUAGE sql AS $f$
                 SELECT nextval('stats.reads'), pg_sleep({});
                 SELECT * FROM stats.real_pgstatindex(relname)
             $f$;",
            READ_TAKES.as_secs_f64()
        ),
    )
    .await;
}

#[tokio::test]
async fn a_dry_run_spends_at_most_its_budget_on_reads() {
    let fx = Fixture::bare("dry_run_budget").await;
    for key in [
        "index_size_threshold",
        "minimum_reliable_index_size",
        "confirm_size_threshold",
    ] {
        fx.set(&[], key, "16kB").await;
    }
    counted_slow_pgstatindex(&fx).await;
    many_bloated_candidates(&fx).await;

    let started = Instant::now();
    let reports = fx
        .invoke_hops_with_budget(json!({"mode": "dry_run"}), BUDGET)
        .await;
    let took = started.elapsed();
    let reads: i64 = fx
        .target()
        .await
        .query_one(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM stats.reads",
            &[],
        )
        .await
        .unwrap()
        .get(0);

    assert_eq!(reports.len(), 1);
    let main = &reports[0].targets[0];
    assert_eq!(main.candidates, CANDIDATES, "{main:#?}");
    assert!(took <= BUDGET + MARGIN, "the dry run took {took:?}");
    let most = (BUDGET.as_millis() / READ_TAKES.as_millis()) as i64 + 1;
    assert!((1..=most).contains(&reads), "{reads} reads, at most {most}");

    // Every candidate is in the confirmations (the report shows the first 50 and
    // counts the rest): read, stopped when the budget ran out, or not looked at (the
    // budget is checked as a confirmation starts, and again right before the read).
    let shown = &main.confirmations;
    let omitted = main.omitted.get("confirmations").copied().unwrap_or(0);
    assert_eq!(shown.len() + omitted, CANDIDATES);
    let spent = "not confirmed: this invocation's budget is spent";
    let not_run = "pgstatindex not run: this invocation's budget is spent";
    for look in shown {
        assert!(
            look.how.starts_with("pgstatindex: leaf pages")
                || look.how.contains("this invocation's budget ran out")
                || look.how == spent
                || look.how == not_run,
            "{look:?}"
        );
    }
    let read = shown
        .iter()
        .filter(|c| c.how.starts_with("pgstatindex: leaf pages"))
        .count();
    assert!(read as i64 <= reads);
    assert_eq!(shown.last().map(|c| c.how.as_str()), Some(spent));
}
