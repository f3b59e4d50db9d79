//! The server's replication, judged before a rebuild: a rebuild writes about its
//! index's size in WAL, which every standby must replay and every replication slot
//! keeps until its consumer has it.

use std::time::Duration;

use serde::Serialize;

use super::Hazard;

/// A WAL sender of a standby, as `pg_stat_replication` shows it (logical
/// subscribers are judged by their slots).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standby {
    pub application_name: Option<String>,
    pub(crate) client_addr: Option<String>,
    /// `streaming`, `catchup`, …; `None` when this role may not see it
    /// (`pg_read_all_stats`).
    pub(crate) state: Option<String>,
    /// `async`, `potential`, `sync`, `quorum`.
    pub(crate) sync_state: Option<String>,
    #[serde(rename = "replay_lag_s", serialize_with = "seconds")]
    pub(crate) replay_lag: Option<Duration>,
    pub(crate) replay_lag_bytes: Option<u64>,
}

fn seconds<S: serde::Serializer>(lag: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match lag {
        Some(lag) => s.serialize_f64((lag.as_secs_f64() * 10.0).round() / 10.0),
        None => s.serialize_none(),
    }
}

impl Standby {
    /// `"replica1" (client 10.0.0.5, async)`.
    pub(crate) fn describe(&self) -> String {
        let name = self.application_name.as_deref().filter(|n| !n.is_empty());
        let mut facts = Vec::new();
        if let Some(client) = &self.client_addr {
            facts.push(format!("client {client}"));
        }
        if let Some(sync_state) = &self.sync_state {
            facts.push(sync_state.clone());
        }
        let name = name.map_or_else(|| "a standby".to_owned(), |n| format!("standby {n:?}"));
        if facts.is_empty() {
            name
        } else {
            format!("{name} ({})", facts.join(", "))
        }
    }

    fn visible(&self) -> bool {
        self.state.is_some()
    }

    /// Counts toward `synchronous_standby_names`.
    fn is_synchronous(&self) -> bool {
        self.state.as_deref() == Some("streaming")
            && matches!(self.sync_state.as_deref(), Some("sync" | "quorum"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    Physical,
    Logical,
}

/// A replication slot, as `pg_replication_slots` shows it (to every role).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    pub name: String,
    pub kind: SlotKind,
    pub active: bool,
    /// The WAL it keeps: from its `restart_lsn` to the current position.
    pub(crate) retained_bytes: Option<u64>,
    /// How much more WAL it may keep before `max_slot_wal_keep_size` invalidates it;
    /// `None`: no such limit.
    pub(crate) safe_wal_bytes: Option<i64>,
    /// Already invalidated (`wal_status = 'lost'`): it keeps nothing.
    pub(crate) lost: bool,
}

impl Slot {
    pub(super) fn describe(&self) -> String {
        let kind = match self.kind {
            SlotKind::Physical => "physical",
            SlotKind::Logical => "logical",
        };
        let active = if self.active { "active" } else { "inactive" };
        format!("replication slot {:?} ({kind}, {active})", self.name)
    }
}

/// An Aurora reader, as `aurora_replica_status()` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuroraReplica {
    pub server_id: String,
    #[serde(rename = "lag_ms", serialize_with = "millis")]
    pub(crate) lag: Option<Duration>,
}

fn millis<S: serde::Serializer>(lag: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match lag {
        Some(lag) => s.serialize_u64(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

/// What `synchronous_standby_names` asks for: how many synchronous standbys every
/// commit waits for (0: none).
pub(crate) fn synchronous_standbys_required(names: &str, synchronous_commit: &str) -> u32 {
    let names = names.trim();
    if names.is_empty() || matches!(synchronous_commit.trim(), "off" | "local") {
        return 0;
    }
    // `FIRST n (…)`, `ANY n (…)`, `n (…)`, or a plain list (FIRST 1).
    let upper = names.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("FIRST")
        .or_else(|| upper.strip_prefix("ANY"))
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .unwrap_or(&upper)
        .trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let followed_by_list = rest[digits.len()..].trim_start().starts_with('(');
    match digits.parse::<u32>() {
        Ok(n) if followed_by_list => n,
        _ => 1,
    }
}

/// The replication of a primary, as one look sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Replication {
    pub(crate) standbys: Vec<Standby>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) aurora_replicas: Vec<AuroraReplica>,
    /// Synchronous standbys every commit waits for.
    pub(crate) synchronous_required: u32,
    /// `synchronous_standby_names` as set, for the report.
    pub(crate) synchronous_names: String,
}

/// The limits in force; `None`: that check is off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ReplicationLimits {
    pub(crate) max_lag: Option<Duration>,
    pub(crate) max_lag_bytes: Option<u64>,
    pub(crate) max_slot_retained: Option<u64>,
}

impl Replication {
    /// What makes a rebuild that writes about `wal_bytes` of WAL harmful now, the
    /// first found: a standby (or Aurora reader) that lags, a standby whose lag this
    /// role cannot see, synchronous standbys missing (every commit would wait), a
    /// slot that would keep too much WAL or be invalidated.
    pub(crate) fn hazard(&self, limits: &ReplicationLimits, wal_bytes: u64) -> Option<Hazard> {
        self.standby_hazard(limits)
            .or_else(|| self.synchronous_hazard())
            .or_else(|| self.slot_hazard(limits, wal_bytes))
    }

