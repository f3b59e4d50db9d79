//! What an invocation is asked to do: the mode its event names. The rules decide by
//! it (what a run seeds, records or rebuilds), so it is a word of the domain that the
//! event, the engine and the report share.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Estimate, record baselines, rebuild what is bloated.
    Run,
    /// Estimate and show what a run would take; change nothing anywhere.
    DryRun,
    /// Accept the indexes without a baseline as they are now (all of them with
    /// `reseed`): their current size per tuple becomes their baseline.
    Baseline,
    /// One named index.
    Reindex,
    /// Look at each target's setup (login, rights, version, extensions, the rows
    /// that name it) and change nothing anywhere.
    Check,
}

impl Mode {
    /// Every mode, in the order the README lists them (an unknown mode is refused
    /// with this list). `as_str` names each one.
    pub(crate) const ALL: [Mode; 5] = [
        Mode::Run,
        Mode::DryRun,
        Mode::Baseline,
        Mode::Reindex,
        Mode::Check,
    ];

    pub(crate) fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.as_str() == name)
    }

    /// Its name in events and reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::DryRun => "dry_run",
            Mode::Baseline => "baseline",
            Mode::Reindex => "reindex",
            Mode::Check => "check",
        }
    }

    /// `run` and `reindex` rebuild: they hold the target's lease, follow the rebuilds
    /// earlier invocations left running, and correct what they learn in the control
    /// database.
    pub(crate) fn changes_targets(self) -> bool {
        matches!(self, Mode::Run | Mode::Reindex)
    }

    /// `dry_run` and `check` change nothing anywhere (no row of the control database,
    /// no ANALYZE, no DROP): they are what a DBA runs to look, so they also report the
    /// setup they find (rows that name nothing, a database that cannot be reached).
    pub(crate) fn only_looks(self) -> bool {
        matches!(self, Mode::DryRun | Mode::Check)
    }

    /// Whether it records anything in the control database (beyond creating or
    /// migrating its schema).
    pub(crate) fn writes_control(self) -> bool {
        !self.only_looks()
    }

    /// `reindex` is an operator's order: one index in the one database it names, which
    /// maintenance windows (and their rows) do not hold back.
    pub(crate) fn is_an_order(self) -> bool {
        self == Mode::Reindex
    }

    /// The modes that pick rebuilds on their own read the windows: `baseline` changes
    /// no target, `check` picks nothing, and an order is not held back.
    pub(crate) fn heeds_windows(self) -> bool {
        matches!(self, Mode::Run | Mode::DryRun)
    }

    /// `run`, the mode a schedule starts: it goes over the fleet in shards and hops,
    /// longest waiting target first, records each target's progress, and picks its
    /// rebuilds itself (so `max_automatic_index_size` limits it, not an order).
    pub(crate) fn is_scheduled_run(self) -> bool {
        self == Mode::Run
    }
}

#[cfg(test)]
mod tests {
    use super::Mode;

    /// What each mode may do, side by side: a change to one row is a change of
    /// behaviour the README must say.
    #[test]
    fn what_each_mode_may_do() {
        let table: Vec<(&str, [bool; 5])> = Mode::ALL
            .iter()
            .map(|mode| {
                (
                    mode.as_str(),
                    [
                        mode.changes_targets(),
                        mode.writes_control(),
                        mode.is_an_order(),
                        mode.heeds_windows(),
                        mode.is_scheduled_run(),
                    ],
                )
            })
            .collect();
        assert_eq!(
            table,
            [
                ("run", [true, true, false, true, true]),
                ("dry_run", [false, false, false, true, false]),
                ("baseline", [false, true, false, false, false]),
                ("reindex", [true, true, true, false, false]),
                ("check", [false, false, false, false, false]),
            ]
        );
        for mode in Mode::ALL {
            assert_eq!(mode.only_looks(), !mode.writes_control(), "{mode:?}");
            assert_eq!(Mode::from_name(mode.as_str()), Some(mode));
        }
    }
}
