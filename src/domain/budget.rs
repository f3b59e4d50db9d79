//! The time an invocation may spend, and whether a rebuild fits in it.

use std::time::Duration;

use super::throughput::DEFAULT_BYTES_PER_SECOND;

/// The longest a Lambda invocation can last; a deadline further away is absurd.
pub(crate) const LAMBDA_MAX_DURATION: Duration = Duration::from_secs(15 * 60);

/// The least any REINDEX CONCURRENTLY takes: its several transactions and the waits
/// between them.
pub(crate) const REBUILD_OVERHEAD: Duration = Duration::from_secs(1);

/// The time allowed for work from now: the invocation's deadline less the safety
/// margin, or `fallback` when the deadline is absent (0), past, or further than a
/// Lambda invocation can last (`cargo lambda watch` sends such a constant).
pub(crate) fn allowance(
    deadline_ms: u64,
    now_ms: u64,
    fallback: Duration,
    safety_margin: Duration,
) -> Duration {
    let max_ms = u64::try_from(LAMBDA_MAX_DURATION.as_millis()).unwrap_or(u64::MAX);
    match deadline_ms.checked_sub(now_ms) {
        Some(left_ms) if deadline_ms > 0 && left_ms > 0 && left_ms <= max_ms => {
            Duration::from_millis(left_ms).saturating_sub(safety_margin)
        }
        _ => fallback,
    }
}

/// How long a rebuild of `size_bytes` should take at `bytes_per_second` (see
/// [`super::throughput`]; an unusable rate gives the default); never less than
/// [`REBUILD_OVERHEAD`].
pub(crate) fn predicted_rebuild(size_bytes: u64, bytes_per_second: f64) -> Duration {
    let rate = Some(bytes_per_second)
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or(DEFAULT_BYTES_PER_SECOND);
    Duration::from_secs_f64((size_bytes as f64 / rate).min(1e9)).max(REBUILD_OVERHEAD)
}

/// The least grace a rebuild left running by an earlier invocation gets past its
/// predicted end before this invocation stops waiting for it.
pub(crate) const OVERRUN_GRACE: Duration = Duration::from_secs(2);

/// How long to wait for a rebuild an earlier invocation left running, `running` for
/// so far, `predicted` to take in all, with `left` of this invocation's budget: until
/// its predicted end plus a grace (a quarter of the prediction, at least
/// [`OVERRUN_GRACE`]), so a rebuild that overran its hop by a little is recorded and
/// the run goes on instead of waiting for the next schedule. Zero (do not wait) when
/// that is more than is left: a long rebuild is only looked at.
pub(crate) fn wait_for_earlier_rebuild(
    predicted: Duration,
    running: Duration,
    left: Duration,
) -> Duration {
    let grace = (predicted / 4).max(OVERRUN_GRACE);
    let wait = (predicted + grace).saturating_sub(running);
    if wait <= left {
        wait
    } else {
        Duration::ZERO
    }
}

/// How long the work on one target may take, `left` of the budget when it begins and
/// `margin` kept for the end of the invocation: the budget, then half the margin (at
/// least a few seconds) for what follows a time-up (settling, the lease, the report).
pub(crate) fn target_bound(left: Duration, margin: Duration) -> Duration {
    left + (margin / 2).max(Duration::from_secs(5))
}

/// The time of one invocation: its whole allowance, counted from its start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    started: std::time::Instant,
    whole: Duration,
}

impl Budget {
    pub(crate) fn new(whole: Duration) -> Budget {
        Budget {
            started: std::time::Instant::now(),
            whole,
        }
    }

    pub(crate) fn whole(&self) -> Duration {
        self.whole
    }

    pub(crate) fn left(&self) -> Duration {
        self.whole.saturating_sub(self.started.elapsed())
    }

    /// Whether whole indexes may still be read for estimates (pgstattuple): in the
    /// first half of the invocation only, so that what the scan found is recorded and
    /// rebuilds have their time; what is not read now waits for the next scan.
    pub(crate) fn may_read_whole_indexes(&self) -> bool {
        self.left() >= self.whole / 2
    }

