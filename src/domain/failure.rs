//! What a failed rebuild means, from the server's SQLSTATE: retry later, quarantine
//! the index, or stop working on the target for this run.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Others were in the way: a lock timeout, our own cancel after too long a wait,
    /// a deadlock. Retried in a later run, and never quarantined: a weekly
    /// anti-wraparound vacuum says nothing about the index.
    Blocked,
    /// The index itself or the right to rebuild it: permission denied, an expression
    /// that fails, duplicates in a unique index, a row too large, corruption.
    /// Quarantined at once.
    Index,
    /// The server cannot take rebuilds now: disk full, read-only, out of resources,
    /// shutting down. No more work on that target in this run.
    Target,
    /// The index went away (dropped meanwhile): nothing to retry.
    Gone,
    /// Anything else (including a connection lost with no word from the server).
    /// Retried; quarantined after repeated failures.
    Other,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Blocked => "blocked",
            FailureClass::Index => "index",
            FailureClass::Target => "target",
            FailureClass::Gone => "gone",
            FailureClass::Other => "other",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<FailureClass> {
        [
            FailureClass::Blocked,
            FailureClass::Index,
            FailureClass::Target,
            FailureClass::Gone,
            FailureClass::Other,
        ]
        .into_iter()
        .find(|class| class.as_str() == name)
    }
}

/// insufficient_privilege: the role may not rebuild the index (it does not own the
/// table). The target's setup, not the index's fault: no quarantine, and the rest of
/// the target's candidates would hit the same wall.
pub(crate) const PERMISSION_DENIED: &str = "42501";

/// What to grant `role` so that it may rebuild the indexes of `table` (both as they
/// are written in SQL), on a server of `server_version_num`.
pub(crate) fn what_to_grant(role: &str, table: &str, server_version_num: i32) -> String {
    let maintain = if server_version_num >= 170_000 {
        format!(
            ", or GRANT MAINTAIN ON TABLE {table} TO {role} (GRANT pg_maintain TO {role} for every table)"
        )
    } else {
        String::new()
    };
    format!(
        "the role {role} may not rebuild the indexes of {table} (SQLSTATE {PERMISSION_DENIED}): make it the owner of the tables whose indexes it rebuilds (ALTER TABLE {table} OWNER TO {role}){maintain}; nothing more is tried on this target until then, and no index is quarantined for it"
    )
}

/// Classifies a failed REINDEX or DROP INDEX by its SQLSTATE (`None`: no word from
/// the server).
pub(crate) fn classify(sqlstate: Option<&str>) -> FailureClass {
    let Some(code) = sqlstate else {
        return FailureClass::Other;
    };
    let class = code.get(..2).unwrap_or(code);
    match code {
        // lock_not_available, query_canceled, deadlock_detected, serialization_failure
        "55P03" | "57014" | "40P01" | "40001" => FailureClass::Blocked,
        // undefined_table, undefined_object: dropped between the scan and the rebuild
        "42P01" | "42704" => FailureClass::Gone,
        // read_only_sql_transaction; admin_shutdown, crash_shutdown, cannot_connect_now;
        // insufficient_privilege (the target's setup)
        "25006" | "57P01" | "57P02" | "57P03" | PERMISSION_DENIED => FailureClass::Target,
        // data_corrupted, index_corrupted; program_limit_exceeded (an index row too large)
        "XX001" | "XX002" | "54000" => FailureClass::Index,
        // feature_not_supported: this index cannot be rebuilt concurrently
        "0A000" => FailureClass::Index,
        _ => match class {
            // insufficient resources (disk full, out of memory, too many connections),
            // system errors (I/O), connection exceptions
            "53" | "58" | "08" => FailureClass::Target,
            // data exceptions (a failing expression), integrity violations (duplicates),
            // PL/pgSQL raise, undefined functions
            "22" | "23" | "P0" | "42" => FailureClass::Index,
            _ => FailureClass::Other,
        },
    }
}

/// A finished rebuild of one index, newest first, as the history keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PastRebuild {
    Completed,
    Failed(FailureClass),
}

/// Failures of an index in a row, newest first, up to its last completed rebuild.
/// Failures of the server (`Target`), of a vanished index (`Gone`) and of a rebuild
/// others held up (`Blocked`) say nothing about the index: they neither count nor
/// break the series.
pub(crate) fn failures_in_a_row(history: &[PastRebuild]) -> u32 {
    let mut count = 0;
    for past in history {
        match past {
            PastRebuild::Completed => break,
            PastRebuild::Failed(
                FailureClass::Target | FailureClass::Gone | FailureClass::Blocked,
            ) => {}
            PastRebuild::Failed(_) => count += 1,
        }
    }
    count
}

/// Whether a failure puts the index in quarantine. `in_a_row` counts this failure too.
pub(crate) fn quarantines(class: FailureClass, in_a_row: u32, quarantine_after: u32) -> bool {
    match class {
        FailureClass::Index => true,
        FailureClass::Target | FailureClass::Gone | FailureClass::Blocked => false,
        FailureClass::Other => in_a_row >= quarantine_after,
    }
}

