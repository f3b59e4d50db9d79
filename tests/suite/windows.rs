//! Maintenance windows: the control store's table and its checks, and what a run and
//! a dry run do inside and outside a window.

use std::time::Duration;

use common::steps::deferred_reason;
use common::Fixture;
use index_pilot::control::ControlStore;
use index_pilot::domain::window::{MaintenanceWindows, WindowRow, WindowState};
use index_pilot::report::Status;
use serde_json::json;

#[tokio::test]
async fn windows_are_stored_and_read_back() {
    let fx = Fixture::new("windows_store").await;
    let store = ControlStore::open(&fx.control_config(), &fx.app.config.control.tls)
        .await
        .expect("control schema");
    let control = fx.control().await;
    control
        .batch_execute(
            "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at, comment)
                 VALUES ('main', '22:00', '24:00', 'nightly');
             INSERT INTO index_pilot.maintenance_windows
                 (target, database, days, starts_at, ends_at, time_zone)
                 VALUES ('ord*', 'app', 'Fri-Mon', '23:30:15', '02:00', 'Europe/Berlin');",
        )
        .await
        .expect("insert windows");

    let rows = store
        .load_maintenance_windows()
        .await
        .expect("load windows");
    assert_eq!(
        rows,
        [
            WindowRow {
                id: 1,
                target: "main".into(),
                database: None,
                days: "mon-sun".into(),
                starts_at: 22 * 3600,
                ends_at: 24 * 3600,
                time_zone: "UTC".into(),
                comment: Some("nightly".into()),
            },
            WindowRow {
                id: 2,
                target: "ord*".into(),
                database: Some("app".into()),
                days: "Fri-Mon".into(),
                starts_at: 23 * 3600 + 30 * 60 + 15,
                ends_at: 2 * 3600,
                time_zone: "Europe/Berlin".into(),
                comment: None,
            },
        ]
    );
    let windows = MaintenanceWindows::from_rows(&rows).expect("valid windows");
    let now = "2026-11-23T23:00:00Z".parse().expect("instant");
    assert!(matches!(
        windows.state("main", "main_target", now),
        WindowState::Open { .. }
    ));

    for (bad, why) in [
        ("('', '01:00', '02:00')", "an empty target"),
        ("('main', '24:00', '02:00')", "a start at 24:00"),
    ] {
        let refused = control
            .execute(
                &format!(
                    "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at) VALUES {bad}"
                ),
                &[],
            )
            .await;
        let sqlstate = refused.err().and_then(|e| e.code().cloned());
        assert_eq!(
            sqlstate,
            Some(tokio_postgres::error::SqlState::CHECK_VIOLATION),
            "{why}"
        );
    }
}

/// Two small indexes and one whose rebuild this target's history predicts to take
/// about a minute (its past rebuilds ran at 1 MiB/s).
async fn small_and_large(name: &str) -> Fixture {
    let fx = Fixture::new(name).await;
    for (table, rows) in [
        ("small_a", 20_000),
        ("small_b", 20_000),
        ("large", 1_000_000),
    ] {
        fx.create_table(table, rows).await;
        fx.bloat(table).await;
    }
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    fx.control()
        .await
        .batch_execute(
            "INSERT INTO index_pilot.reindex_history
                 (run_id, target, database_name, database_oid, schema_name, table_name,
                  index_name, access_method, index_oid_before, status, reason, size_before,
                  reltuples_before, duration_ms)
             VALUES (gen_random_uuid(), 'main', 'earlier', 1, 'public', 'gone', 'gone_idx',
                     'btree', 1, 'completed', 'bloated', 10485760, 1, 10000)",
        )
        .await
        .expect("history");
    fx
}

/// A window of `main` that opened a minute ago and closes `closes_in` from now (UTC).
async fn window_closing_in(fx: &Fixture, closes_in: Duration) {
    fx.control()
        .await
        .execute(
            "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
             VALUES ('main', (now() AT TIME ZONE 'UTC' - interval '1 minute')::time,
                             (now() AT TIME ZONE 'UTC' + $1::float8 * interval '1 second')::time)",
            &[&closes_in.as_secs_f64()],
        )
        .await
        .expect("window");
}

#[tokio::test]
async fn inside_a_window_only_what_ends_before_it_closes_starts() {
    let fx = small_and_large("window_closing").await;
    window_closing_in(&fx, Duration::from_secs(10)).await;

    let dry = fx.invoke_main(json!({"mode": "dry_run"})).await;
    assert!(
        dry.window
            .as_deref()
            .is_some_and(|w| w.starts_with("inside a maintenance window until")),
        "{:?}",
        dry.window
    );
    assert_eq!(dry.plan.len(), 3, "{:?}", dry.plan);
    assert!(deferred_reason(&dry, "public.large_id")
        .contains("would end after the maintenance window closes"));
    assert_eq!(dry.deferred.len(), 1, "{:?}", dry.deferred);

    let run = fx.invoke_main(json!({"mode": "run"})).await;
    let mut rebuilt: Vec<&str> = run.reindexed.iter().map(|r| r.index.as_str()).collect();
    rebuilt.sort();
    assert_eq!(
        rebuilt,
        ["public.small_a_id", "public.small_b_id"],
        "{run:?}"
    );
    let reason = deferred_reason(&run, "public.large_id");
    assert!(
        reason.contains("would end after the maintenance window closes"),
        "{reason}"
    );
    assert!(run.in_progress.is_empty());
}

#[tokio::test]
async fn outside_its_windows_nothing_starts_and_the_report_says_until_when() {
    let fx = small_and_large("window_closed").await;
    // Another target's window, and one of main's that opens in an hour.
    fx.control()
        .await
        .batch_execute(
            "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
             VALUES ('elsewhere', '00:00', '24:00'),
                    ('main', (now() AT TIME ZONE 'UTC' + interval '1 hour')::time,
                             (now() AT TIME ZONE 'UTC' + interval '2 hours')::time);",
        )
        .await
        .expect("windows");
    let report = fx.invoke(json!({"mode": "run"})).await;
    let main = &report.targets[0];
    assert_eq!(main.status, Status::Ok, "{main:?}");
    assert!(
        main.reindexed.is_empty() && main.in_progress.is_empty(),
        "{main:?}"
    );
    let until = main.window.as_deref().unwrap_or_default();
    assert!(
        until.starts_with("outside its maintenance windows until "),
        "{until}"
    );
    assert_eq!(main.deferred.len(), 3);
    assert!(main
        .deferred
        .iter()
        .all(|d| d.reason == format!("not started: {until}")));
    assert!(report.continued_with.is_empty());
    // A window nobody can read stops every rebuild where it applies rather than
    // start one at the wrong time, and the report names it.
    fx.control()
        .await
        .batch_execute("UPDATE index_pilot.maintenance_windows SET time_zone = 'Mars/Olympus'")
        .await
        .expect("a bad zone");
    let report = fx.invoke(json!({"mode": "run"})).await;
    let main = &report.targets[0];
    assert_eq!(main.status, Status::Error);
    let reason = main.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("Mars/Olympus"), "{reason}");
    assert!(main.reindexed.is_empty());
}
