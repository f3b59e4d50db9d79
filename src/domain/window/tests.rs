use super::*;
use proptest::prelude::*;

fn seconds(hh_mm: &str) -> i32 {
    let (h, m) = hh_mm.split_once(':').unwrap();
    h.parse::<i32>().unwrap() * 3600 + m.parse::<i32>().unwrap() * 60
}

fn row(id: i64, days: &str, starts: &str, ends: &str, zone: &str) -> WindowRow {
    WindowRow {
        id,
        target: "orders".to_owned(),
        database: None,
        days: days.to_owned(),
        starts_at: seconds(starts),
        ends_at: seconds(ends),
        time_zone: zone.to_owned(),
        comment: None,
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn windows(rows: &[WindowRow]) -> MaintenanceWindows {
    MaintenanceWindows::from_rows(rows).unwrap()
}

fn state(rows: &[WindowRow], now: &str) -> WindowState {
    windows(rows).state("orders", "app", at(now))
}

fn open_until(rows: &[WindowRow], now: &str) -> Timestamp {
    match state(rows, now) {
        WindowState::Open { closes_at } => closes_at.timestamp(),
        other => panic!("at {now}: expected open, got {other:?}"),
    }
}

fn closed_until(rows: &[WindowRow], now: &str) -> Timestamp {
    match state(rows, now) {
        WindowState::Closed {
            opens_at: Some(opens_at),
        } => opens_at.timestamp(),
        other => panic!("at {now}: expected closed, got {other:?}"),
    }
}

// 2026-11-23 is a Monday.
#[test]
fn open_closed_and_the_next_opening() {
    let rows = [row(1, "mon-fri", "01:00", "05:00", "UTC")];
    assert_eq!(
        open_until(&rows, "2026-11-23T02:00:00Z"),
        at("2026-11-23T05:00:00Z")
    );
    assert_eq!(
        open_until(&rows, "2026-11-23T01:00:00Z"),
        at("2026-11-23T05:00:00Z")
    );
    assert_eq!(
        closed_until(&rows, "2026-11-23T05:00:00Z"),
        at("2026-11-24T01:00:00Z")
    );
    // Friday after the window: Monday next.
    assert_eq!(
        closed_until(&rows, "2026-11-27T06:00:00Z"),
        at("2026-11-30T01:00:00Z")
    );
}

#[test]
fn no_window_that_applies_means_no_restriction() {
    let now = at("2026-11-23T12:00:00Z");
    assert_eq!(
        windows(&[]).state("orders", "app", now),
        WindowState::Always
    );
    let mut other_target = row(1, "mon", "01:00", "02:00", "UTC");
    other_target.target = "billing".to_owned();
    let mut other_database = row(2, "mon", "01:00", "02:00", "UTC");
    other_database.database = Some("reports".to_owned());
    let set = windows(&[other_target, other_database]);
    assert_eq!(set.state("orders", "app", now), WindowState::Always);
    assert!(matches!(
        set.state("orders", "reports", now),
        WindowState::Closed { .. }
    ));
    assert!(matches!(
        set.state("billing", "app", now),
        WindowState::Closed { .. }
    ));
}

#[test]
fn target_patterns_match_like_settings() {
    let mut wildcard = row(1, "mon-sun", "00:00", "00:00", "UTC");
    wildcard.target = "ord?r*".to_owned();
    let set = windows(&[wildcard]);
    let now = at("2026-11-23T12:00:00Z");
    assert!(matches!(
        set.state("orders_eu", "app", now),
        WindowState::Open { .. }
    ));
    assert_eq!(set.state("billing", "app", now), WindowState::Always);
}

#[test]
fn windows_cross_midnight() {
    // Friday 22:00 to Saturday 02:00 in Berlin (UTC+1 in November).
    let rows = [row(1, "fri", "22:00", "02:00", "Europe/Berlin")];
    assert_eq!(
        open_until(&rows, "2026-11-27T23:30:00Z"),
        at("2026-11-28T01:00:00Z")
    );
    assert_eq!(
        closed_until(&rows, "2026-11-27T20:00:00Z"),
        at("2026-11-27T21:00:00Z")
    );
    assert_eq!(
        closed_until(&rows, "2026-11-28T01:00:00Z"),
        at("2026-12-04T21:00:00Z")
    );
    // Equal times: 24 hours from the start; 24:00 is the end of the day.
    let whole_day = [row(2, "tue", "06:00", "06:00", "UTC")];
    assert_eq!(
        open_until(&whole_day, "2026-11-25T05:59:00Z"),
        at("2026-11-25T06:00:00Z")
    );
    let until_midnight = [row(3, "mon", "22:00", "24:00", "UTC")];
    assert_eq!(
        open_until(&until_midnight, "2026-11-23T23:00:00Z"),
        at("2026-11-24T00:00:00Z")
    );
}

#[test]
fn day_ranges_wrap_over_the_week_end() {
    let rows = [row(1, "fri-mon", "03:00", "04:00", "UTC")];
    assert_eq!(
        open_until(&rows, "2026-11-23T03:30:00Z"),
        at("2026-11-23T04:00:00Z")
    );
    // Tuesday: Friday next.
    assert_eq!(
        closed_until(&rows, "2026-11-24T03:30:00Z"),
        at("2026-11-27T03:00:00Z")
    );
    // Saturday: Sunday next.
    assert_eq!(
        closed_until(&rows, "2026-11-28T05:00:00Z"),
        at("2026-11-29T03:00:00Z")
    );
}

#[test]
fn windows_add_up() {
    let overlapping = [
        row(1, "mon", "01:00", "03:00", "UTC"),
        row(2, "mon", "02:30", "05:00", "UTC"),
    ];
    assert_eq!(
        open_until(&overlapping, "2026-11-23T01:30:00Z"),
        at("2026-11-23T05:00:00Z")
    );
    let touching = [
        row(1, "mon", "01:00", "03:00", "UTC"),
        row(2, "mon", "03:00", "04:00", "UTC"),
    ];
    assert_eq!(
        open_until(&touching, "2026-11-23T01:30:00Z"),
        at("2026-11-23T04:00:00Z")
    );
    let apart = [
        row(1, "mon", "01:00", "03:00", "UTC"),
        row(2, "mon", "04:00", "05:00", "UTC"),
    ];
    assert_eq!(
        closed_until(&apart, "2026-11-23T03:30:00Z"),
        at("2026-11-23T04:00:00Z")
    );
    // One for the whole target and one for its database apply together, and the
    // run ends in the time zone of the window that ends it.
    let mut for_app = row(2, "mon", "04:00", "06:00", "Europe/Berlin");
    for_app.database = Some("app".to_owned());
    let mixed = [row(1, "mon", "01:00", "03:00", "UTC"), for_app];
    match state(&mixed, "2026-11-23T02:00:00Z") {
        WindowState::Open { closes_at } => {
            assert_eq!(closes_at.timestamp(), at("2026-11-23T05:00:00Z"));
            assert_eq!(closes_at.time_zone().iana_name(), Some("Europe/Berlin"));
        }
        other => panic!("expected open, got {other:?}"),
    }
}

#[test]
fn every_day_all_day_is_followed_eight_days_ahead() {
    let rows = [row(1, "mon-sun", "00:00", "00:00", "UTC")];
    assert_eq!(
        open_until(&rows, "2026-11-23T12:00:00.5Z"),
        at("2026-12-01T12:00:00Z")
    );
}

// Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back
// to 02:00 CET.
#[test]
fn a_time_in_the_spring_gap_is_read_on_the_offset_before_it() {
    let rows = [row(1, "sun", "02:30", "04:00", "Europe/Berlin")];
    // 02:30 does not exist: 03:30 CEST, 01:30 UTC; 04:00 CEST is 02:00 UTC.
    assert_eq!(
        closed_until(&rows, "2026-03-29T00:00:00Z"),
        at("2026-03-29T01:30:00Z")
    );
    assert_eq!(
        open_until(&rows, "2026-03-29T01:45:00Z"),
        at("2026-03-29T02:00:00Z")
    );
    // 02:30–03:00 becomes 03:30–03:00: it does not open that day.
    let squeezed = [row(2, "sun", "02:30", "03:00", "Europe/Berlin")];
    assert_eq!(
        closed_until(&squeezed, "2026-03-29T00:00:00Z"),
        at("2026-04-05T00:30:00Z")
    );
}

#[test]
fn a_time_that_occurs_twice_is_its_first_occurrence() {
    // 02:30 on 2026-10-25 is 00:30 UTC (CEST) and again 01:30 UTC (CET).
    let rows = [row(1, "sun", "02:30", "05:00", "Europe/Berlin")];
    assert_eq!(
        closed_until(&rows, "2026-10-25T00:00:00Z"),
        at("2026-10-25T00:30:00Z")
    );
    assert_eq!(
        open_until(&rows, "2026-10-25T00:30:00Z"),
        at("2026-10-25T04:00:00Z")
    );
    // New York, 2026-11-01: 01:30 EDT is 05:30 UTC, 02:30 EST is 07:30 UTC.
    let new_york = [row(2, "sun", "01:30", "02:30", "America/New_York")];
    assert_eq!(
        open_until(&new_york, "2026-11-01T06:45:00Z"),
        at("2026-11-01T07:30:00Z")
    );
}

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
fn a_rebuild_starts_only_if_it_ends_before_the_window_closes() {
    let rows = [row(1, "mon", "01:00", "05:00", "UTC")];
    let now = at("2026-11-23T04:00:00Z");
    let open = windows(&rows).state("orders", "app", now);
    assert!(open.allows(now, Duration::from_secs(59 * 60)));
    assert!(open.allows(now, Duration::from_secs(60 * 60)));
    assert!(!open.allows(now, Duration::from_secs(61 * 60)));
    assert!(WindowState::Always.allows(now, Duration::from_secs(86_400)));
    let closed = windows(&rows).state("orders", "app", at("2026-11-23T06:00:00Z"));
    assert!(!closed.allows(now, Duration::ZERO));
}

#[test]
fn a_start_may_wait_only_as_long_as_the_window_leaves_it_time() {
    let rows = [row(1, "mon", "01:00", "05:00", "UTC")];
    let now = at("2026-11-23T04:00:00Z");
    let open = windows(&rows).state("orders", "app", now);
    let minutes = |n: u64| Duration::from_secs(n * 60);
    assert_eq!(open.slack(now, minutes(45)), Some(minutes(15)));
    assert_eq!(open.slack(now, minutes(90)), Some(Duration::ZERO));
    assert_eq!(WindowState::Always.slack(now, minutes(90)), None);
    let closed = windows(&rows).state("orders", "app", at("2026-11-23T06:00:00Z"));
    assert_eq!(closed.slack(now, Duration::ZERO), Some(Duration::ZERO));
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

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    // Half an hour of daylight saving time, and a 12:45 offset.
    "Australia/Lord_Howe",
    "Pacific/Chatham",
];

fn arbitrary_row() -> impl Strategy<Value = WindowRow> {
    (
        1u8..128,
        0..SECONDS_PER_DAY,
        0..=SECONDS_PER_DAY,
        0..ZONES.len(),
    )
        .prop_map(|(bits, starts_at, ends_at, zone)| {
            const SHORT: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            let days: Vec<&str> = (0..7)
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| SHORT[i])
                .collect();
            WindowRow {
                id: 1,
                target: "orders".to_owned(),
                database: None,
                days: days.join(","),
                starts_at,
                ends_at,
                time_zone: ZONES[zone].to_owned(),
                comment: None,
            }
        })
}

proptest! {
    #[test]
    fn the_answer_is_consistent(
        rows in proptest::collection::vec(arbitrary_row(), 1..4),
        // 2020-01-01 to 2031-01-01, to the millisecond.
        now_ms in 1_577_836_800_000i64..1_924_992_000_000,
    ) {
        let set = windows(&rows);
        let now = Timestamp::from_millisecond(now_ms).unwrap();
        let second = SignedDuration::from_secs(1);
        match set.state("orders", "app", now) {
            WindowState::Always => prop_assert!(false, "windows apply"),
            WindowState::Open { closes_at } => {
                let closes_at = closes_at.timestamp();
                prop_assert!(now < closes_at);
                let before = (closes_at - second).max(now);
                let later = set.state("orders", "app", before);
                prop_assert!(matches!(later, WindowState::Open { .. }), "{later:?} at {before}");
            }
            WindowState::Closed { opens_at } => {
                // Every weekday set opens within a week, unless a clock change
                // swallows that one opening.
                let Some(opens_at) = opens_at else { return Ok(()) };
                let opens_at = opens_at.timestamp();
                prop_assert!(opens_at > now);
                let then = set.state("orders", "app", opens_at);
                prop_assert!(matches!(then, WindowState::Open { .. }), "{then:?} at {opens_at}");
                let before = opens_at - second;
                if before > now {
                    let still = set.state("orders", "app", before);
                    prop_assert_eq!(still, WindowState::Closed { opens_at: Some(opens_at.to_zoned(TimeZone::UTC)) });
                }
            }
        }
    }
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
