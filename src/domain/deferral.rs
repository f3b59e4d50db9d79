//! Why a candidate was left for later, as a kind the report and the metrics group by
//! (the report keeps the sentence beside it).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferralKind {
    /// The rebuild does not fit the time left in this invocation: the next hop takes it.
    Time,
    /// It fits no invocation and is larger than max_automatic_index_size.
    TooLarge,
    /// Outside the maintenance windows of its database.
    Window,
    /// A session the rebuild would wait for (older than max_blocker_age).
    Blocker,
    /// An earlier rebuild on the target was blocked in this run.
    Blocked,
    /// The server runs as many rebuilds as it may, or this invocation watches as many.
    ServerBusy,
    /// The server refused rebuilds for now (disk full, read-only, …).
    ServerRefused,
    /// A rebuild of ours is still running on the target.
    RebuildRunning,
    /// The index changed since the scan (gone, renamed, invalid, another build).
    Changed,
    /// Its table was locked when it was assessed.
    Locked,
    /// Its table has no statistics yet.
    NoStatistics,
    /// Its first estimate is still to come.
    AwaitingEstimate,
    /// Named in a request but not a candidate.
    NotACandidate,
    /// Standbys or replication slots are behind on WAL, or synchronous standbys missing.
    Replication,
    /// The table is past its freeze age, or the database near wraparound.
    Wraparound,
    /// A vacuum is processing the table.
    Vacuum,
    /// The instance's free storage would not hold a second copy and its WAL.
    Disk,
    /// This role may not rebuild it: it neither owns the table nor has MAINTAIN.
    Permission,
    /// A settings row that names it cannot be read.
    Configuration,
    /// The installed pgvector has a bug its rebuild would run into: upgrade first.
    Extension,
}

impl DeferralKind {
    /// The snake_case name (as serialised), for the metric dimension `Reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeferralKind::Time => "time",
            DeferralKind::TooLarge => "too_large",
            DeferralKind::Window => "window",
            DeferralKind::Blocker => "blocker",
            DeferralKind::Blocked => "blocked",
            DeferralKind::ServerBusy => "server_busy",
            DeferralKind::ServerRefused => "server_refused",
            DeferralKind::RebuildRunning => "rebuild_running",
            DeferralKind::Changed => "changed",
            DeferralKind::Locked => "locked",
            DeferralKind::NoStatistics => "no_statistics",
            DeferralKind::AwaitingEstimate => "awaiting_estimate",
            DeferralKind::NotACandidate => "not_a_candidate",
            DeferralKind::Replication => "replication",
            DeferralKind::Wraparound => "wraparound",
            DeferralKind::Vacuum => "vacuum",
            DeferralKind::Disk => "disk",
            DeferralKind::Permission => "permission",
            DeferralKind::Configuration => "configuration",
            DeferralKind::Extension => "extension",
        }
    }

    #[cfg(test)]
    pub(crate) const ALL: [DeferralKind; 20] = [
        DeferralKind::Time,
        DeferralKind::TooLarge,
        DeferralKind::Window,
        DeferralKind::Blocker,
        DeferralKind::Blocked,
        DeferralKind::ServerBusy,
        DeferralKind::ServerRefused,
        DeferralKind::RebuildRunning,
        DeferralKind::Changed,
        DeferralKind::Locked,
        DeferralKind::NoStatistics,
        DeferralKind::AwaitingEstimate,
        DeferralKind::NotACandidate,
        DeferralKind::Replication,
        DeferralKind::Wraparound,
        DeferralKind::Vacuum,
        DeferralKind::Disk,
        DeferralKind::Permission,
        DeferralKind::Configuration,
        DeferralKind::Extension,
    ];
}

#[cfg(test)]
mod tests {
    use super::DeferralKind;

    #[test]
    fn as_str_is_the_serialised_name() {
        for kind in DeferralKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json.as_str(), Some(kind.as_str()));
        }
    }
}
