//! What production does to a primary while index-pilot scans it: DDL racing the
//! catalog scan, relations locked for a long time, tables without statistics, TOAST
//! indexes under their table's settings. Against a real PostgreSQL cluster.

use std::time::{Duration, Instant};

use common::recorded::{recorded, Table::IndexState};
use common::steps::{batch, deferred_reason, entry};
use common::{json, Fixture};
use index_pilot::report::Status;
use serde_json::json;
use tokio_postgres::Row;

async fn backend_pid(client: &tokio_postgres::Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// A second target in its own database, with one bloated index: it must be done in
/// every invocation, whatever happens to the first.
async fn with_other_target(fx: Fixture) -> Fixture {
    let other_db = format!("{}_other", fx.target_db);
    fx.cluster.create_database(&other_db).await;
    let other = fx.cluster.connect(&other_db).await;
    other
        .batch_execute(
            "CREATE TABLE steady (id int);
             INSERT INTO steady SELECT generate_series(1, 100000);
             CREATE INDEX steady_id ON steady (id);",
        )
        .await
        .unwrap();
    other.batch_execute("VACUUM ANALYZE steady").await.unwrap();
    let targets = json!([
        {"name": "main", "url": fx.cluster.url(&fx.target_db)},
        {"name": "other", "url": fx.cluster.url(&other_db)},
    ]);
    fx.with_targets(targets)
}

/// An index dropped in a transaction that commits while the scan runs: the scan
/// neither waits for its lock nor dies on the NULL size the server then returns.
#[tokio::test]
async fn an_index_dropped_during_the_scan_is_skipped_not_a_panic() {
    let fx = with_other_target(Fixture::new("dropscan").await).await;
    fx.create_table("gone", 50_000).await;
    fx.create_table("stays", 50_000).await;
    fx.set(&[], "index_size_threshold", "0").await;
    let dropper = fx.target().await;
    let dropper_pid = backend_pid(&dropper).await;
    dropper
        .batch_execute("BEGIN; DROP INDEX gone_id;")
        .await
        .unwrap();
    let commit_later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        dropper.batch_execute("COMMIT").await.unwrap();
    });
    let started = Instant::now();
    // A panic here fails the test, as it would kill a Lambda invocation.
    let report = fx.invoke(json!({"mode": "dry_run"})).await;
    let elapsed = started.elapsed();
    commit_later.await.unwrap();
    let reports = [report];
    let main = entry(&reports[0], "main");
    assert_eq!(main.status, Status::Ok, "{main:?}");
    assert!(
        deferred_reason(main, "public.gone_id").contains(&format!("pid {dropper_pid}")),
        "{main:?}"
    );
    // Waiting would take until the commit, 3 s; a loaded machine may be slow.
    assert!(
        elapsed < Duration::from_secs(2),
        "the scan waited for the lock: {elapsed:?}"
    );
    let other = entry(&reports[0], "other");
    assert_eq!(other.status, Status::Ok);
    assert_eq!(other.candidates, 1);
}

