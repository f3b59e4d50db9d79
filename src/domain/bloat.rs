//! The bloat estimate (bytes per index tuple against the same right after a build)
//! and the baseline rules.

/// Bytes per index tuple. `reltuples` is -1 on PostgreSQL 14+ before the first
/// VACUUM or ANALYZE; like 0 it counts as 1, as the formula says.
pub(crate) fn bytes_per_tuple(size_bytes: u64, reltuples: f64) -> f64 {
    size_bytes as f64 / reltuples.max(1.0)
}

/// How many times larger the index is than a fresh build would be (2.0 = twice).
pub(crate) fn estimated_bloat(ratio: f64, best_ratio: f64) -> f64 {
    if best_ratio > 0.0 {
        ratio / best_ratio
    } else {
        1.0
    }
}

/// Bytes a rebuild is expected to give back.
pub(crate) fn expected_reclaim(size_bytes: u64, bloat: f64) -> u64 {
    if bloat > 1.0 {
        (size_bytes as f64 * (1.0 - 1.0 / bloat)) as u64
    } else {
        0
    }
}

/// A reading is reliable when the index is large enough for its size per tuple to
/// mean something, and its tuple count has been measured.
pub(crate) fn is_reliable(
    size_bytes: u64,
    reltuples: f64,
    minimum_reliable_index_size: u64,
) -> bool {
    size_bytes >= minimum_reliable_index_size && reltuples > 0.0
}

/// Outside a rebuild the baseline only ratchets down, and only from reliable readings.
/// An index without a baseline keeps none: its bloat is unknown until a rebuild or a
/// `baseline` run sets one.
pub(crate) fn ratchet(previous: Option<f64>, ratio: f64, reliable: bool) -> Option<f64> {
    match previous {
        Some(best) if reliable => Some(best.min(ratio)),
        other => other,
    }
}

/// The baseline right after a rebuild, or the one a `baseline` run seeds.
pub(crate) fn fresh_baseline(size_bytes: u64, reltuples: f64, reliable: bool) -> Option<f64> {
    reliable.then(|| bytes_per_tuple(size_bytes, reltuples))
}

/// A bloat factor as a verdict shows it beside `threshold`: two decimals, more when
/// two would cross the threshold (1.996 is not "2.00 < 2"), and when even six would,
/// cut toward the side the factor is on.
pub(crate) fn shown_against(bloat: f64, threshold: f64) -> String {
    let at_or_above = bloat >= threshold;
    for digits in 2..=6 {
        let shown = format!("{bloat:.digits$}");
        if shown
            .parse::<f64>()
            .is_ok_and(|s| (s >= threshold) == at_or_above)
        {
            return shown;
        }
    }
    let scale = 1e6;
    let cut = if at_or_above {
        (bloat * scale).ceil()
    } else {
        (bloat * scale).floor()
    };
    format!("{:.6}", cut / scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_verdict_never_shows_a_factor_on_the_wrong_side() {
        assert_eq!(shown_against(1.3, 2.0), "1.30");
        assert_eq!(shown_against(1.996, 2.0), "1.996");
        assert_eq!(shown_against(1.99999999, 2.0), "1.999999");
        assert_eq!(shown_against(2.0, 2.0), "2.00");
        assert_eq!(shown_against(1.504, 1.505), "1.50");
        assert_eq!(shown_against(2.0999, 2.1), "2.0999");
    }

    #[test]
    fn ratio_and_bloat() {
        assert_eq!(bytes_per_tuple(8192, 0.0), 8192.0);
        assert_eq!(bytes_per_tuple(8192, -1.0), 8192.0);
        assert_eq!(bytes_per_tuple(8192, 256.0), 32.0);
        assert_eq!(estimated_bloat(50.0, 20.0), 2.5);
        assert_eq!(expected_reclaim(1000, 2.0), 500);
        assert_eq!(expected_reclaim(1000, 0.8), 0);
    }

    #[test]
    fn baseline_rules() {
        assert_eq!(ratchet(Some(20.0), 15.0, true), Some(15.0));
        assert_eq!(ratchet(Some(20.0), 25.0, true), Some(20.0));
        assert_eq!(ratchet(Some(20.0), 15.0, false), Some(20.0));
        assert_eq!(ratchet(None, 15.0, true), None);
        assert_eq!(fresh_baseline(1 << 20, 1024.0, true), Some(1024.0));
        assert_eq!(fresh_baseline(1 << 10, 8.0, false), None);
        assert!(!is_reliable(64 << 10, 1000.0, 128 << 10));
        assert!(!is_reliable(1 << 20, 0.0, 128 << 10));
        assert!(is_reliable(1 << 20, 10.0, 128 << 10));
    }

    proptest! {
        #[test]
        fn the_shown_factor_agrees_with_the_verdict(bloat in 0.5f64..4.0, threshold in 1.0f64..3.0) {
            let shown: f64 = shown_against(bloat, threshold).parse().unwrap();
            prop_assert_eq!(shown >= threshold, bloat >= threshold);
        }

        #[test]
        fn ratchet_never_rises(best in 1.0f64..1e6, ratio in 0.0f64..1e6, reliable: bool) {
            let after = ratchet(Some(best), ratio, reliable).unwrap();
            prop_assert!(after <= best);
        }

        #[test]
        fn reclaim_never_exceeds_size(size in 0u64..1 << 50, bloat in 0.0f64..1e6) {
            prop_assert!(expected_reclaim(size, bloat) <= size);
        }
    }
}
