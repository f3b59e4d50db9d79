//! The reindex engine end to end against a real PostgreSQL cluster: real bloat, real
//! REINDEX INDEX CONCURRENTLY, the control DB as a DBA would read it.

use common::recorded::{
    recorded,
    Table::{History, IndexState},
};
use common::steps::{entry, names, rebuilt};
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

#[tokio::test]
async fn settings_precedence_wildcards_and_force_against_skip() {
    let fx = Fixture::new("settings").await;
    for table in ["orders_2024", "orders_2025", "audit_log", "keep_me"] {
        fx.create_table(table, 60_000).await;
    }
    fx.set(&[], "index_size_threshold", "1MB").await;
    // Wildcard at table level: the orders partitions only need a small threshold...
    fx.set(
        &[("table_name", "orders_*")],
        "index_size_threshold",
        "100MB",
    )
    .await;
    // ...but one index, more specific, is back at 1MB.
    fx.set(
        &[("index_name", "orders_2025_id")],
        "index_size_threshold",
        "1MB",
    )
    .await;
    // Skip by schema + table pattern with ?.
    fx.set(
        &[("schema_name", "public"), ("table_name", "keep_m?")],
        "skip",
        "true",
    )
    .await;

    // No baselines: every index at or above its threshold is a candidate.
    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    let mut planned: Vec<_> = dry.plan.iter().map(|p| p.index.clone()).collect();
    planned.sort();
    assert_eq!(planned, ["public.audit_log_id", "public.orders_2025_id"]);

    let forced = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.keep_me_id", "force": true}))
        .await;
    assert!(forced.reindexed.is_empty());
    assert!(
        forced.deferred[0].reason.contains("skip is set (setting #"),
        "{:?}",
        forced.deferred
    );

    let below = fx
        .invoke_main(
            json!({"mode": "reindex", "targets": ["main"], "index": "public.orders_2024_id"}),
        )
        .await;
    assert!(below.reindexed.is_empty());
    assert!(
        below.deferred[0].reason.contains("index_size_threshold"),
        "{:?}",
        below.deferred
    );
    let forced = fx
        .invoke_main(json!({"mode": "reindex", "targets": ["main"], "index": "public.orders_2024_id", "force": true}))
        .await;
    assert_eq!(rebuilt(&forced), ["public.orders_2024_id"]);
}

#[tokio::test]
async fn a_target_that_is_down_or_refuses_the_login_does_not_stop_the_others() {
    let fx = Fixture::new("fleet").await;
    fx.create_table("bloated", 50_000).await;
    fx.set(&[], "index_size_threshold", "0").await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let targets = json!([
        {"name": "down", "url": format!("postgresql://postgres@127.0.0.1:{closed_port}/x")},
        {"name": "refusing", "url": fx.cluster.url_as("no_such_role", &fx.target_db)},
        {"name": "main", "url": fx.cluster.url(&fx.target_db)},
        {"name": "broken", "url": "postgresql://app:secret@127.0.0.1/x"},
    ]);
    let fx = fx.with_targets(targets);
    let report = fx.invoke(json!({"mode": "run"})).await;
    let by_name = |name: &str| entry(&report, name);
    let down = by_name("down");
    assert_eq!(down.status, Status::Error);
    let class = |name: &str| by_name(name).error_class.map(|c| c.as_str());
    assert_eq!(class("down"), Some("connect"));
    assert_eq!(class("refusing"), Some("login"));
    assert_eq!(class("broken"), Some("configuration"));
    assert_eq!(class("main"), None);
    assert!(
        down.reason.as_ref().unwrap().contains("Connection refused"),
        "{:?}",
        down.reason
    );
    let refusing = by_name("refusing");
    assert_eq!(refusing.status, Status::Error);
    assert!(
        refusing
            .reason
            .as_ref()
            .unwrap()
            .contains("role \"no_such_role\" does not exist"),
        "{:?}",
        refusing.reason
    );
    let broken = by_name("broken");
    assert!(broken
        .reason
        .as_ref()
        .unwrap()
        .contains("carries a password"));
    assert!(!serde_json::to_string(&report).unwrap().contains("secret"));
    let main = by_name("main");
    assert_eq!(main.status, Status::Ok);
    assert_eq!(rebuilt(main), ["public.bloated_id"]);
}

#[tokio::test]
async fn malformed_events_get_a_clear_error() {
    let fx = Fixture::new("malformed").await;
    let error = fx.try_invoke(json!({"mode": "explode"})).await.unwrap_err();
    assert!(error.to_string().starts_with("invalid event:"), "{error}");
    assert!(
        error
            .to_string()
            .contains("unknown mode \"explode\": the modes are \"run\", \"dry_run\""),
        "{error}"
    );
    let error = fx
        .try_invoke(json!({"targets": ["nope"]}))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("target \"nope\", which is not configured"),
        "{error}"
    );
    let error = fx.try_invoke(json!([])).await.unwrap_err();
    assert!(
        error.to_string().contains("must be a JSON object"),
        "{error}"
    );
}

