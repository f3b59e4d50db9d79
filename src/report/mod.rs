//! The report an invocation returns and logs: one JSON document, the same in the
//! Lambda response and the log, so what was decided can be read back from either.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use crate::domain::blocker::Blocker;
use crate::domain::deferral::DeferralKind;
use crate::domain::failure::FailureClass;
use crate::domain::hazard::Hazard;
use crate::domain::mode::Mode;
use crate::domain::pgvector::PgvectorWarning;
use crate::domain::rebuild_memory::SessionUsed;
use crate::domain::target_error::TargetErrorClass;
use crate::invocation::assignment::ShardDispatch;
use crate::pg::ServerMessage;

mod bound;
pub mod metrics;
mod plan;
mod table;
pub mod text;
mod unknown;

pub use plan::{Confirmation, Estimate, ForecastEntry, NewBaseline, PlannedIndex};
pub use unknown::UnknownBloat;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What one schedule started: shared by its shards and hops.
    pub run_id: Uuid,
    pub(crate) mode: Mode,
    /// The chain this invocation belongs to (0 when the run has a single chain).
    pub(crate) shard: u32,
    pub hop: u32,
    /// True when every target was handled to the end in this invocation.
    pub complete: bool,
    pub duration_ms: u64,
    /// What the invocation has to say beyond the targets (a duplicate delivery, work
    /// left for the next schedule, a failed hand-over).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A scheduled run over many targets: the shards it handed out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardDispatch>,
    /// `check` and `dry_run`: rows of the control database that name no configured
    /// target (a misspelled target in a window lifts the restriction it meant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) configuration: Vec<crate::domain::preflight::Checked>,
    /// The targets handed to the next hop.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub continued_with: Vec<String>,
    pub targets: Vec<TargetReport>,
}

