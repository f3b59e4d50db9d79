//! What an invocation did with one target, and how `target_progress` says it.

use super::Progress;
use crate::domain::target_error::TargetErrorClass;
use crate::domain::words::plural;
use crate::report::TargetReport;

/// What an invocation did with one target.
pub struct TargetOutcome {
    pub reports: Vec<TargetReport>,
    pub progress: Progress,
    /// False when another invocation holds the target: its progress is theirs to say.
    pub served: bool,
}

impl TargetOutcome {
    pub(super) fn served((reports, progress): (Vec<TargetReport>, Progress)) -> TargetOutcome {
        TargetOutcome {
            reports,
            progress,
            served: true,
        }
    }

    /// Why the target stands where it stands, in a line for `target_progress`: each
    /// database's own reason (an error's own words), else the first deferral's.
    pub fn reason(&self) -> Option<String> {
        let reasons: Vec<String> = self
            .reports
            .iter()
            .filter_map(|r| {
                let reason = r.reason.as_deref()?;
                Some(match &r.database {
                    Some(database) => format!("database {database}: {reason}"),
                    None => reason.to_owned(),
                })
            })
            .collect();
        if !reasons.is_empty() {
            return Some(reasons.join("; "));
        }
        let deferred: Vec<&crate::report::Deferred> =
            self.reports.iter().flat_map(|r| &r.deferred).collect();
        let first = deferred.first()?;
        Some(format!(
            "{} deferred, the first ({}): {}",
            plural(deferred.len() as u64, "index", "indexes"),
            first.index,
            first.reason
        ))
    }

    /// The class of the first error among its databases.
    pub fn error_class(&self) -> Option<TargetErrorClass> {
        self.reports.iter().find_map(|r| r.error_class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deferral::DeferralKind;

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
        let outcome = outcome(vec![fine, sales]);
        assert_eq!(
            outcome.reason().as_deref(),
            Some("database sales: cannot connect at h:5432, database sales, user app: database \"sales\" does not exist (SQLSTATE 3D000)")
        );
        assert_eq!(outcome.error_class(), Some(TargetErrorClass::Database));
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
        let outcome = outcome(vec![main]);
        assert_eq!(
            outcome.reason().as_deref(),
            Some("2 indexes deferred, the first (public.a_id): outside its maintenance windows until 2026-11-23 00:00 UTC")
        );
        assert_eq!(outcome.error_class(), None);
        assert_eq!(self::outcome(vec![]).reason(), None);
    }
}