#[tokio::test]
async fn the_binary_reports_bad_input_without_panicking() {
    let fx = Fixture::new("binary").await;
    let dir = tempfile::tempdir().unwrap();
    let run = |event: &str, targets: &str| {
        let path = dir.path().join("event.json");
        std::fs::write(&path, event).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_index-pilot"))
            .args(["invoke", "--event"])
            .arg(&path)
            .env("INDEX_PILOT_CONTROL_URL", fx.cluster.url(&fx.control_db))
            .env("INDEX_PILOT_TARGETS", targets)
            .env_remove("INDEX_PILOT_CONTROL_SECRET")
            .output()
            .unwrap()
    };
    let good_targets = json!([{"name": "main", "url": fx.cluster.url(&fx.target_db)}]).to_string();
    let cases = [
        ("{not json", good_targets.as_str(), "is not valid JSON"),
        ("{\"mode\": 3}", good_targets.as_str(), "invalid event"),
        (
            "{}",
            "{\"name\": \"x\"}",
            "INDEX_PILOT_TARGETS must be a JSON list",
        ),
        (
            "{}",
            "[{\"name\": ",
            "INDEX_PILOT_TARGETS is not valid JSON",
        ),
    ];
    for (event, targets, expected) in cases {
        let output = run(event, targets);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{event}: {stderr}");
        assert!(stderr.contains(expected), "{event}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = run("{\"mode\": \"dry_run\"}", &good_targets);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["mode"], "dry_run");
    assert_eq!(report["targets"][0]["status"], "ok");
}

/// A REINDEX that fails after its build (here: a lock timeout while it waits for an
/// old transaction) leaves `<index>_ccnew`: index-pilot drops it at once when it can,
/// records it when it cannot, and drops it on a later run. After one blocked rebuild
/// nothing else starts on the target in that invocation. Others' leftovers are
/// reported and left alone.
#[tokio::test]
async fn leftovers_of_a_failed_rebuild_are_cleaned_up() {
    let fx = Fixture::new("leftovers").await;
    fx.create_table("busy", 100_000).await;
    fx.create_table("quiet", 100_000).await;
    fx.target()
        .await
        .batch_execute(
            "CREATE TABLE other (v int); INSERT INTO other SELECT 1 FROM generate_series(1, 10)",
        )
        .await
        .unwrap();
    // Somebody else's interrupted build: an invalid index whose name looks like ours.
    assert!(fx
        .target()
        .await
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY other_v_ccnew ON other (v)")
        .await
        .is_err());
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "lock_timeout", "1s").await;

    // An open transaction that has read `busy`, young enough not to defer anything:
    // REINDEX CONCURRENTLY of busy_id waits for its snapshot and times out after the
    // build; so does the drop of its leftover, which waits for the lock the
    // transaction holds on `busy`.
    let holder = fx.target().await;
    holder
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM busy;")
        .await
        .unwrap();
    let holder_pid: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let first = fx.invoke_main(json!({"mode": "run"})).await;
    assert!(first.reindexed.is_empty(), "{:?}", first.reindexed);
    assert_eq!(first.failed.len(), 1, "{:?}", first.failed);
    let busy = &first.failed[0];
    assert_eq!(busy.index, "public.busy_id");
    assert!(busy.error.contains("lock timeout"), "{busy:?}");
    assert_eq!(busy.sqlstate.as_deref(), Some("55P03"));
    assert_eq!(
        busy.class,
        index_pilot::domain::failure::FailureClass::Blocked
    );
    assert_eq!(busy.blocked_by[0].session.pid, Some(holder_pid), "{busy:?}");
    assert!(
        busy.error.contains("leftover public.busy_id_ccnew kept"),
        "{busy:?}"
    );
    // The first blocked rebuild stops the others for this invocation.
    let quiet = first
        .deferred
        .iter()
        .find(|d| d.index == "public.quiet_id")
        .unwrap();
    assert!(quiet.reason.contains("was blocked"), "{quiet:?}");
    let others = first
        .leftovers
        .iter()
        .find(|l| l.index == "public.other_v_ccnew")
        .unwrap();
    assert_eq!(others.action, "not ours: reported only");
    assert!(!others.ours);

    assert_eq!(
        names(&fx.invalid_indexes().await),
        ["busy_id_ccnew", "other_v_ccnew"]
    );
    let statuses: Vec<String> =
        recorded::<Vec<Row>>(&fx.control().await, History, "status", "", &[])
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(statuses, ["failed"]);

    holder.batch_execute("COMMIT").await.unwrap();
    let second = fx.invoke_main(json!({"mode": "run"})).await;
    let ours = second
        .leftovers
        .iter()
        .find(|l| l.index == "public.busy_id_ccnew")
        .unwrap();
    assert_eq!(ours.action, "ours: dropped");
    assert!(ours.ours);
    assert_eq!(rebuilt(&second), ["public.busy_id", "public.quiet_id"]);
    assert_eq!(names(&fx.invalid_indexes().await), ["other_v_ccnew"]);
}

/// A failed statement has ended in the server when `execute_to_the_end` returns (the
/// rebuild connection runs REINDEX and DROP INDEX through it): the engine's next check
/// on its other connection, whether a build is in progress on the table, must not see
/// the failed rebuild still at work. The server reports an error before it rolls back;
/// this statement fails after creating many tables, so its rollback takes a while.
#[tokio::test]
async fn a_failed_statement_has_ended_in_the_server_when_it_returns() {
    let fx = Fixture::new("rollback").await;
    let worker = fx.target().await;
    let observer = fx.target().await;
    let pid: i32 = worker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let slow_rollback = "DO $$ BEGIN
            FOR i IN 1..2000 LOOP EXECUTE format('CREATE TABLE slow_rollback_%s (a int)', i); END LOOP;
            RAISE EXCEPTION 'fails after its work';
        END $$";
    for attempt in 1..=3 {
        let error = index_pilot::pg::execute_to_the_end(&worker, slow_rollback)
            .await
            .expect_err("the statement fails");
        // A raise's own words are left out (they may quote row values): its code says.
        assert_eq!(error.sqlstate(), Some("P0001"), "{error}");
        let locks: i64 = observer
            .query_one("SELECT count(*) FROM pg_locks WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            locks, 0,
            "attempt {attempt}: the failed statement still holds locks"
        );
    }
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
