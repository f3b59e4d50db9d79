//! The setting keys, their defaults, and their values parsed and checked.

use std::time::Duration;

use serde::Serialize;

use crate::domain::baseline::InitialBaseline;
use crate::domain::units::{parse_duration, parse_size};

/// Declares every key once: its name in `index_pilot.settings` and its default
/// (`None`: the server's own value applies).
macro_rules! setting_keys {
    ($($key:ident => $name:literal, $default:expr;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum SettingKey {
            $($key,)+
        }

        impl SettingKey {
            pub const ALL: &'static [SettingKey] = &[$(SettingKey::$key,)+];

            pub fn name(self) -> &'static str {
                match self {
                    $(SettingKey::$key => $name,)+
                }
            }

            /// The value used when no rule matches; `None` leaves the server's own.
            pub(crate) fn default_value(self) -> Option<&'static str> {
                match self {
                    $(SettingKey::$key => $default,)+
                }
            }
        }
    };
}

setting_keys! {
    IndexSizeThreshold => "index_size_threshold", Some("10MB");
    IndexRebuildScaleFactor => "index_rebuild_scale_factor", Some("2");
    MinimumReliableIndexSize => "minimum_reliable_index_size", Some("128kB");
    ReindexHistoryRetentionPeriod => "reindex_history_retention_period", Some("10 years");
    Skip => "skip", Some("false");
    // Long enough that an ordinary report query does not make a finished build fail at
    // its last wait, short enough that a stuck lock is noticed.
    LockTimeout => "lock_timeout", Some("1min");
    // A transaction this old (or a lock on the table held this long) defers a rebuild:
    // REINDEX CONCURRENTLY would wait for it.
    MaxBlockerAge => "max_blocker_age", Some("5min");
    // Time a running rebuild may spend waiting for others before it is cancelled.
    MaxRebuildWait => "max_rebuild_wait", Some("2min");
    QuarantineAfter => "quarantine_after", Some("3");
    MaintenanceWorkMem => "maintenance_work_mem", None;
    MaxParallelMaintenanceWorkers => "max_parallel_maintenance_workers", None;
    // What an HNSW rebuild's session may raise maintenance_work_mem to, so that
    // pgvector's graph fits in memory (src/domain/rebuild_memory.rs).
    MaxRebuildMaintenanceWorkMem => "max_rebuild_maintenance_work_mem", Some("1GB");
    // Rebuilds running at once on one server (host and port), whatever target,
    // database or invocation started them.
    MaxRebuildsPerServer => "max_rebuilds_per_server", Some("1");
    // An index that fits no invocation is started to outlive it, unless larger than
    // this (`off`: no limit). Such a build holds back the xmin horizon of its
    // database for hours: a DBA raises the limit on purpose.
    MaxAutomaticIndexSize => "max_automatic_index_size", Some("10GB");
    // What an index gets as its baseline at the first scan of its database.
    InitialBaseline => "initial_baseline", Some("estimate");
    // A candidate this large is confirmed before its rebuild: fresh statistics, and
    // pgstatindex where it can be read. Below it a false alarm costs less than a look.
    ConfirmSizeThreshold => "confirm_size_threshold", Some("100MB");
    // Whether a rebuild's confirmation may ANALYZE a table whose statistics are stale.
    AnalyzeBeforeRebuild => "analyze_before_rebuild", Some("true");
    // A standby (or Aurora reader) replaying further behind than this, in time or in
    // bytes, defers every rebuild on its primary (`off`: not checked). An RDS read
    // replica is usually seconds and megabytes behind.
    MaxReplicaLag => "max_replica_lag", Some("1min");
    MaxReplicaLagBytes => "max_replica_lag_bytes", Some("1GB");
    // A replication slot that would keep more WAL than this with the rebuild's own
    // defers it (`off`: not checked): WAL kept for an absent consumer fills the disk.
    MaxSlotRetainedWal => "max_slot_retained_wal", Some("10GB");
    // A database this close to wraparound (age of datfrozenxid or datminmxid) starts
    // nothing: near vacuum_failsafe_age's 1.6 billion, before the failsafe.
    WraparoundDangerAge => "wraparound_danger_age", Some("1500000000");
    // Kept free on the instance besides the rebuild's copy and WAL, where the free
    // storage can be known.
    MinFreeStorage => "min_free_storage", Some("5GB");
    // pgstattuple and pgstatindex read every page of an index: larger ones are not
    // read (a first estimate takes the current size, a confirmation goes without).
    MaxInspectSize => "max_inspect_size", Some("10GB");
    // The statement_timeout of each of those reads and of a confirmation's ANALYZE.
    MaxInspectTime => "max_inspect_time", Some("1min");
}

