//! When a window is open, when the next one opens, and how windows combine: across
//! midnight, over the week's end, added up.

use super::*;

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
