//! Bad rows named with what is wrong and kept to the databases they name; the
//! window's description.

use super::*;

#[test]
fn bad_rows_are_named_with_what_is_wrong() {
    let zone = MaintenanceWindows::from_rows(&[row(7, "mon", "01:00", "02:00", "Europe/Berlinn")])
        .unwrap_err();
    assert_eq!(
        zone,
        WindowError::UnknownTimeZone {
            id: 7,
            zone: "Europe/Berlinn".to_owned()
        }
    );
    assert!(zone
        .to_string()
        .starts_with("maintenance window #7: unknown time zone"));
    let days =
        MaintenanceWindows::from_rows(&[row(8, "mon-fry", "01:00", "02:00", "UTC")]).unwrap_err();
    assert_eq!(
        days.to_string(),
        "maintenance window #8: bad days \"mon-fry\": unknown day \"fry\" (mon … sun, or monday … sunday)"
    );
    let mut late = row(9, "mon", "01:00", "02:00", "UTC");
    late.starts_at = SECONDS_PER_DAY;
    let late = MaintenanceWindows::from_rows(&[late]).unwrap_err();
    assert!(late
        .to_string()
        .starts_with("maintenance window #9: starts_at"));
}

#[test]
fn descriptions_are_short_and_exact() {
    let berlin = [row(1, "mon", "02:00", "06:00", "Europe/Berlin")];
    assert_eq!(
        state(&berlin, "2026-11-22T12:00:00Z").describe(),
        "outside its maintenance windows until 2026-11-23 01:00 UTC (02:00 Europe/Berlin)"
    );
    assert_eq!(
        state(&berlin, "2026-11-23T02:00:00Z").describe(),
        "inside a maintenance window until 2026-11-23 05:00 UTC (06:00 Europe/Berlin)"
    );
    let utc = [row(2, "mon", "01:00", "05:00", "UTC")];
    assert_eq!(
        state(&utc, "2026-11-23T02:00:00Z").describe(),
        "inside a maintenance window until 2026-11-23 05:00 UTC"
    );
    let mut tokyo = row(3, "tue", "08:30", "09:00", "Asia/Tokyo");
    tokyo.starts_at += 15;
    assert_eq!(
        state(&[tokyo], "2026-11-23T12:00:00Z").describe(),
        "outside its maintenance windows until 2026-11-23 23:30:15 UTC (2026-11-24 08:30:15 Asia/Tokyo)"
    );
    assert_eq!(
        WindowState::Always.describe(),
        "no maintenance window applies"
    );
    assert_eq!(
        WindowState::Closed { opens_at: None }.describe(),
        "outside its maintenance windows, none opening within 8 days"
    );
}

#[test]
fn a_bad_row_holds_back_only_the_databases_it_names() {
    let mut bad = row(2, "mon-fri", "01:00", "02:00", "Mars/Olympus");
    bad.target = "ord*".into();
    bad.database = Some("sales".into());
    let windows = MaintenanceWindows::tolerant(&[row(1, "mon-sun", "01:00", "02:00", "UTC"), bad]);
    let error = windows.invalid_for("orders", "sales").expect("applies");
    assert!(error.to_string().contains("#2"), "{error}");
    assert!(windows.invalid_for("orders", "reports").is_none());
    assert!(windows.invalid_for("billing", "sales").is_none());
    // The good row still works.
    assert!(windows.windows.len() == 1);
    assert!(MaintenanceWindows::from_rows(&[row(3, "mon", "01:00", "02:00", "Mars")]).is_err());
}
