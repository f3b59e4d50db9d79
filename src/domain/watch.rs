//! What the watch of a running rebuild logs: how far along it is in its
//! phase, whether it waits and on whom, and when the next line is due.

use std::time::{Duration, Instant};

/// What `pg_stat_progress_create_index` counts for one build: each pair is (done,
/// total), `None` where the server gives nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) blocks: (Option<i64>, Option<i64>),
    pub(crate) tuples: (Option<i64>, Option<i64>),
    /// The lockers (or, waiting for old snapshots, the virtual transactions) the
    /// current wait phase waits for.
    pub(crate) lockers: (Option<i64>, Option<i64>),
}

fn fraction((done, total): (Option<i64>, Option<i64>)) -> Option<f64> {
    match (done, total) {
        (Some(done), Some(total)) if total > 0 => Some(done.max(0) as f64 / total as f64),
        _ => None,
    }
}

impl Counters {
    /// Percent done in the current phase, to a tenth: by blocks where the phase counts
    /// blocks, else by tuples; `None` when the phase counts neither (a wait, the start).
    pub(crate) fn percent_done(&self) -> Option<f64> {
        fraction(self.blocks)
            .or_else(|| fraction(self.tuples))
            .map(|f| (f.min(1.0) * 1000.0).round() / 10.0)
    }

    /// "done/total" of the lockers a wait phase waits for, when it counts them.
    pub(crate) fn lockers(&self) -> Option<String> {
        match self.lockers {
            (Some(done), Some(total)) if total > 0 => Some(format!("{done}/{total}")),
            _ => None,
        }
    }
}

/// What a rebuild waits for, by its phase (PostgreSQL's names) and whether its
/// process waits for a lock now. `None`: it is not waiting.
pub(crate) fn wait_kind(phase: &str, lock_wait: bool) -> Option<&'static str> {
    if phase.contains("old snapshots") {
        Some("old snapshots (virtual transactions)")
    } else if phase.contains("waiting for writers") {
        Some("writers (lockers)")
    } else if phase.contains("waiting for readers") {
        Some("readers (lockers)")
    } else if lock_wait {
        Some("a lock")
    } else {
        None
    }
}

/// The processes a rebuild waits for: `pg_blocking_pids`, and the locker the wait
/// phase is at when that one is not among them. `None`: it is not waiting. An empty
/// list: it waits, for whom the server does not say (0 stands for a prepared
/// transaction). `ours` (the rebuild itself, and the connection that looks at it) are
/// never among them: a REINDEX CONCURRENTLY waits a moment for the snapshot of the
/// very look that asks whom it waits for, and an index never waits for itself.
pub(crate) fn blocking(
    lock_wait: bool,
    blocking_pids: &[i32],
    current_locker: Option<i32>,
    ours: &[i32],
) -> Option<Vec<i32>> {
    let others = |pid: &i32| !ours.contains(pid);
    let mut pids: Vec<i32> = blocking_pids.iter().copied().filter(others).collect();
    if let Some(locker) =
        current_locker.filter(|pid| *pid != 0 && others(pid) && !pids.contains(pid))
    {
        pids.push(locker);
    }
    let only_ours = pids.is_empty()
        && (!blocking_pids.is_empty() || current_locker.is_some_and(|pid| pid != 0));
    if (!lock_wait && pids.is_empty()) || only_ours {
        return None;
    }
    Some(pids)
}

/// When the next progress line of a rebuild is due: every `interval` from the start
/// of the watch, never two at once after a stall.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cadence {
    interval: Duration,
    next: Instant,
}

impl Cadence {
    pub(crate) fn new(start: Instant, interval: Duration) -> Cadence {
        Cadence {
            interval,
            next: start + interval,
        }
    }

    /// Whether a line is due at `now`; if so, the next one is one interval after the
    /// last due time that has passed.
    pub(crate) fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        while self.next <= now {
            self.next += self.interval.max(Duration::from_millis(1));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_by_blocks_then_tuples() {
        let counters = Counters {
            blocks: (Some(250), Some(1000)),
            tuples: (Some(1), Some(2)),
            ..Counters::default()
        };
        assert_eq!(counters.percent_done(), Some(25.0));
        let tuples = Counters {
            blocks: (Some(0), Some(0)),
            tuples: (Some(1), Some(3)),
            ..Counters::default()
        };
        assert_eq!(tuples.percent_done(), Some(33.3));
        assert_eq!(Counters::default().percent_done(), None);
        // A total the server has not filled in yet says nothing.
        let unknown = Counters {
            blocks: (Some(5), Some(0)),
            ..Counters::default()
        };
        assert_eq!(unknown.percent_done(), None);
        let over = Counters {
            tuples: (Some(12), Some(10)),
            ..Counters::default()
        };
        assert_eq!(over.percent_done(), Some(100.0));
    }

    #[test]
    fn lockers_are_counted_only_when_known() {
        let waiting = Counters {
            lockers: (Some(1), Some(3)),
            ..Counters::default()
        };
        assert_eq!(waiting.lockers().as_deref(), Some("1/3"));
        assert_eq!(Counters::default().lockers(), None);
    }

    #[test]
    fn wait_kinds_follow_the_phase() {
        assert_eq!(
            wait_kind("waiting for old snapshots", true),
            Some("old snapshots (virtual transactions)")
        );
        assert_eq!(
            wait_kind("waiting for writers before build", true),
            Some("writers (lockers)")
        );
        assert_eq!(
            wait_kind("waiting for readers before marking dead", false),
            Some("readers (lockers)")
        );
        assert_eq!(wait_kind("building index", true), Some("a lock"));
        assert_eq!(wait_kind("building index: scanning table", false), None);
    }

    #[test]
    fn blockers_are_the_blocking_pids_and_the_current_locker() {
        assert_eq!(blocking(false, &[], Some(0), &[]), None);
        assert_eq!(blocking(true, &[], None, &[]), Some(vec![]));
        assert_eq!(blocking(true, &[42], Some(42), &[]), Some(vec![42]));
        assert_eq!(blocking(true, &[42], Some(7), &[]), Some(vec![42, 7]));
        assert_eq!(blocking(false, &[0], None, &[]), Some(vec![0]));
    }

    #[test]
    fn a_rebuild_never_waits_for_itself_or_the_look_at_it() {
        // 100: the rebuild; 200: the connection that looks at it.
        let ours = [100, 200];
        assert_eq!(blocking(true, &[200], Some(200), &ours), None);
        assert_eq!(blocking(true, &[], Some(100), &ours), None);
        assert_eq!(blocking(true, &[200, 42], Some(200), &ours), Some(vec![42]));
        assert_eq!(blocking(true, &[], Some(42), &ours), Some(vec![42]));
        // Waiting, for whom the server does not say: still waiting.
        assert_eq!(blocking(true, &[], None, &ours), Some(vec![]));
    }

    #[test]
    fn lines_come_every_interval_and_never_pile_up() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut cadence = Cadence::new(start, second);
        assert!(!cadence.due(start));
        assert!(!cadence.due(start + Duration::from_millis(999)));
        assert!(cadence.due(start + second));
        assert!(!cadence.due(start + Duration::from_millis(1500)));
        // A stall of several intervals gives one line, then the cadence goes on.
        assert!(cadence.due(start + Duration::from_millis(4200)));
        assert!(!cadence.due(start + Duration::from_millis(4900)));
        assert!(cadence.due(start + Duration::from_secs(5)));
    }
}
