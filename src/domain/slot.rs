//! Whether a rebuild recorded as running still holds its server's slot. The control
//! database counts `in_progress` rows; a row outlives its rebuild when nobody comes
//! back to settle it (its target no longer configured or renamed, its database
//! dropped or recreated) or not yet (its invocation was killed). Only a server
//! process that is still there, the one that started it, holds a slot.

/// A recorded rebuild as its server shows it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// Its server process (pid and process start) is still there.
    pub(crate) alive: bool,
    /// Its target is still in the configuration, under that name.
    pub(crate) target_configured: bool,
    /// Its database (by oid) still exists on the server: a recreated one has another.
    pub(crate) database_exists: bool,
}

/// What becomes of a recorded rebuild's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Its rebuild runs: it holds the slot.
    Held,
    /// Its rebuild has ended; its own target settles it (how it ended, what it left)
    /// when next served. Meanwhile it holds no slot.
    Freed,
    /// Its rebuild has ended and nobody will settle it: closed as failed, gone.
    Closed(Abandoned),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandoned {
    TargetNotConfigured,
    DatabaseGone,
}

impl Abandoned {
    /// The history row's error.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Abandoned::TargetNotConfigured => {
                "abandoned: its server process ended, and its target is no longer configured (removed or renamed)"
            }
            Abandoned::DatabaseGone => {
                "abandoned: its server process ended, and its database was dropped or recreated"
            }
        }
    }
}

pub(crate) fn slot(seen: Seen) -> Slot {
    match seen {
        Seen { alive: true, .. } => Slot::Held,
        Seen {
            database_exists: false,
            ..
        } => Slot::Closed(Abandoned::DatabaseGone),
        Seen {
            target_configured: false,
            ..
        } => Slot::Closed(Abandoned::TargetNotConfigured),
        _ => Slot::Freed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(alive: bool, target_configured: bool, database_exists: bool) -> Seen {
        Seen {
            alive,
            target_configured,
            database_exists,
        }
    }

    #[test]
    fn a_running_rebuild_holds_its_slot_whoever_started_it() {
        assert_eq!(slot(seen(true, true, true)), Slot::Held);
        // A target removed while its rebuild runs: the server is busy all the same.
        assert_eq!(slot(seen(true, false, true)), Slot::Held);
    }

    #[test]
    fn an_ended_rebuild_frees_its_slot_and_is_closed_when_nobody_comes_back() {
        assert_eq!(slot(seen(false, true, true)), Slot::Freed);
        assert_eq!(
            slot(seen(false, false, true)),
            Slot::Closed(Abandoned::TargetNotConfigured)
        );
        assert_eq!(
            slot(seen(false, true, false)),
            Slot::Closed(Abandoned::DatabaseGone)
        );
        assert_eq!(
            slot(seen(false, false, false)),
            Slot::Closed(Abandoned::DatabaseGone)
        );
    }
}
