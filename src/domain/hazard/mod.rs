//! What in the cluster around a primary makes a rebuild harmful right now: standbys
//! and slots behind on WAL, wraparound, a vacuum on the table, a disk too full. Each
//! is found from values the target (or CloudWatch) reported; the engine looks before
//! every rebuild and defers the index, naming the hazard and its numbers.

mod disk;
mod replication;
mod vacuum;

use std::time::Duration;

use serde::Serialize;

pub(crate) use disk::{
    newest_reading, storage_hazard, FreeStorage, InstanceStorage, NotBytes, StorageMetric,
    READING_WINDOW,
};
pub(crate) use replication::{
    synchronous_standbys_required, AuroraReplica, Replication, ReplicationLimits, Slot, SlotKind,
    Standby,
};
pub(crate) use vacuum::{vacuum_hazard, Ages, Vacuum};

use super::deferral::DeferralKind;
use super::units::{format_elapsed, format_size};
use super::words::plural;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "hazard", rename_all = "snake_case")]
pub enum Hazard {
    /// A standby replays further behind than the limits allow.
    StandbyLag {
        standby: Standby,
        #[serde(skip)]
        max_lag: Option<Duration>,
        #[serde(skip)]
        max_lag_bytes: Option<u64>,
    },
    /// Standbys whose lag this role may not read.
    StandbysUnseen { count: usize },
    /// An Aurora reader lags further behind than `max_replica_lag`.
    AuroraReplicaLag {
        replica: AuroraReplica,
        #[serde(skip)]
        max_lag: Option<Duration>,
    },
    /// Fewer synchronous standbys stream than every commit waits for.
    SynchronousStandbysMissing {
        required: u32,
        streaming: u32,
        names: String,
    },
    /// A slot would keep more WAL than `max_slot_retained_wal` with this rebuild's.
    SlotRetains {
        slot: Slot,
        rebuild_wal_bytes: u64,
        limit: u64,
    },
    /// This rebuild's WAL would make `max_slot_wal_keep_size` invalidate a slot.
    SlotWouldBeLost { slot: Slot, rebuild_wal_bytes: u64 },
    /// The database is past `wraparound_danger_age`.
    DatabaseWraparound {
        database: String,
        xid_age: i64,
        mxid_age: i64,
        danger_age: u32,
    },
    /// The table is past its freeze age.
    TableFreezeAge { table: String, ages: Ages },
    /// A vacuum is processing the table.
    Vacuum { table: String, vacuum: Vacuum },
    /// Not enough free storage for the copy and its WAL.
    Disk {
        storage: FreeStorage,
        needed_bytes: u64,
        min_free_bytes: u64,
    },
    /// The free storage of a target that names its instance cannot be read.
    DiskUnknown {
        instance: String,
        metric: String,
        why: String,
    },
}

fn lag_limits(max_lag: Option<Duration>, max_lag_bytes: Option<u64>) -> String {
    let mut limits = Vec::new();
    if let Some(lag) = max_lag {
        limits.push(format!("max_replica_lag {}", format_elapsed(lag)));
    }
    if let Some(bytes) = max_lag_bytes {
        limits.push(format!("max_replica_lag_bytes {}", format_size(bytes)));
    }
    limits.join(", ")
}

impl Hazard {
    pub(crate) fn kind(&self) -> DeferralKind {
        match self {
            Hazard::StandbyLag { .. }
            | Hazard::StandbysUnseen { .. }
            | Hazard::AuroraReplicaLag { .. }
            | Hazard::SynchronousStandbysMissing { .. }
            | Hazard::SlotRetains { .. }
            | Hazard::SlotWouldBeLost { .. } => DeferralKind::Replication,
            Hazard::DatabaseWraparound { .. } | Hazard::TableFreezeAge { .. } => {
                DeferralKind::Wraparound
            }
            Hazard::Vacuum { .. } => DeferralKind::Vacuum,
            Hazard::Disk { .. } | Hazard::DiskUnknown { .. } => DeferralKind::Disk,
        }
    }

    /// Whether it holds back every other rebuild of the database too, whatever its
    /// size or table: then the rest is deferred without another look.
    pub(crate) fn stops_the_rest(&self) -> bool {
        match self {
            Hazard::StandbyLag { .. }
            | Hazard::StandbysUnseen { .. }
            | Hazard::AuroraReplicaLag { .. }
            | Hazard::SynchronousStandbysMissing { .. }
            | Hazard::DatabaseWraparound { .. }
            | Hazard::DiskUnknown { .. } => true,
            // A smaller index may fit where this one does not; another table may be
            // young or idle.
            Hazard::SlotRetains { .. }
            | Hazard::SlotWouldBeLost { .. }
            | Hazard::TableFreezeAge { .. }
            | Hazard::Vacuum { .. }
            | Hazard::Disk { .. } => false,
        }
    }