    fn standby_hazard(&self, limits: &ReplicationLimits) -> Option<Hazard> {
        let lag_checked = limits.max_lag.is_some() || limits.max_lag_bytes.is_some();
        if !lag_checked {
            return None;
        }
        let unseen = self.standbys.iter().filter(|s| !s.visible()).count();
        if unseen > 0 {
            return Some(Hazard::StandbysUnseen { count: unseen });
        }
        let too_late = |lag: Option<Duration>| {
            lag.zip(limits.max_lag)
                .is_some_and(|(lag, limit)| lag > limit)
        };
        let too_far = |bytes: Option<u64>| {
            bytes
                .zip(limits.max_lag_bytes)
                .is_some_and(|(bytes, limit)| bytes > limit)
        };
        if let Some(standby) = self
            .standbys
            .iter()
            .find(|s| too_late(s.replay_lag) || too_far(s.replay_lag_bytes))
        {
            return Some(Hazard::StandbyLag {
                standby: standby.clone(),
                max_lag: limits.max_lag,
                max_lag_bytes: limits.max_lag_bytes,
            });
        }
        self.aurora_replicas
            .iter()
            .find(|r| too_late(r.lag))
            .map(|replica| Hazard::AuroraReplicaLag {
                replica: replica.clone(),
                max_lag: limits.max_lag,
            })
    }

    fn synchronous_hazard(&self) -> Option<Hazard> {
        let streaming = self.standbys.iter().filter(|s| s.is_synchronous()).count();
        let streaming = u32::try_from(streaming).unwrap_or(u32::MAX);
        (streaming < self.synchronous_required).then(|| Hazard::SynchronousStandbysMissing {
            required: self.synchronous_required,
            streaming,
            names: self.synchronous_names.clone(),
        })
    }

    fn slot_hazard(&self, limits: &ReplicationLimits, wal_bytes: u64) -> Option<Hazard> {
        let live = self.slots.iter().filter(|slot| !slot.lost);
        for slot in live {
            let would_be_lost = slot
                .safe_wal_bytes
                .is_some_and(|safe| i128::from(safe) < i128::from(wal_bytes));
            if would_be_lost {
                return Some(Hazard::SlotWouldBeLost {
                    slot: slot.clone(),
                    rebuild_wal_bytes: wal_bytes,
                });
            }
            let retained = slot.retained_bytes.unwrap_or(0);
            if let Some(limit) = limits.max_slot_retained {
                if retained.saturating_add(wal_bytes) > limit {
                    return Some(Hazard::SlotRetains {
                        slot: slot.clone(),
                        rebuild_wal_bytes: wal_bytes,
                        limit,
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
