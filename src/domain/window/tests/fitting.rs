//! A rebuild starts only if it can end inside the window.

use super::*;

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