/// Tables and indexes dropped and created in a loop by two sessions while dry_run,
/// run and baseline scan: no invocation fails or panics, and the other target is done
/// every time.
#[tokio::test]
async fn ddl_racing_the_scan_never_panics_and_the_other_target_completes() {
    let fx = with_other_target(Fixture::new("ddlrace").await).await;
    // Many small relations make each scan long enough to race with the DDL.
    let mut setup = String::new();
    for i in 0..300 {
        setup.push_str(&format!(
            "CREATE TABLE filler_{i} (id int); CREATE INDEX filler_{i}_id ON filler_{i} (id);"
        ));
    }
    batch(&fx.target().await, &setup).await;
    // The churn's indexes stay below the threshold: nothing to rebuild in main.
    fx.set(&[("target", "main")], "index_size_threshold", "1GB")
        .await;
    fx.set(&[("target", "other")], "index_size_threshold", "0")
        .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut churners = Vec::new();
    for worker in 0..2 {
        let client = fx.target().await;
        let stop = stop.clone();
        churners.push(tokio::spawn(async move {
            let mut rounds = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = format!("churn_{worker}_{}", rounds % 10);
                let sql = format!(
                    "DROP TABLE IF EXISTS {t};
                     CREATE TABLE {t} (id int, v text);
                     INSERT INTO {t} SELECT g, g::text FROM generate_series(1, 100) g;
                     CREATE INDEX {t}_id ON {t} (id);
                     CREATE INDEX {t}_v ON {t} (v);
                     DROP INDEX {t}_v;
                     CREATE INDEX {t}_v2 ON {t} (v);"
                );
                // Deadlocks between the two churners are theirs, not ours.
                let _ = client.batch_execute(&sql).await;
                rounds += 1;
            }
            rounds
        }));
    }
    let mut invocations = 0;
    let (mut vanished, mut deferred) = (0, 0);
    for round in 0..4 {
        for mode in ["dry_run", "run", "baseline"] {
            let report = fx
                .try_invoke(json!({"mode": mode}))
                .await
                .unwrap_or_else(|e| panic!("{mode} (round {round}) failed: {e}"));
            invocations += 1;
            let main = entry(&report, "main");
            assert_eq!(main.status, Status::Ok, "{mode}: {main:?}");
            assert!(main.failed.is_empty(), "{mode}: {:?}", main.failed);
            vanished += main.vanished.len();
            deferred += main.deferred.len();
            let other = entry(&report, "other");
            assert_eq!(other.status, Status::Ok, "{mode}: {other:?}");
            assert!(other.scanned >= 1);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut rounds = 0;
    for churner in churners {
        rounds += churner.await.unwrap();
    }
    println!(
        "{invocations} invocations against {rounds} rounds of DDL: \
         {vanished} indexes vanished during a scan, {deferred} deferred (locked)"
    );
    assert!(rounds >= 10, "the DDL hardly ran: {rounds} rounds");
    assert!(
        vanished + deferred > 0,
        "no scan met the DDL: the race was not run"
    );
}

/// A table locked by VACUUM FULL-like work and an index locked by a plain REINDEX,
/// both in open transactions: the scan does not wait for them or fail; their
/// indexes are deferred naming the session, keep their baselines, and everything
/// else is done.
#[tokio::test]
async fn a_locked_table_or_index_costs_its_indexes_not_the_database() {
    let fx = Fixture::new("locked").await;
    fx.create_table("walled", 100_000).await;
    fx.create_table("reindexing", 100_000).await;
    fx.create_table("free", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    fx.bloat("free").await;
    let table_locker = fx.target().await;
    let table_locker_pid = backend_pid(&table_locker).await;
    table_locker
        .batch_execute("BEGIN; LOCK TABLE walled IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();
    let index_locker = fx.target().await;
    let index_locker_pid = backend_pid(&index_locker).await;
    index_locker
        .batch_execute("BEGIN; REINDEX INDEX reindexing_id;")
        .await
        .unwrap();

    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        fx.invoke_main(json!({"mode": "run"})),
    )
    .await
    .expect("the run ended");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the scan waited for locks: {:?}",
        started.elapsed()
    );
    assert!(
        deferred_reason(&report, "public.walled_id").contains(&format!("pid {table_locker_pid}")),
        "{report:?}"
    );
    assert!(
        deferred_reason(&report, "public.reindexing_id")
            .contains(&format!("pid {index_locker_pid}")),
        "{report:?}"
    );
    let rebuilt: Vec<&str> = report.reindexed.iter().map(|r| r.index.as_str()).collect();
    assert_eq!(rebuilt, ["public.free_id"], "{report:?}");
    // Not measured, not forgotten: their baselines are still there.
    let baselines: i64 = recorded::<Row>(
        &fx.control().await,
        IndexState,
        "count(*)",
        "WHERE index_name IN ('walled_id', 'reindexing_id') AND best_ratio IS NOT NULL",
        &[],
    )
    .await
    .get(0);
    assert_eq!(baselines, 2);

    table_locker.batch_execute("COMMIT").await.unwrap();
    index_locker.batch_execute("COMMIT").await.unwrap();
    let after = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert!(after.deferred.is_empty(), "{:?}", after.deferred);
    let mut measured: Vec<&str> = (after.plan.iter().map(|p| p.index.as_str()))
        .chain(after.left_alone.iter().map(|e| e.index.as_str()))
        .collect();
    measured.sort_unstable();
    assert_eq!(
        measured,
        ["public.reindexing_id", "public.walled_id"],
        "{after:?}"
    );
}

/// A truncated and refilled table has no statistics (reltuples -1, or 0 before 14):
/// its index is not judged, whatever its baseline says, and the report says why.
#[tokio::test]
async fn an_index_without_statistics_is_not_judged() {
    let fx = Fixture::new("nostats").await;
    fx.create_table("refilled", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    batch(
        &fx.target().await,
        "TRUNCATE refilled;
         INSERT INTO refilled SELECT g, md5(g::text) FROM generate_series(1, 100000) g;",
    )
    .await;
    let before = fx.relfilenodes().await;

    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert_eq!(dry.candidates, 0, "{:?}", dry.plan);
    assert!(
        deferred_reason(&dry, "public.refilled_id")
            .contains("no statistics: run ANALYZE on public.refilled"),
        "{dry:?}"
    );
    let run = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(run.reindexed.is_empty(), "{:?}", run.reindexed);
    assert_eq!(fx.relfilenodes().await, before, "nothing was rebuilt");
    // Nor does the DBA's view show the meaningless reading.
    let shown: f64 = fx
        .control()
        .await
        .query_one(
            "SELECT estimated_bloat::float8 FROM index_pilot.current_bloat
             WHERE index = 'public.refilled_id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(shown < 2.0, "current_bloat shows {shown}");

    batch(&fx.target().await, "ANALYZE refilled").await;
    let analyzed = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert!(analyzed.deferred.is_empty(), "{:?}", analyzed.deferred);
    let estimate = &json(&analyzed)["left_alone"][0];
    assert!(
        estimate["estimated_bloat"].as_f64().unwrap() < 2.0,
        "{estimate}"
    );
}

/// TOAST index names of the tables given, by table.
async fn toast_indexes(fx: &Fixture, tables: &[&str]) -> Vec<String> {
    let mut names = Vec::new();
    for table in tables {
        let name: String = fx
            .target()
            .await
            .query_one(
                "SELECT format('pg_toast.%s', i.relname)
                 FROM pg_class t JOIN pg_index x ON x.indrelid = t.reltoastrelid
                 JOIN pg_class i ON i.oid = x.indexrelid
                 WHERE t.oid = $1::text::regclass",
                &[table],
            )
            .await
            .unwrap()
            .get(0);
        names.push(name);
    }
    names
}

/// A TOAST index is judged with its owning table's settings and built-in skips: a
/// `skip` on schema archive keeps archive.docs' TOAST index untouched, in `run` and
/// in a forced `reindex`; the report shows the owning table.
#[tokio::test]
async fn a_toast_index_follows_its_tables_settings() {
    let fx = Fixture::new("toast").await;
    for table in ["archive.docs", "public.notes"] {
        batch(
            &fx.target().await,
            &format!(
                "CREATE SCHEMA IF NOT EXISTS archive;
                 CREATE TABLE {table} (id int, body text);
                 ALTER TABLE {table} ALTER body SET STORAGE EXTERNAL;
                 INSERT INTO {table}
                 SELECT g, (SELECT string_agg(md5(g::text || r::text), '') FROM generate_series(1, 70) r)
                 FROM generate_series(1, 20000) g;"
            ),
        )
        .await;
    }
    fx.vacuum("archive.docs, public.notes").await;
    fx.set(&[], "index_size_threshold", "100kB").await;
    fx.set(&[("schema_name", "archive")], "skip", "true").await;
    fx.invoke_main(json!({"mode": "baseline"})).await;
    batch(
        &fx.target().await,
        "DELETE FROM archive.docs WHERE id % 5 < 3; DELETE FROM public.notes WHERE id % 5 < 3;",
    )
    .await;
    fx.vacuum("archive.docs, public.notes").await;
    let toast = toast_indexes(&fx, &["archive.docs", "public.notes"]).await;
    let (archived, noted) = (&toast[0], &toast[1]);
    let before = fx.relfilenodes().await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    let rebuilt: Vec<&str> = report.reindexed.iter().map(|r| r.index.as_str()).collect();
    assert_eq!(rebuilt, [noted.as_str()], "{report:?}");
    assert_eq!(json(&report.reindexed[0])["toast_of"], "public.notes");
    let key = |name: &str| {
        let (_, relname) = name.split_once('.').unwrap();
        format!("pg_toast.{relname}")
    };
    assert_eq!(
        fx.relfilenodes().await.get(&key(archived)),
        before.get(&key(archived)),
        "the TOAST index of a skipped schema was rebuilt"
    );
    let forced = fx
        .invoke_main(
            json!({"mode": "reindex", "targets": ["main"], "index": archived, "force": true}),
        )
        .await;
    assert!(forced.reindexed.is_empty());
    assert!(
        deferred_reason(&forced, archived).contains("skip is set (setting #"),
        "{forced:?}"
    );
}