    /// One sentence for the report, with the numbers.
    pub(crate) fn describe(&self) -> String {
        // Long but flat: one sentence per hazard, each read beside its variant.
        match self {
            Hazard::StandbyLag {
                standby,
                max_lag,
                max_lag_bytes,
            } => {
                let mut behind = Vec::new();
                if let Some(lag) = standby.replay_lag {
                    behind.push(format_elapsed(lag));
                }
                if let Some(bytes) = standby.replay_lag_bytes {
                    behind.push(format_size(bytes));
                }
                format!(
                    "{} replays {} behind ({})",
                    standby.describe(),
                    behind.join(", "),
                    lag_limits(*max_lag, *max_lag_bytes)
                )
            }
            Hazard::StandbysUnseen { count } => format!(
                "this role may not see how far {} (GRANT pg_read_all_stats to it, or set max_replica_lag and max_replica_lag_bytes to off)",
                plural(*count as u64, "standby lags", "standbys lag")
            ),
            Hazard::AuroraReplicaLag { replica, max_lag } => format!(
                "Aurora reader {:?} lags {} behind ({})",
                replica.server_id,
                replica.lag.map_or_else(|| "?".to_owned(), format_elapsed),
                lag_limits(*max_lag, None)
            ),
            Hazard::SynchronousStandbysMissing {
                required,
                streaming,
                names,
            } => format!(
                "synchronous_standby_names ({names:?}) asks for {}, and {} streaming: every commit of the rebuild would wait",
                plural(u64::from(*required), "synchronous standby", "synchronous standbys"),
                plural(u64::from(*streaming), "standby is", "standbys are")
            ),
            Hazard::SlotRetains {
                slot,
                rebuild_wal_bytes,
                limit,
            } => format!(
                "{} keeps {} of WAL; with the about {} this rebuild writes it would keep more than max_slot_retained_wal ({})",
                slot.describe(),
                format_size(slot.retained_bytes.unwrap_or(0)),
                format_size(*rebuild_wal_bytes),
                format_size(*limit)
            ),
            Hazard::SlotWouldBeLost {
                slot,
                rebuild_wal_bytes,
            } => format!(
                "{} may keep only {} more WAL before max_slot_wal_keep_size invalidates it, and this rebuild writes about {}",
                slot.describe(),
                format_size(u64::try_from(slot.safe_wal_bytes.unwrap_or(0)).unwrap_or(0)),
                format_size(*rebuild_wal_bytes)
            ),
            Hazard::DatabaseWraparound {
                database,
                xid_age,
                mxid_age,
                danger_age,
            } => format!(
                "database {database} is near wraparound (age(datfrozenxid) {xid_age}, mxid_age(datminmxid) {mxid_age}, wraparound_danger_age {danger_age}): nothing starts there until vacuum has frozen it"
            ),
            Hazard::TableFreezeAge { table, ages } => format!(
                "table {table} is past its freeze age (age(relfrozenxid) {}, autovacuum_freeze_max_age {}; mxid_age(relminmxid) {}, autovacuum_multixact_freeze_max_age {}): an anti-wraparound vacuum is due, and REINDEX CONCURRENTLY would wait behind it or hold it back",
                ages.table_xid_age,
                ages.freeze_max_age,
                ages.table_mxid_age,
                ages.multixact_freeze_max_age
            ),
            Hazard::Vacuum { table, vacuum } => format!(
                "{} is processing table {table}: REINDEX CONCURRENTLY would cancel it or wait behind it",
                vacuum.describe()
            ),
            Hazard::Disk {
                storage,
                needed_bytes,
                min_free_bytes,
            } => format!(
                "instance {} has {} free ({}, {} ago): a rebuild of this index needs about {} (a second copy and its WAL, and min_free_storage {} kept free)",
                storage.instance,
                format_size(storage.free_bytes),
                storage.metric,
                format_elapsed(storage.age),
                format_size(*needed_bytes),
                format_size(*min_free_bytes)
            ),
            Hazard::DiskUnknown {
                instance,
                metric,
                why,
            } => format!("the free storage of instance {instance} ({metric}) is unknown: {why}"),
        }
    }
}