impl Report {
    pub(crate) fn new(mode: Mode) -> Report {
        Report {
            run_id: Uuid::nil(),
            mode,
            shard: 0,
            hop: 0,
            complete: false,
            duration_ms: 0,
            notes: Vec::new(),
            shards: Vec::new(),
            configuration: Vec::new(),
            continued_with: Vec::new(),
            targets: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Skipped,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub name: String,
    /// Set when the target covers several databases: one entry each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) database: Option<String>,
    pub status: Status,
    /// Why the target was skipped or failed.
    pub reason: Option<String>,
    /// What kind of error, when `status` is `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<TargetErrorClass>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Known bugs of the database's pgvector (every mode but `check` and `dry_run`,
    /// whose preflight lists them as findings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<PgvectorWarning>,
    /// `check` and `dry_run`: what the target's setup lets index-pilot do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) preflight: Option<crate::domain::preflight::Preflight>,
    /// Where the database stands with its maintenance windows, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Indexes the catalog scan returned.
    pub scanned: usize,
    /// Indexes that qualified for a rebuild.
    pub candidates: usize,
    /// The candidates in the order a run takes them.
    pub plan: Vec<PlannedIndex>,
    /// `dry_run`: the indexes at or above their size threshold that a run would leave
    /// alone, with their estimate (`plan` has the ones it would take).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<Estimate>,
    /// `baseline`: how many baselines were seeded from current sizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baselines_set: Option<usize>,
    /// How many indexes got a baseline in this invocation, by how it was set.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub baseline_sources: BTreeMap<&'static str, usize>,
    /// The indexes whose baseline their database's first scan had to find: estimated,
    /// or (with a note saying why) their current size.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_baselines: Vec<NewBaseline>,
    /// The indexes whose bloat is unknown (baseline source `no_estimate`), largest
    /// first: a plain run neither calls them healthy nor rebuilds them for that.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) unknown_bloat: Vec<UnknownBloat>,
    /// Large candidates looked at again before their rebuild; `false_alarm`: not
    /// rebuilt after all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confirmations: Vec<Confirmation>,
    /// `dry_run`: growing indexes and when each is expected to reach its threshold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forecast: Vec<ForecastEntry>,
    pub reindexed: Vec<Reindexed>,
    /// Rebuilds still running in the server (started by this or an earlier invocation).
    pub in_progress: Vec<InProgress>,
    pub deferred: Vec<Deferred>,
    pub failed: Vec<Failed>,
    /// Invalid indexes: ours (what our rebuilds left) are dropped, anyone else's are
    /// reported and never touched.
    pub leftovers: Vec<Leftover>,
    /// Indexes in quarantine after failed rebuilds: not rebuilt until released.
    pub quarantined: Vec<Quarantined>,
    /// Indexes dropped while the scan ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vanished: Vec<String>,
    /// How many entries [`Report::bounded`] left out, by list; only the lists it cut.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub omitted: BTreeMap<&'static str, usize>,
}

impl TargetReport {
    pub(crate) fn new(name: &str, database: Option<String>) -> TargetReport {
        TargetReport {
            name: name.to_owned(),
            database,
            status: Status::Ok,
            reason: None,
            error_class: None,
            server_version: None,
            warnings: Vec::new(),
            preflight: None,
            window: None,
            scanned: 0,
            candidates: 0,
            plan: Vec::new(),
            left_alone: Vec::new(),
            baselines_set: None,
            baseline_sources: BTreeMap::new(),
            new_baselines: Vec::new(),
            unknown_bloat: Vec::new(),
            confirmations: Vec::new(),
            forecast: Vec::new(),
            reindexed: Vec::new(),
            in_progress: Vec::new(),
            deferred: Vec::new(),
            failed: Vec::new(),
            leftovers: Vec::new(),
            quarantined: Vec::new(),
            vanished: Vec::new(),
            omitted: BTreeMap::new(),
        }
    }

    pub(crate) fn fail(&mut self, class: TargetErrorClass, reason: impl Into<String>) {
        self.status = Status::Error;
        self.error_class = Some(class);
        self.reason = Some(reason.into());
    }

    pub(crate) fn skip(&mut self, reason: impl Into<String>) {
        self.status = Status::Skipped;
        self.reason = Some(reason.into());
    }

    pub(crate) fn defer(
        &mut self,
        index: &impl ToString,
        kind: DeferralKind,
        reason: impl Into<String>,
    ) {
        self.deferred.push(Deferred {
            index: index.to_string(),
            kind,
            reason: reason.into(),
            blocker: None,
            hazard: None,
        });
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Reindexed {
    pub index: String,
    pub(crate) table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) toast_of: Option<String>,
    pub(crate) access_method: String,
    pub size_before: u64,
    pub size_after: u64,
    pub estimated_bloat_before: Option<f64>,
    pub duration_ms: u64,
    /// Of `duration_ms`, the time this invocation saw it wait for other sessions.
    #[serde(skip_serializing_if = "is_zero")]
    pub blocked_ms: u64,
    /// Started by an earlier invocation and found finished by this one; then
    /// `duration_ms` is the time from its start until it was found finished.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
    /// What failed after the swap (marking the old index dead, dropping it): the
    /// rebuild did its work all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What its session ran with; absent for one started by an earlier invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<SessionUsed>,
    /// What the server said on its connection while it ran (NOTICE, WARNING).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) server_messages: Vec<ServerMessage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InProgress {
    pub index: String,
    /// The server process running it.
    pub pid: i32,
    /// From pg_stat_progress_create_index.
    pub phase: String,
    pub(crate) percent_done: Option<f64>,
    pub(crate) running_ms: u64,
    /// The time this invocation saw it wait for other sessions.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) blocked_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deferred {
    pub index: String,
    pub kind: DeferralKind,
    pub reason: String,
    /// The session it would have waited for (never its query text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) blocker: Option<Blocker>,
    /// What in the cluster around the primary held it back, with its numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hazard: Option<Hazard>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    pub index: String,
    /// The server's words, and what became of the rebuild's leftovers.
    pub error: String,
    pub sqlstate: Option<String>,
    pub class: FailureClass,
    /// Put in quarantine by this failure.
    pub quarantined: bool,
    /// Whom it waited for when it failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<Blocker>,
    /// The time this invocation saw it wait for other sessions.
    #[serde(skip_serializing_if = "is_zero")]
    pub blocked_ms: u64,
    /// What its session ran with; absent for one started by an earlier invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session: Option<SessionUsed>,
    /// What the server said on its connection while it ran (NOTICE, WARNING).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) server_messages: Vec<ServerMessage>,
}

// serde's skip_serializing_if takes a reference.
fn is_zero(value: &u64) -> bool {
    *value == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct Leftover {
    pub index: String,
    pub(crate) table: String,
    /// `None` when it could not be read without waiting for a lock.
    pub(crate) size_bytes: Option<u64>,
    /// `indisready`: every write to the table still updates it.
    pub(crate) maintained_by_writes: bool,
    /// Left by one of our rebuilds (known by oid), not merely named like it.
    pub ours: bool,
    /// `ours: dropped`, `ours: kept …`, or `not ours: reported only`.
    pub action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quarantined {
    pub index: String,
    pub(crate) table: String,
    pub(crate) since: String,
    pub(crate) sqlstate: Option<String>,
    pub(crate) error: String,
    pub(crate) failures: i32,
}

impl From<crate::control::QuarantineEntry> for Quarantined {
    fn from(entry: crate::control::QuarantineEntry) -> Self {
        Quarantined {
            index: entry.index.to_string(),
            table: entry.table,
            since: entry.since,
            sqlstate: entry.sqlstate,
            error: entry.error,
            failures: entry.failures,
        }
    }
}

pub(crate) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
