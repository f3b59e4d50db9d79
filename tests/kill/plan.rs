//! The kill plan: the moments a child is killed at, in order, and what is done
//! beside each kill.

/// REINDEX CONCURRENTLY's phases (pg_stat_progress_create_index.phase) in the order it
/// goes through them. Build sub-phases after the table scan rank with the first.
const PHASES: &[&str] = &[
    "initializing",
    "waiting for writers before build",
    "building index",
    "building index: scanning table",
    "building index: sorting live tuples",
    "waiting for writers before validation",
    "index validation: scanning index",
    "index validation: sorting tuples",
    "index validation: scanning table",
    "waiting for old snapshots",
    "waiting for readers before marking dead",
    "waiting for readers before dropping",
];

pub fn rank(phase: &str) -> usize {
    PHASES.iter().position(|p| *p == phase).unwrap_or_else(|| {
        assert!(
            phase.starts_with("building index: "),
            "unknown phase {phase:?}"
        );
        rank("building index: sorting live tuples")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// The child is connected to the target and recording the start of its rebuild
    /// (held there by a lock on the history table): no REINDEX yet.
    BeforeRebuild,
    /// The REINDEX is sent but waits for its table's lock: the server has not begun.
    WaitingForTableLock,
    /// The first sample at or after this phase.
    Phase(&'static str),
    /// The REINDEX has ended; the child is recording how (held by the history lock).
    RightAfter,
    /// A DROP INDEX CONCURRENTLY of a leftover of ours runs: in the run right after a
    /// kill whose terminated rebuild left one.
    DuringCleanup,
}

impl Moment {
    pub fn describe(self) -> &'static str {
        match self {
            Moment::BeforeRebuild => "before a rebuild starts",
            Moment::WaitingForTableLock => "REINDEX waiting for its table's lock",
            Moment::Phase(phase) => phase,
            Moment::RightAfter => "right after a REINDEX ended",
            Moment::DuringCleanup => "during leftover cleanup",
        }
    }
}

pub struct Kill {
    pub moment: Moment,
    /// Also terminate the server process the kill left running (REINDEX or DROP).
    pub terminate: bool,
    /// Keep what holds the rebuild until the next invocation has seen it running.
    pub hold_after_kill: bool,
}

pub fn plan() -> Vec<Kill> {
    use Moment::*;
    let kill = |moment, terminate, hold_after_kill| Kill {
        moment,
        terminate,
        hold_after_kill,
    };
    vec![
        kill(BeforeRebuild, false, false),
        kill(WaitingForTableLock, false, false),
        kill(WaitingForTableLock, true, false),
        kill(Phase("initializing"), true, false),
        kill(Phase("waiting for writers before build"), false, true),
        kill(Phase("waiting for writers before build"), true, false),
        kill(DuringCleanup, false, false),
        kill(Phase("building index: scanning table"), false, false),
        kill(Phase("building index: scanning table"), true, false),
        kill(DuringCleanup, true, false),
        kill(Phase("building index: sorting live tuples"), true, false),
        kill(Phase("waiting for writers before validation"), false, false),
        kill(Phase("waiting for writers before validation"), true, false),
        kill(Phase("index validation: scanning index"), true, false),
        kill(Phase("index validation: scanning table"), false, false),
        kill(Phase("waiting for old snapshots"), false, true),
        kill(Phase("waiting for old snapshots"), true, false),
        kill(
            Phase("waiting for readers before marking dead"),
            true,
            false,
        ),
        kill(DuringCleanup, false, false),
        kill(
            Phase("waiting for readers before marking dead"),
            false,
            true,
        ),
        kill(Phase("waiting for readers before dropping"), true, false),
        kill(Phase("waiting for readers before dropping"), false, false),
        kill(RightAfter, false, false),
    ]
}

/// The index a round's child rebuilds first (candidates of equal size go by name);
/// `b` is left for the runs after the kill.
pub fn round_index(n: usize, which: char) -> String {
    format!("k{n:02}{which}")
}