impl SettingKey {
    pub(crate) fn from_name(name: &str) -> Option<SettingKey> {
        SettingKey::ALL
            .iter()
            .copied()
            .find(|key| key.name() == name)
    }

    pub(crate) fn known_names() -> String {
        SettingKey::ALL
            .iter()
            .map(|key| key.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A parsed setting: the key and its typed value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Setting {
    IndexSizeThreshold(u64),
    IndexRebuildScaleFactor(f64),
    MinimumReliableIndexSize(u64),
    ReindexHistoryRetentionPeriod(String),
    Skip(bool),
    LockTimeout(Duration),
    MaxBlockerAge(Duration),
    MaxRebuildWait(Duration),
    QuarantineAfter(u32),
    MaintenanceWorkMem(u64),
    MaxRebuildMaintenanceWorkMem(u64),
    MaxParallelMaintenanceWorkers(u32),
    MaxRebuildsPerServer(u32),
    /// `None`: `off`, no limit.
    MaxAutomaticIndexSize(Option<u64>),
    InitialBaseline(InitialBaseline),
    /// `None`: `off`, nothing is confirmed.
    ConfirmSizeThreshold(Option<u64>),
    AnalyzeBeforeRebuild(bool),
    /// `None`: `off`, not checked.
    MaxReplicaLag(Option<Duration>),
    MaxReplicaLagBytes(Option<u64>),
    MaxSlotRetainedWal(Option<u64>),
    WraparoundDangerAge(u32),
    MinFreeStorage(u64),
    MaxInspectSize(u64),
    MaxInspectTime(Duration),
}

/// The ages `wraparound_danger_age` may take: below the 2^31 where PostgreSQL stops
/// assigning ids (a low one defers every rebuild: the DBA's choice).
const WRAPAROUND_DANGER_AGES: std::ops::RangeInclusive<u32> = 1..=2_000_000_000;

/// `off` (or `none`): the check or the limit is switched off.
fn off_or<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => Ok(None),
        _ => parse(text).map(Some),
    }
}

/// The largest value of an integer GUC (int4): what set_config accepts at most for
/// lock_timeout (in milliseconds) and maintenance_work_mem (in kB).
const GUC_INT_MAX: u64 = i32::MAX as u64;

/// A maintenance_work_mem PostgreSQL accepts: 1MB to 2147483647 kB.
fn work_mem(text: &str) -> Result<u64, String> {
    match parse_size(text).map_err(|e| e.to_string())? {
        bytes if bytes / 1024 > GUC_INT_MAX => Err(format!(
            "{text:?} is above {GUC_INT_MAX} kB, PostgreSQL's maximum"
        )),
        bytes if bytes >= 1 << 20 => Ok(bytes),
        _ => Err(format!("{text:?} is below 1MB, PostgreSQL's minimum")),
    }
}

fn positive_duration(text: &str, zero_means: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!("0 would {zero_means}")),
        Err(e) => Err(e.to_string()),
    }
}

fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean (true or false)")),
    }
}

