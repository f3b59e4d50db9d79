//! Local times the clock skips or repeats (Berlin's changes of 2026).

use super::*;

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
