//! Maintenance windows through the control store: the migration's table, its checks,
//! and the rows as the domain reads them.

mod common;

use common::Fixture;
use index_pilot::control::ControlStore;
use index_pilot::domain::window::{MaintenanceWindows, WindowRow, WindowState};

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