fn whole_number(text: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

impl Setting {
    /// Whether it is one number per server, whatever index or database it is for.
    pub(super) fn server_wide(&self) -> bool {
        matches!(self, Setting::MaxRebuildsPerServer(_))
    }

    pub(super) fn parse(key: SettingKey, text: &str) -> Result<Setting, String> {
        let size = |text: &str| parse_size(text).map_err(|e| e.to_string());
        Ok(match key {
            SettingKey::IndexSizeThreshold => Setting::IndexSizeThreshold(size(text)?),
            SettingKey::MinimumReliableIndexSize => Setting::MinimumReliableIndexSize(size(text)?),
            SettingKey::IndexRebuildScaleFactor => {
                Setting::IndexRebuildScaleFactor(scale_factor(text)?)
            }
            SettingKey::Skip => Setting::Skip(boolean(text)?),
            SettingKey::AnalyzeBeforeRebuild => Setting::AnalyzeBeforeRebuild(boolean(text)?),
            SettingKey::InitialBaseline => Setting::InitialBaseline(text.parse()?),
            SettingKey::ConfirmSizeThreshold => Setting::ConfirmSizeThreshold(off_or(text, size)?),
            SettingKey::LockTimeout => Setting::LockTimeout(lock_timeout(text)?),
            SettingKey::MaxBlockerAge => Setting::MaxBlockerAge(positive_duration(
                text,
                "defer every rebuild behind any transaction",
            )?),
            SettingKey::MaxRebuildWait => Setting::MaxRebuildWait(positive_duration(
                text,
                "cancel every rebuild at its first wait",
            )?),
            SettingKey::QuarantineAfter => Setting::QuarantineAfter(whole_number(text, 1..=1000)?),
            SettingKey::MaintenanceWorkMem => Setting::MaintenanceWorkMem(work_mem(text)?),
            SettingKey::MaxRebuildMaintenanceWorkMem => {
                Setting::MaxRebuildMaintenanceWorkMem(work_mem(text)?)
            }
            SettingKey::MaxParallelMaintenanceWorkers => {
                Setting::MaxParallelMaintenanceWorkers(whole_number(text, 0..=1024)?)
            }
            SettingKey::MaxRebuildsPerServer => {
                Setting::MaxRebuildsPerServer(whole_number(text, 1..=64)?)
            }
            SettingKey::MaxAutomaticIndexSize => {
                Setting::MaxAutomaticIndexSize(off_or(text, size)?)
            }
            SettingKey::MaxReplicaLag => Setting::MaxReplicaLag(off_or(text, |text| {
                positive_duration(text, "defer every rebuild behind any standby (use off)")
            })?),
            SettingKey::MaxReplicaLagBytes => Setting::MaxReplicaLagBytes(off_or(text, size)?),
            SettingKey::MaxSlotRetainedWal => Setting::MaxSlotRetainedWal(off_or(text, size)?),
            SettingKey::WraparoundDangerAge => {
                Setting::WraparoundDangerAge(whole_number(text, WRAPAROUND_DANGER_AGES)?)
            }
            SettingKey::MinFreeStorage => Setting::MinFreeStorage(size(text)?),
            SettingKey::MaxInspectSize => Setting::MaxInspectSize(size(text)?),
            SettingKey::MaxInspectTime => Setting::MaxInspectTime(positive_duration(
                text,
                "leave our own reads without a time limit",
            )?),
            // PostgreSQL parses intervals; it is checked where it is used.
            SettingKey::ReindexHistoryRetentionPeriod if text.trim().is_empty() => {
                return Err("an empty interval".into())
            }
            SettingKey::ReindexHistoryRetentionPeriod => {
                Setting::ReindexHistoryRetentionPeriod(text.trim().to_owned())
            }
        })
    }
}

/// index_rebuild_scale_factor, the bloat that makes a candidate: at 1 or below
/// every index would be one.
fn scale_factor(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor > 1.0 => Ok(factor),
        _ => Err(format!("{text:?} is not a factor greater than 1 (e.g. 2)")),
    }
}

/// lock_timeout, which the rebuild session sets in milliseconds (an int4).
fn lock_timeout(text: &str) -> Result<Duration, String> {
    match positive_duration(text, "let a reindex wait forever")? {
        d if d.as_millis() <= u128::from(GUC_INT_MAX) => Ok(d),
        _ => Err(format!(
            "{text:?} is above {GUC_INT_MAX} ms, the largest lock_timeout PostgreSQL accepts"
        )),
    }
}

/// Where a rule came from, for reports and tie-breaks.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Row(i64),
    BuiltIn(&'static str),
}

/// The resolved settings of one index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSettings {
    pub(crate) index_size_threshold: u64,
    pub(crate) rebuild_scale_factor: f64,
    pub(crate) minimum_reliable_index_size: u64,
    pub(crate) lock_timeout: Duration,
    pub(crate) max_blocker_age: Duration,
    pub(crate) max_rebuild_wait: Duration,
    pub(crate) quarantine_after: u32,
    /// For the rebuild session; `None`: the server's.
    pub(crate) maintenance_work_mem: Option<u64>,
    /// What an HNSW rebuild's session may raise maintenance_work_mem to.
    pub(crate) max_rebuild_maintenance_work_mem: u64,
    pub(crate) max_parallel_maintenance_workers: Option<u32>,
    pub(crate) max_rebuilds_per_server: u32,
    /// Above this, an index that fits no invocation is not started automatically.
    pub(crate) max_automatic_index_size: Option<u64>,
    /// `Some(origin)` when the index must never be touched.
    pub skip: Option<Origin>,
    pub(crate) initial_baseline: InitialBaseline,
    /// Candidates at or above this size are confirmed before a rebuild; `None`: none.
    pub(crate) confirm_size_threshold: Option<u64>,
    pub(crate) analyze_before_rebuild: bool,
    /// Replication limits; `None`: that check is off.
    pub(crate) max_replica_lag: Option<Duration>,
    pub(crate) max_replica_lag_bytes: Option<u64>,
    pub(crate) max_slot_retained_wal: Option<u64>,
    pub(crate) wraparound_danger_age: u32,
    pub(crate) min_free_storage: u64,
    /// pgstattuple and pgstatindex read only indexes up to this size.
    pub(crate) max_inspect_size: u64,
    /// The statement_timeout of each whole-index read and ANALYZE.
    pub(crate) max_inspect_time: Duration,
    /// A row naming this index's schema, table or index that cannot be read (its id
    /// and why): nothing is done to the index until it is fixed.
    pub(crate) invalid_row: Option<(i64, String)>,
}

