use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::bound::{log_len, MAX_LIST_ENTRIES, MAX_REPORT_BYTES};
use super::*;
use crate::domain::blocker::{Hold, Session};
use crate::domain::plan::CandidateReason;

mod bounds;
mod rendering;

const MB: u64 = 1 << 20;

fn report(targets: Vec<TargetReport>) -> Report {
    Report {
        complete: true,
        duration_ms: 1234,
        targets,
        ..Report::new(Mode::DryRun)
    }
}

fn name(i: usize) -> String {
    format!("public.orders_{i:04}_idx")
}

fn planned(i: usize, size_bytes: u64) -> PlannedIndex {
    PlannedIndex {
        index: name(i),
        table: "orders".to_owned(),
        toast_of: None,
        access_method: "btree".to_owned(),
        size_bytes,
        estimated_bloat: Some(2.5),
        expected_reclaim_bytes: size_bytes / 2,
        reason: CandidateReason::Bloated,
        predicted_duration_ms: 2_400,
        prediction_source: crate::domain::throughput::RateSource::Default,
    }
}

fn estimate(i: usize, size_bytes: u64) -> Estimate {
    Estimate {
        index: name(i),
        size_bytes,
        estimated_bloat: Some(1.25),
    }
}

fn blocker() -> Blocker {
    Blocker {
        session: Session {
            pid: Some(4242),
            user: Some("app".to_owned()),
            application: Some("psql".to_owned()),
            client_addr: Some("10.0.12.7".to_owned()),
            state: Some("idle in transaction".to_owned()),
            transaction_age: Duration::from_secs(7200),
            holds_snapshot: true,
            locks_table: false,
            prepared: false,
        },
        holds: Hold::Snapshot,
    }
}

fn deferred(i: usize) -> Deferred {
    Deferred {
        index: name(i),
        kind: DeferralKind::Blocker,
        reason: "not started: pid 4242 (app, psql) idle in transaction for 7200s holds a \
                 snapshot; REINDEX CONCURRENTLY would wait for it (max_blocker_age 600s)"
            .to_owned(),
        blocker: Some(blocker()),
        hazard: None,
    }
}

fn reindexed(i: usize, size_before: u64) -> Reindexed {
    Reindexed {
        index: name(i),
        table: "orders".to_owned(),
        toast_of: None,
        access_method: "btree".to_owned(),
        size_before,
        size_after: size_before / 2,
        estimated_bloat_before: Some(2.0),
        duration_ms: 1500,
        blocked_ms: 0,
        adopted: false,
        note: None,
        session: None,
        server_messages: Vec::new(),
    }
}

fn in_progress(i: usize) -> InProgress {
    InProgress {
        index: name(i),
        pid: 5000,
        phase: "building index: scanning table".to_owned(),
        percent_done: Some(42.5),
        running_ms: 60_000,
        blocked_ms: 0,
    }
}

fn failed(i: usize) -> Failed {
    Failed {
        index: name(i),
        error: "canceling statement due to lock timeout".to_owned(),
        sqlstate: Some("55P03".to_owned()),
        class: FailureClass::Blocked,
        quarantined: false,
        blocked_by: vec![blocker()],
        blocked_ms: 2_500,
        session: None,
        server_messages: Vec::new(),
    }
}

fn leftover(i: usize, size_bytes: Option<u64>) -> Leftover {
    Leftover {
        index: format!("{}_ccnew", name(i)),
        table: "orders".to_owned(),
        size_bytes,
        maintained_by_writes: true,
        ours: false,
        action: "not ours: reported only".to_owned(),
    }
}

fn quarantined(i: usize) -> Quarantined {
    Quarantined {
        index: name(i),
        table: "orders".to_owned(),
        since: "2025-01-01T03:00:00Z".to_owned(),
        sqlstate: Some("23505".to_owned()),
        error: "could not create unique index".to_owned(),
        failures: 1,
    }
}

/// A target with `n` entries in every list.
fn full_target(label: &str, n: usize) -> TargetReport {
    let mut target = TargetReport::new(label, Some("app".to_owned()));
    target.server_version = Some("15.20".to_owned());
    target.scanned = 3 * n;
    target.candidates = n;
    let size = |i: usize| (i as u64 + 1) * MB;
    target.plan = (0..n).map(|i| planned(i, size(i))).collect();
    target.left_alone = (0..n).map(|i| estimate(i, size(i))).collect();
    target.reindexed = (0..n).map(|i| reindexed(i, size(i))).collect();
    target.in_progress = (0..n).map(in_progress).collect();
    target.deferred = (0..n).map(deferred).collect();
    target.failed = (0..n).map(failed).collect();
    target.leftovers = (0..n).map(|i| leftover(i, Some(size(i)))).collect();
    target.quarantined = (0..n).map(quarantined).collect();
    target.vanished = (0..n).map(name).collect();
    target
}

fn names<T>(list: &[T], index: impl Fn(&T) -> &str) -> Vec<String> {
    list.iter().map(|e| index(e).to_owned()).collect()
}
