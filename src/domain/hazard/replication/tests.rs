//! Replication's hazards on examples: standbys behind in time or bytes, readers
//! this role cannot see, synchronous standbys missing, slots that would keep too
//! much WAL.

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