/// What a settled rebuild means for the rest of its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterRebuild {
    /// It completed: what it took predicts the next ones better than the default.
    Learn,
    /// It failed in a way that says nothing about the other indexes.
    GoOn,
    /// Others were in the way: nothing more starts on the target in this run.
    StopBlocked,
    /// The server cannot take rebuilds now: nothing more starts in this run.
    StopTarget,
    /// The role may not rebuild (the target's setup): nothing more starts, and the
    /// target's error says what to grant.
    StopForPermission,
}

/// `failure`: the class of the settled rebuild's failure (`None`: it completed);
/// `sqlstate`: the failure's, if the server gave one.
pub(crate) fn after_rebuild(failure: Option<FailureClass>, sqlstate: Option<&str>) -> AfterRebuild {
    match failure {
        Some(FailureClass::Target) if sqlstate == Some(PERMISSION_DENIED) => {
            AfterRebuild::StopForPermission
        }
        Some(FailureClass::Blocked) => AfterRebuild::StopBlocked,
        Some(FailureClass::Target) => AfterRebuild::StopTarget,
        Some(FailureClass::Index | FailureClass::Gone | FailureClass::Other) => AfterRebuild::GoOn,
        None => AfterRebuild::Learn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_classified() {
        for (code, class) in [
            ("55P03", FailureClass::Blocked),
            ("57014", FailureClass::Blocked),
            ("40P01", FailureClass::Blocked),
            ("42501", FailureClass::Target),
            ("23505", FailureClass::Index),
            ("22012", FailureClass::Index),
            ("P0001", FailureClass::Index),
            ("42883", FailureClass::Index),
            ("54000", FailureClass::Index),
            ("XX002", FailureClass::Index),
            ("42P01", FailureClass::Gone),
            ("53100", FailureClass::Target),
            ("53200", FailureClass::Target),
            ("25006", FailureClass::Target),
            ("57P01", FailureClass::Target),
            ("58030", FailureClass::Target),
            ("08006", FailureClass::Target),
            ("XX000", FailureClass::Other),
            ("2F005", FailureClass::Other),
        ] {
            assert_eq!(classify(Some(code)), class, "{code}");
        }
        assert_eq!(classify(None), FailureClass::Other);
        assert_eq!(classify(Some("5")), FailureClass::Other);
    }

    #[test]
    fn a_permission_error_says_what_to_grant() {
        let before_17 = what_to_grant("app", "public.orders", 160_004);
        assert!(
            before_17.contains("ALTER TABLE public.orders OWNER TO app"),
            "{before_17}"
        );
        assert!(!before_17.contains("MAINTAIN"), "{before_17}");
        let from_17 = what_to_grant("app", "public.orders", 170_000);
        assert!(
            from_17.contains("GRANT MAINTAIN ON TABLE public.orders TO app"),
            "{from_17}"
        );
        assert!(from_17.contains("no index is quarantined"), "{from_17}");
    }

    #[test]
    fn class_names_round_trip() {
        for class in [
            FailureClass::Blocked,
            FailureClass::Index,
            FailureClass::Target,
            FailureClass::Gone,
            FailureClass::Other,
        ] {
            assert_eq!(FailureClass::from_name(class.as_str()), Some(class));
        }
        assert_eq!(FailureClass::from_name("nope"), None);
    }

    #[test]
    fn the_series_stops_at_the_last_success() {
        use PastRebuild::*;
        let blocked = Failed(FailureClass::Blocked);
        let other = Failed(FailureClass::Other);
        let disk_full = Failed(FailureClass::Target);
        assert_eq!(failures_in_a_row(&[]), 0);
        assert_eq!(
            failures_in_a_row(&[other, blocked, other, Completed, other]),
            2
        );
        assert_eq!(failures_in_a_row(&[blocked, disk_full, blocked]), 0);
        assert_eq!(failures_in_a_row(&[Completed, other]), 0);
    }

    #[test]
    fn quarantine_at_once_or_after_a_series() {
        assert!(quarantines(FailureClass::Index, 1, 3));
        // A lock timeout or our own cancel, however often: others were in the way.
        assert!(!quarantines(FailureClass::Blocked, 3, 3));
        assert!(!quarantines(FailureClass::Blocked, 100, 3));
        assert!(!quarantines(FailureClass::Other, 2, 3));
        assert!(quarantines(FailureClass::Other, 4, 3));
        assert!(!quarantines(FailureClass::Target, 10, 3));
        assert!(!quarantines(FailureClass::Gone, 10, 3));
    }

    #[test]
    fn what_a_settled_rebuild_means_for_the_rest() {
        use AfterRebuild::*;
        assert_eq!(after_rebuild(None, None), Learn);
        assert_eq!(
            after_rebuild(Some(FailureClass::Target), Some(PERMISSION_DENIED)),
            StopForPermission
        );
        assert_eq!(
            after_rebuild(Some(FailureClass::Target), Some("53100")),
            StopTarget
        );
        assert_eq!(after_rebuild(Some(FailureClass::Target), None), StopTarget);
        assert_eq!(
            after_rebuild(Some(FailureClass::Blocked), Some("55P03")),
            StopBlocked
        );
        // Blocked stays blocked whatever the code says.
        assert_eq!(
            after_rebuild(Some(FailureClass::Blocked), Some(PERMISSION_DENIED)),
            StopBlocked
        );
        for class in [FailureClass::Index, FailureClass::Gone, FailureClass::Other] {
            assert_eq!(after_rebuild(Some(class), Some(PERMISSION_DENIED)), GoOn);
        }
    }
}