impl IndexSettings {
    pub(super) fn apply(&mut self, setting: &Setting, origin: &Origin) {
        match setting {
            Setting::IndexSizeThreshold(bytes) => self.index_size_threshold = *bytes,
            Setting::IndexRebuildScaleFactor(f) => self.rebuild_scale_factor = *f,
            Setting::MinimumReliableIndexSize(bytes) => self.minimum_reliable_index_size = *bytes,
            Setting::LockTimeout(d) => self.lock_timeout = *d,
            Setting::MaxBlockerAge(d) => self.max_blocker_age = *d,
            Setting::MaxRebuildWait(d) => self.max_rebuild_wait = *d,
            Setting::QuarantineAfter(n) => self.quarantine_after = *n,
            Setting::MaintenanceWorkMem(bytes) => self.maintenance_work_mem = Some(*bytes),
            Setting::MaxRebuildMaintenanceWorkMem(bytes) => {
                self.max_rebuild_maintenance_work_mem = *bytes
            }
            Setting::MaxParallelMaintenanceWorkers(n) => {
                self.max_parallel_maintenance_workers = Some(*n)
            }
            Setting::MaxRebuildsPerServer(n) => self.max_rebuilds_per_server = *n,
            Setting::MaxAutomaticIndexSize(bytes) => self.max_automatic_index_size = *bytes,
            Setting::Skip(skip) => self.skip = skip.then(|| origin.clone()),
            Setting::InitialBaseline(policy) => self.initial_baseline = *policy,
            Setting::ConfirmSizeThreshold(size) => self.confirm_size_threshold = *size,
            Setting::AnalyzeBeforeRebuild(on) => self.analyze_before_rebuild = *on,
            Setting::MaxReplicaLag(lag) => self.max_replica_lag = *lag,
            Setting::MaxReplicaLagBytes(bytes) => self.max_replica_lag_bytes = *bytes,
            Setting::MaxSlotRetainedWal(bytes) => self.max_slot_retained_wal = *bytes,
            Setting::WraparoundDangerAge(age) => self.wraparound_danger_age = *age,
            Setting::MinFreeStorage(bytes) => self.min_free_storage = *bytes,
            Setting::MaxInspectSize(bytes) => self.max_inspect_size = *bytes,
            Setting::MaxInspectTime(d) => self.max_inspect_time = *d,
            Setting::ReindexHistoryRetentionPeriod(_) => {}
        }
    }
}

impl Default for IndexSettings {
    /// The defaults of [`SettingKey::default_value`]; `defaults_parse` checks they match.
    fn default() -> Self {
        IndexSettings {
            index_size_threshold: 10 << 20,
            rebuild_scale_factor: 2.0,
            minimum_reliable_index_size: 128 << 10,
            lock_timeout: Duration::from_secs(60),
            max_blocker_age: Duration::from_secs(5 * 60),
            max_rebuild_wait: Duration::from_secs(2 * 60),
            quarantine_after: 3,
            maintenance_work_mem: None,
            max_rebuild_maintenance_work_mem: 1 << 30,
            max_parallel_maintenance_workers: None,
            max_rebuilds_per_server: 1,
            max_automatic_index_size: Some(10 << 30),
            skip: None,
            initial_baseline: InitialBaseline::Estimate,
            confirm_size_threshold: Some(100 << 20),
            analyze_before_rebuild: true,
            max_replica_lag: Some(Duration::from_secs(60)),
            max_replica_lag_bytes: Some(1 << 30),
            max_slot_retained_wal: Some(10 << 30),
            wraparound_danger_age: 1_500_000_000,
            min_free_storage: 5 << 30,
            max_inspect_size: 10 << 30,
            max_inspect_time: Duration::from_secs(60),
            invalid_row: None,
        }
    }
}
