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
    pub client_addr: Option<String>,
    /// `streaming`, `catchup`, …; `None` when this role may not see it
    /// (`pg_read_all_stats`).
    pub state: Option<String>,
    /// `async`, `potential`, `sync`, `quorum`.
    pub sync_state: Option<String>,
    #[serde(rename = "replay_lag_s", serialize_with = "seconds")]
    pub replay_lag: Option<Duration>,
    pub replay_lag_bytes: Option<u64>,
}

fn seconds<S: serde::Serializer>(lag: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match lag {
        Some(lag) => s.serialize_f64((lag.as_secs_f64() * 10.0).round() / 10.0),
        None => s.serialize_none(),
    }
}

impl Standby {
    /// `"replica1" (client 10.0.0.5, async)`.
    pub fn describe(&self) -> String {
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
    pub retained_bytes: Option<u64>,
    /// How much more WAL it may keep before `max_slot_wal_keep_size` invalidates it;
    /// `None`: no such limit.
    pub safe_wal_bytes: Option<i64>,
    /// Already invalidated (`wal_status = 'lost'`): it keeps nothing.
    pub lost: bool,
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
    pub lag: Option<Duration>,
}

fn millis<S: serde::Serializer>(lag: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match lag {
        Some(lag) => s.serialize_u64(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

/// What `synchronous_standby_names` asks for: how many synchronous standbys every
/// commit waits for (0: none).
pub fn synchronous_standbys_required(names: &str, synchronous_commit: &str) -> u32 {
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
pub struct Replication {
    pub standbys: Vec<Standby>,
    pub slots: Vec<Slot>,
    pub aurora_replicas: Vec<AuroraReplica>,
    /// Synchronous standbys every commit waits for.
    pub synchronous_required: u32,
    /// `synchronous_standby_names` as set, for the report.
    pub synchronous_names: String,
}

/// The limits in force; `None`: that check is off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicationLimits {
    pub max_lag: Option<Duration>,
    pub max_lag_bytes: Option<u64>,
    pub max_slot_retained: Option<u64>,
}

impl Replication {
    /// What makes a rebuild that writes about `wal_bytes` of WAL harmful now, the
    /// first found: a standby (or Aurora reader) that lags, a standby whose lag this
    /// role cannot see, synchronous standbys missing (every commit would wait), a
    /// slot that would keep too much WAL or be invalidated.
    pub fn hazard(&self, limits: &ReplicationLimits, wal_bytes: u64) -> Option<Hazard> {
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
mod tests {
    use super::*;
    use crate::domain::deferral::DeferralKind;

    const GB: u64 = 1 << 30;

    fn limits() -> ReplicationLimits {
        ReplicationLimits {
            max_lag: Some(Duration::from_secs(60)),
            max_lag_bytes: Some(GB),
            max_slot_retained: Some(10 * GB),
        }
    }

    fn standby(lag_s: u64, lag_bytes: u64) -> Standby {
        Standby {
            application_name: Some("replica1".into()),
            client_addr: Some("10.0.0.5".into()),
            state: Some("streaming".into()),
            sync_state: Some("async".into()),
            replay_lag: Some(Duration::from_secs(lag_s)),
            replay_lag_bytes: Some(lag_bytes),
        }
    }

    fn slot(name: &str, active: bool, retained: u64) -> Slot {
        Slot {
            name: name.into(),
            kind: SlotKind::Logical,
            active,
            retained_bytes: Some(retained),
            safe_wal_bytes: None,
            lost: false,
        }
    }

    fn with(standbys: Vec<Standby>, slots: Vec<Slot>) -> Replication {
        Replication {
            standbys,
            slots,
            ..Replication::default()
        }
    }

    #[test]
    fn a_standby_within_limits_is_no_hazard() {
        let replication = with(vec![standby(5, 1 << 20)], vec![slot("s", true, 1 << 20)]);
        assert_eq!(replication.hazard(&limits(), GB), None);
        assert_eq!(Replication::default().hazard(&limits(), 100 * GB), None);
    }

    #[test]
    fn a_standby_behind_in_time_or_bytes_holds_every_rebuild() {
        let late = with(vec![standby(61, 0)], vec![]);
        let hazard = late.hazard(&limits(), GB).unwrap();
        assert_eq!(hazard.kind(), DeferralKind::Replication);
        assert!(hazard.stops_the_rest());
        assert_eq!(
            hazard.describe(),
            "standby \"replica1\" (client 10.0.0.5, async) replays 1 min 01 s, 0 bytes behind (max_replica_lag 1 min 00 s, max_replica_lag_bytes 1024 MB)"
        );
        let far = with(vec![standby(0, GB + 1)], vec![]);
        assert!(far.hazard(&limits(), GB).is_some());
        // Each measure has its own switch.
        let time_only = ReplicationLimits {
            max_lag_bytes: None,
            ..limits()
        };
        assert_eq!(far.hazard(&time_only, GB), None);
        let off = ReplicationLimits {
            max_lag: None,
            max_lag_bytes: None,
            max_slot_retained: None,
        };
        assert_eq!(late.hazard(&off, GB), None);
    }

    #[test]
    fn a_standby_this_role_cannot_see_is_not_taken_for_a_healthy_one() {
        let hidden = Standby {
            state: None,
            sync_state: None,
            replay_lag: None,
            replay_lag_bytes: None,
            ..standby(0, 0)
        };
        let hazard = with(vec![hidden.clone()], vec![])
            .hazard(&limits(), GB)
            .unwrap();
        assert_eq!(hazard, Hazard::StandbysUnseen { count: 1 });
        assert!(hazard.describe().contains("GRANT pg_read_all_stats"));
        // Unless the lag checks are off.
        let off = ReplicationLimits {
            max_lag: None,
            max_lag_bytes: None,
            ..limits()
        };
        assert_eq!(with(vec![hidden], vec![]).hazard(&off, GB), None);
    }

    #[test]
    fn an_aurora_reader_that_lags_holds_every_rebuild() {
        let replication = Replication {
            aurora_replicas: vec![
                AuroraReplica {
                    server_id: "orders-2".into(),
                    lag: Some(Duration::from_millis(20)),
                },
                AuroraReplica {
                    server_id: "orders-3".into(),
                    lag: Some(Duration::from_secs(75)),
                },
            ],
            ..Replication::default()
        };
        let hazard = replication.hazard(&limits(), GB).unwrap();
        assert!(hazard.stops_the_rest());
        assert_eq!(
            hazard.describe(),
            "Aurora reader \"orders-3\" lags 1 min 15 s behind (max_replica_lag 1 min 00 s)"
        );
    }

    #[test]
    fn missing_synchronous_standbys_would_hold_every_commit() {
        let mut replication = with(vec![standby(0, 0)], vec![]);
        replication.synchronous_required = 1;
        replication.synchronous_names = "replica1".into();
        let hazard = replication.hazard(&limits(), GB).unwrap();
        assert_eq!(
            hazard.describe(),
            "synchronous_standby_names (\"replica1\") asks for 1 synchronous standby, and 0 standbys are streaming: every commit of the rebuild would wait"
        );
        replication.standbys[0].sync_state = Some("sync".into());
        assert_eq!(replication.hazard(&limits(), GB), None);
        // Streaming, not catching up.
        replication.standbys[0].state = Some("catchup".into());
        assert!(replication.hazard(&limits(), GB).is_some());
    }

    #[test]
    fn synchronous_standby_names_say_how_many_every_commit_waits_for() {
        assert_eq!(synchronous_standbys_required("", "on"), 0);
        assert_eq!(synchronous_standbys_required("s1, s2", "on"), 1);
        assert_eq!(synchronous_standbys_required("*", "remote_apply"), 1);
        assert_eq!(
            synchronous_standbys_required("FIRST 2 (s1, s2, s3)", "on"),
            2
        );
        assert_eq!(synchronous_standbys_required("any 3 (s1,s2,s3)", "on"), 3);
        assert_eq!(synchronous_standbys_required("2 (s1, s2)", "on"), 2);
        assert_eq!(synchronous_standbys_required("\"first\"", "on"), 1);
        assert_eq!(synchronous_standbys_required("first, second", "on"), 1);
        // Commits that do not wait for standbys.
        assert_eq!(synchronous_standbys_required("s1", "local"), 0);
        assert_eq!(synchronous_standbys_required("s1", "off"), 0);
    }

    #[test]
    fn a_slot_that_would_keep_too_much_defers_the_rebuild_that_would_tip_it() {
        let replication = with(vec![], vec![slot("dms", false, 9 * GB)]);
        assert_eq!(replication.hazard(&limits(), GB / 2), None);
        let hazard = replication.hazard(&limits(), 2 * GB).unwrap();
        assert!(!hazard.stops_the_rest(), "a smaller rebuild may still fit");
        assert_eq!(
            hazard.describe(),
            "replication slot \"dms\" (logical, inactive) keeps 9216 MB of WAL; with the about 2048 MB this rebuild writes it would keep more than max_slot_retained_wal (10 GB)"
        );
        let off = ReplicationLimits {
            max_slot_retained: None,
            ..limits()
        };
        assert_eq!(replication.hazard(&off, 2 * GB), None);
        // A slot already lost keeps nothing.
        let lost = Slot {
            lost: true,
            ..slot("old", false, 50 * GB)
        };
        assert_eq!(with(vec![], vec![lost]).hazard(&limits(), GB), None);
    }

    #[test]
    fn a_rebuild_that_would_invalidate_a_slot_waits() {
        let near_its_end = Slot {
            safe_wal_bytes: Some(512 << 20),
            kind: SlotKind::Physical,
            ..slot("replica1", true, 0)
        };
        let hazard = with(vec![], vec![near_its_end])
            .hazard(&limits(), GB)
            .unwrap();
        assert_eq!(
            hazard.describe(),
            "replication slot \"replica1\" (physical, active) may keep only 512 MB more WAL before max_slot_wal_keep_size invalidates it, and this rebuild writes about 1024 MB"
        );
    }
}
