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

    pub(crate) fn changes_targets(self) -> bool {
        matches!(self, Mode::Run | Mode::Reindex)
    }

    /// Whether it records anything in the control database (beyond creating or
    /// migrating its schema): a dry run and a check leave it as they found it.
    pub(crate) fn writes_control(self) -> bool {
        !matches!(self, Mode::DryRun | Mode::Check)
    }
}
