//! What an invocation did with one target, and where that leaves the target: a
//! [`TargetProgress`] the stored record (`index_pilot.target_progress`) renders, so that
//! its state follows from typed values, never from a message's words.

use super::Progress;
use crate::domain::deferral::DeferralKind;
use crate::domain::fleet::TargetState;
use crate::domain::target_error::TargetErrorClass;
use crate::domain::words::plural;
use crate::report::{Status, TargetReport};

/// What an invocation did with one target.
pub(crate) struct TargetOutcome {
    pub(crate) reports: Vec<TargetReport>,
    pub(crate) progress: Progress,
    /// False when another invocation holds the target: its progress is theirs to say.
    pub(crate) served: bool,
}

/// Where a target stands after an invocation, as values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetProgress {
    pub(crate) state: TargetState,
    pub(crate) why: Option<Why>,
    /// The class of the first error among its databases.
    pub(crate) error_class: Option<TargetErrorClass>,
    pub(crate) scanned: usize,
    pub(crate) candidates: usize,
    pub(crate) reindexed: usize,
    pub(crate) deferred: usize,
}

/// Why a target stands where it stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Why {
    /// Databases that stopped (an error, a skip), each with its own words.
    Stopped(Vec<Stop>),
    /// Indexes wait; the first one says why.
    Deferred {
        count: usize,
        first: String,
        kind: DeferralKind,
        reason: String,
    },
}

/// One database that stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stop {
    pub(crate) database: Option<String>,
    pub(crate) status: Status,
    pub(crate) reason: String,
}

impl Why {
    /// In a line, as `target_progress.reason` stores it.
    pub(crate) fn render(&self) -> String {
        match self {
            Why::Stopped(stops) => stops
                .iter()
                .map(|stop| match &stop.database {
                    Some(database) => format!("database {database}: {}", stop.reason),
                    None => stop.reason.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            Why::Deferred {
                count,
                first,
                reason,
                ..
            } => format!(
                "{} deferred, the first ({first}): {reason}",
                plural(*count as u64, "index", "indexes")
            ),
        }
    }
}

impl TargetOutcome {
    pub(super) fn served((reports, progress): (Vec<TargetReport>, Progress)) -> TargetOutcome {
        TargetOutcome {
            reports,
            progress,
            served: true,
        }
    }

    /// Where the target stands: in error when a database is, else as far as its
    /// progress goes; why: each database's own reason, else the first deferral's.
    pub(crate) fn target_progress(&self) -> TargetProgress {
        let failed = self.reports.iter().any(|r| r.status == Status::Error);
        let sum = |count: fn(&TargetReport) -> usize| self.reports.iter().map(count).sum();
        TargetProgress {
            state: TargetState::of(self.progress, failed),
            why: self.why(),
            error_class: self.reports.iter().find_map(|r| r.error_class),
            scanned: sum(|r| r.scanned),
            candidates: sum(|r| r.candidates),
            reindexed: sum(|r| r.reindexed.len()),
            deferred: sum(|r| r.deferred.len()),
        }
    }

    fn why(&self) -> Option<Why> {
        let stops: Vec<Stop> = self
            .reports
            .iter()
            .filter_map(|r| {
                Some(Stop {
                    database: r.database.clone(),
                    status: r.status,
                    reason: r.reason.clone()?,
                })
            })
            .collect();
        if !stops.is_empty() {
            return Some(Why::Stopped(stops));
        }
        let mut deferred = self.reports.iter().flat_map(|r| &r.deferred);
        let first = deferred.next()?;
        Some(Why::Deferred {
            count: 1 + deferred.count(),
            first: first.index.clone(),
            kind: first.kind,
            reason: first.reason.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(reports: Vec<TargetReport>) -> TargetOutcome {
        TargetOutcome::served((reports, Progress::Done))
    }

    #[test]
    fn the_reason_is_the_errors_own_words_and_its_class() {
        let mut sales = TargetReport::new("fleet", Some("sales".to_owned()));
        sales.fail(
            TargetErrorClass::Database,
            "cannot connect at h:5432, database sales, user app: database \"sales\" does not exist (SQLSTATE 3D000)",
        );
        let fine = TargetReport::new("fleet", Some("app".to_owned()));
        let progress = outcome(vec![fine, sales]).target_progress();
        assert_eq!(
            progress.why.as_ref().map(Why::render).as_deref(),
            Some("database sales: cannot connect at h:5432, database sales, user app: database \"sales\" does not exist (SQLSTATE 3D000)")
        );
        assert_eq!(progress.state, TargetState::Error);
        assert_eq!(progress.error_class, Some(TargetErrorClass::Database));
    }

    #[test]
    fn deferrals_are_said_with_the_first_ones_reason() {
        let mut main = TargetReport::new("main", None);
        main.defer(
            &"public.a_id",
            DeferralKind::Window,
            "outside its maintenance windows until 2026-11-23 00:00 UTC",
        );
        main.defer(&"public.b_id", DeferralKind::Window, "outside");
        let progress = outcome(vec![main]).target_progress();
        assert_eq!(
            progress.why.as_ref().map(Why::render).as_deref(),
            Some("2 indexes deferred, the first (public.a_id): outside its maintenance windows until 2026-11-23 00:00 UTC")
        );
        assert!(matches!(
            progress.why,
            Some(Why::Deferred {
                count: 2,
                kind: DeferralKind::Window,
                ..
            })
        ));
        assert_eq!(
            (progress.state, progress.error_class),
            (TargetState::Done, None)
        );
        assert_eq!(progress.deferred, 2);
        assert_eq!(self::outcome(vec![]).target_progress().why, None);
    }

    #[test]
    fn rewording_a_message_keeps_the_state() {
        let mut skipped = TargetReport::new("replica", None);
        skipped.skip("any words at all");
        let progress = outcome(vec![skipped]).target_progress();
        assert_eq!(progress.state, TargetState::Done);
        assert!(
            matches!(&progress.why, Some(Why::Stopped(stops)) if stops[0].status == Status::Skipped)
        );
    }
}
