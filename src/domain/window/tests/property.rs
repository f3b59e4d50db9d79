//! Properties over arbitrary windows, in zones with daylight saving and odd offsets.

use super::*;
use proptest::prelude::*;

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
