//! When an index is expected to cross its rebuild threshold. Each index keeps one
//! point of its history, its anchor: its size per tuple when its baseline was last
//! set (a rebuild, a first sight, an estimate). The growth since then, per day, is
//! its trend; it needs no time series and takes two columns per index. The view
//! `index_pilot.forecast` makes the same projection from the stored state.

use jiff::{SignedDuration, Timestamp};

/// A trend needs at least this much history: over hours, the size per tuple moves
/// with each VACUUM's count more than with bloat.
pub(crate) const MIN_TREND_DAYS: f64 = 1.0;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Where an index's growth is measured from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Anchor {
    pub(crate) since: Timestamp,
    /// Bytes per tuple then.
    pub(crate) ratio: f64,
}

/// The expected crossing of the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Forecast {
    /// Estimated bloat gained per day.
    pub(crate) bloat_per_day: f64,
    pub(crate) expected_at: Timestamp,
}

/// Projects the growth since `anchor` forward to `threshold` × the baseline; `None`
/// when there is too little history, no growth, or the index is already there.
pub(crate) fn forecast(
    anchor: Anchor,
    ratio: f64,
    best_ratio: f64,
    threshold: f64,
    now: Timestamp,
) -> Option<Forecast> {
    let days = now.duration_since(anchor.since).as_secs_f64() / SECONDS_PER_DAY;
    if days < MIN_TREND_DAYS || best_ratio <= 0.0 {
        return None;
    }
    let growth_per_day = (ratio - anchor.ratio) / days;
    let target = threshold * best_ratio;
    if growth_per_day <= 0.0 || ratio >= target {
        return None;
    }
    let days_left = (target - ratio) / growth_per_day;
    let expected_at = now
        .checked_add(SignedDuration::try_from_secs_f64(days_left * SECONDS_PER_DAY).ok()?)
        .ok()?;
    Some(Forecast {
        bloat_per_day: growth_per_day / best_ratio,
        expected_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days_ago(now: Timestamp, days: i64) -> Timestamp {
        now.checked_sub(SignedDuration::from_hours(24 * days))
            .unwrap()
    }

    #[test]
    fn growth_since_the_anchor_is_projected_to_the_threshold() {
        let now: Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
        // Rebuilt 10 days ago at 20 B/tuple, 30 now: 0.05× a day, 2× in 10 more days.
        let anchor = Anchor {
            since: days_ago(now, 10),
            ratio: 20.0,
        };
        let f = forecast(anchor, 30.0, 20.0, 2.0, now).unwrap();
        assert!((f.bloat_per_day - 0.05).abs() < 1e-9);
        assert_eq!(f.expected_at, "2026-12-12T12:00:00Z".parse().unwrap());
        // Shrinking, flat, already past the threshold, or too young: no forecast.
        assert_eq!(forecast(anchor, 19.0, 20.0, 2.0, now), None);
        assert_eq!(forecast(anchor, 20.0, 20.0, 2.0, now), None);
        assert_eq!(forecast(anchor, 41.0, 20.0, 2.0, now), None);
        let young = Anchor {
            since: now.checked_sub(SignedDuration::from_hours(3)).unwrap(),
            ratio: 20.0,
        };
        assert_eq!(forecast(young, 30.0, 20.0, 2.0, now), None);
    }
}