    /// `setup`: what the work took before it could start a rebuild (connecting,
    /// scanning); a fresh invocation pays it too.
    pub(crate) fn fit(&self, predicted: Duration, setup: Duration) -> Fit {
        fit(predicted, self.left(), self.whole.saturating_sub(setup))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Finishes within what is left.
    Start,
    /// Does not fit what is left, but would fit a fresh invocation: wait for it.
    Wait,
    /// Fits no invocation at all: start it and let it outlive this one.
    StartAndLeave,
}

/// `fresh`: what a fresh invocation would have for it; `left`: what remains of this
/// one. Waiting is only worth it for what a fresh invocation can take.
pub(crate) fn fit(predicted: Duration, left: Duration, fresh: Duration) -> Fit {
    if predicted <= left {
        Fit::Start
    } else if predicted <= fresh {
        Fit::Wait
    } else {
        Fit::StartAndLeave
    }
}

/// The fit right before the statement, `now` counting what the looks and the wait for
/// the server's slot took. What was planned to fit must still fit, or wait for the
/// next hop; what no invocation can fit once those are counted is started to outlive
/// this one, as the plan would have had it; what was planned to outlive it still does.
pub(crate) fn fit_at_start(planned: Fit, now: Fit) -> Fit {
    match planned {
        Fit::StartAndLeave => Fit::StartAndLeave,
        Fit::Start | Fit::Wait => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_indexes_are_read_in_the_first_half_only() {
        assert!(Budget::new(Duration::from_secs(600)).may_read_whole_indexes());
        let spent = Budget {
            started: std::time::Instant::now() - Duration::from_secs(400),
            whole: Duration::from_secs(600),
        };
        assert!(!spent.may_read_whole_indexes());
    }

    #[test]
    fn a_rebuild_that_overran_its_hop_is_waited_for_briefly() {
        let s = Duration::from_secs;
        // Predicted 1 s, running for 1.5 s: wait until 1 s + 2 s grace.
        assert_eq!(
            wait_for_earlier_rebuild(s(1), Duration::from_millis(1500), s(60)),
            Duration::from_millis(1500)
        );
        // Predicted 40 s, running 10 s: until 40 s + 10 s grace.
        assert_eq!(wait_for_earlier_rebuild(s(40), s(10), s(60)), s(40));
        // Not when that is more than is left.
        assert_eq!(
            wait_for_earlier_rebuild(s(40), s(10), s(30)),
            Duration::ZERO
        );
        // A long rebuild far past its prediction and grace: only looked at.
        assert_eq!(
            wait_for_earlier_rebuild(s(7200), s(10_800), s(840)),
            Duration::ZERO
        );
        // A long one still early in its course: more than any invocation has.
        assert_eq!(
            wait_for_earlier_rebuild(s(7200), s(600), s(840)),
            Duration::ZERO
        );
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn deadline_or_fallback() {
        let now = 1_800_000_000_000;
        let margin = Duration::from_secs(30);
        assert_eq!(
            allowance(now + 300_000, now, MIN, margin),
            Duration::from_secs(270)
        );
        assert_eq!(allowance(now + 10_000, now, MIN, margin), Duration::ZERO);
        assert_eq!(allowance(0, now, MIN, margin), MIN, "absent");
        assert_eq!(allowance(now - 5, now, MIN, margin), MIN, "past");
        assert_eq!(allowance(now + 3_600_000, now, MIN, margin), MIN, "absurd");
    }

    #[test]
    fn predictions_and_fits() {
        assert_eq!(
            predicted_rebuild(0, DEFAULT_BYTES_PER_SECOND),
            REBUILD_OVERHEAD
        );
        assert_eq!(
            predicted_rebuild(100 << 20, 50.0 * 1024.0 * 1024.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            predicted_rebuild(100 << 20, f64::NAN),
            Duration::from_secs(10)
        );
        assert_eq!(
            fit(Duration::from_secs(5), Duration::from_secs(10), MIN),
            Fit::Start
        );
        assert_eq!(
            fit(Duration::from_secs(20), Duration::from_secs(10), MIN),
            Fit::Wait
        );
        assert_eq!(
            fit(Duration::from_secs(90), Duration::from_secs(10), MIN),
            Fit::StartAndLeave
        );
    }

    #[test]
    fn the_fit_is_judged_again_right_before_the_statement() {
        assert_eq!(fit_at_start(Fit::Start, Fit::Start), Fit::Start);
        // The looks took the time it needed: the next hop takes it.
        assert_eq!(fit_at_start(Fit::Start, Fit::Wait), Fit::Wait);
        // No invocation has room for it once the looks are counted.
        assert_eq!(
            fit_at_start(Fit::Start, Fit::StartAndLeave),
            Fit::StartAndLeave
        );
        // Planned to outlive this invocation: it still does.
        assert_eq!(
            fit_at_start(Fit::StartAndLeave, Fit::Wait),
            Fit::StartAndLeave
        );
    }

    #[test]
    fn what_a_fresh_invocation_cannot_fit_either_is_started_not_waited_for() {
        let ms = Duration::from_millis;
        // 2.3 s invocations that spend 0.3 s before they can start a rebuild, and a
        // rebuild predicted to take 2.25 s: no invocation fits it, waiting would
        // defer it forever.
        let budget = Budget::new(ms(2300));
        assert_eq!(fit(ms(2250), ms(2000), ms(2300 - 300)), Fit::StartAndLeave);
        // One that a fresh invocation fits after its setup is worth waiting for.
        assert_eq!(fit(ms(1900), ms(1000), ms(2000)), Fit::Wait);
        assert_eq!(budget.fit(ms(1900), ms(300)), Fit::Start);
    }

    #[test]
    fn a_targets_work_ends_within_the_invocation() {
        let minute = Duration::from_secs(60);
        assert_eq!(target_bound(minute, minute), Duration::from_secs(90));
        assert_eq!(
            target_bound(minute, Duration::ZERO),
            Duration::from_secs(65)
        );
    }
}
