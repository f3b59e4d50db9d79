use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::bound::log_len;
use super::*;
use crate::domain::blocker::{Hold, Session};
use crate::domain::plan::CandidateReason;

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

#[test]
fn long_lists_are_cut_to_the_cap_largest_first_with_what_was_left_out() {
    let mut target = TargetReport::new("regression", None);
    target.scanned = 1400;
    target.candidates = 120;
    // Sizes in a scrambled order (7919 is prime to 1000): every size once.
    let size = |i: usize| ((i * 7919) % 1000 + 1) as u64 * MB;
    target.left_alone = (0..1000).map(|i| estimate(i, size(i))).collect();
    target.deferred = (0..500).map(deferred).collect();
    target.plan = (0..120).map(|i| planned(i, size(i))).collect();
    let bounded = report(vec![target]).bounded();

    let target = &bounded.targets[0];
    assert_eq!(target.left_alone.len(), MAX_LIST_ENTRIES);
    // The largest 50 sizes, in the order the list had.
    let mut sizes: Vec<u64> = target.left_alone.iter().map(|e| e.size_bytes).collect();
    let kept = names(&target.left_alone, |e| &e.index);
    let mut in_list_order = kept.clone();
    in_list_order.sort();
    assert_eq!(kept, in_list_order);
    sizes.sort_unstable();
    let largest: Vec<u64> = (951..=1000).map(|s| s * MB).collect();
    assert_eq!(sizes, largest);
    // No sizes: the first entries. The plan keeps the order a run takes it.
    assert_eq!(
        names(&target.deferred, |d| &d.index),
        (0..MAX_LIST_ENTRIES).map(name).collect::<Vec<_>>()
    );
    assert_eq!(
        names(&target.plan, |p| &p.index),
        (0..MAX_LIST_ENTRIES).map(name).collect::<Vec<_>>()
    );
    assert_eq!(
        target.omitted,
        BTreeMap::from([("deferred", 450), ("left_alone", 950), ("plan", 70)])
    );
    // The counts stay those of the whole database.
    assert_eq!((target.scanned, target.candidates), (1400, 120));

    let json = serde_json::to_value(&bounded).unwrap();
    assert_eq!(
        json["targets"][0]["omitted"],
        json!({"deferred": 450, "left_alone": 950, "plan": 70})
    );
    assert_eq!(bounded.notes.len(), 1);
    let note = &bounded.notes[0];
    for view in [
        "index_pilot.current_bloat",
        "index_pilot.history",
        "index_pilot.quarantined",
    ] {
        assert!(note.contains(view), "{note}");
    }
    assert!(note.contains("cut to 50 entries per target"), "{note}");
}

#[test]
fn nothing_is_cut_under_the_cap() {
    let bounded = report(vec![full_target("orders", MAX_LIST_ENTRIES)]).bounded();
    let target = &bounded.targets[0];
    assert!(target.omitted.is_empty());
    assert_eq!(target.left_alone.len(), MAX_LIST_ENTRIES);
    assert_eq!(target.deferred.len(), MAX_LIST_ENTRIES);
    assert!(bounded.notes.is_empty());
    let json = serde_json::to_value(&bounded).unwrap();
    assert!(json["targets"][0].get("omitted").is_none());
    assert!(json.get("notes").is_none());
}

#[test]
fn an_uncut_report_keeps_its_json() {
    let mut busy = full_target("orders", 3);
    busy.reindexed[0].adopted = true;
    busy.reindexed[1].note = Some("after the swap: the old index was kept".to_owned());
    busy.plan[2].toast_of = Some("public.orders".to_owned());
    let mut skipped = TargetReport::new("standby", None);
    skipped.skip("the server is a standby");
    let mut baseline = TargetReport::new("fresh", None);
    baseline.baselines_set = Some(12);
    let mut original = report(vec![busy, skipped, baseline]);
    original.notes.push("hop cap 10 reached".to_owned());

    let before = serde_json::to_string(&original).unwrap();
    let after = serde_json::to_string(&original.bounded()).unwrap();
    assert_eq!(after, before);
    let value: Value = serde_json::from_str(&after).unwrap();
    assert!(value["targets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("omitted").is_none()));
}

#[test]
fn a_report_of_300_targets_stays_under_the_byte_limit() {
    let targets = (0..300)
        .map(|t| full_target(&format!("shard-{t:03}"), 80))
        .collect();
    let bounded = report(targets).bounded();

    assert_eq!(bounded.targets.len(), 300);
    // What the handler's log line holds: the report as one escaped JSON string.
    let logged = serde_json::to_string(&serde_json::to_string(&bounded).unwrap()).unwrap();
    assert!(logged.len() <= MAX_REPORT_BYTES, "{} bytes", logged.len());
    assert_eq!(log_len(&bounded), logged.len());
    for target in &bounded.targets {
        assert_eq!(target.plan.len() + target.omitted["plan"], 80);
        assert_eq!(target.deferred.len() + target.omitted["deferred"], 80);
        assert_eq!(target.left_alone.len() + target.omitted["left_alone"], 80);
    }
    // The cap shrank below the default, and the one note says so.
    assert!(bounded.targets[0].plan.len() < MAX_LIST_ENTRIES);
    assert_eq!(bounded.notes.len(), 1);
    assert!(
        bounded.notes[0].contains("to keep the report under 200 kB"),
        "{}",
        bounded.notes[0]
    );
}

#[test]
fn one_target_with_every_list_full_fits_at_the_default_cap() {
    let bounded = report(vec![full_target("orders", 1000)]).bounded();
    let target = &bounded.targets[0];
    assert_eq!(target.omitted.len(), 9);
    assert!(target
        .omitted
        .values()
        .all(|&n| n == 1000 - MAX_LIST_ENTRIES));
    assert!(bounded.notes[0].starts_with("lists are cut to 50 entries per target"));
    assert!(log_len(&bounded) <= MAX_REPORT_BYTES);
}

#[test]
fn omitted_names_the_lists_of_the_report() {
    let bounded = report(vec![full_target("orders", 3)]).bounded_to(1, MAX_REPORT_BYTES);
    let json = serde_json::to_value(&bounded).unwrap();
    let target = json["targets"][0].as_object().unwrap();
    let omitted = target["omitted"].as_object().unwrap();
    assert_eq!(omitted.len(), 9);
    for (list, count) in omitted {
        assert_eq!(target[list].as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(count, 2);
    }
}

#[test]
fn cutting_again_keeps_the_largest_and_adds_up() {
    let mut target = TargetReport::new("orders", None);
    let size = |i: usize| ((i * 37) % 100 + 1) as u64 * MB;
    target.left_alone = (0..100).map(|i| estimate(i, size(i))).collect();
    let once = report(vec![target.clone()]).bounded_to(20, MAX_REPORT_BYTES);
    let twice = once.bounded_to(10, MAX_REPORT_BYTES);
    let direct = report(vec![target]).bounded_to(10, MAX_REPORT_BYTES);
    assert_eq!(
        names(&twice.targets[0].left_alone, |e| &e.index),
        names(&direct.targets[0].left_alone, |e| &e.index)
    );
    assert_eq!(
        twice.targets[0].omitted,
        BTreeMap::from([("left_alone", 90)])
    );
}

#[test]
fn leftovers_of_unknown_size_go_before_any_of_known_size() {
    let mut target = TargetReport::new("orders", None);
    target.leftovers = vec![
        leftover(0, None),
        leftover(1, Some(MB)),
        leftover(2, Some(3 * MB)),
        leftover(3, None),
        leftover(4, Some(2 * MB)),
    ];
    let bounded = report(vec![target]).bounded_to(3, MAX_REPORT_BYTES);
    let sizes: Vec<_> = bounded.targets[0]
        .leftovers
        .iter()
        .map(|l| l.size_bytes)
        .collect();
    assert_eq!(sizes, vec![Some(MB), Some(3 * MB), Some(2 * MB)]);
}

#[test]
fn a_report_too_large_even_without_lists_says_so() {
    let targets = (0..20).map(|t| full_target(&format!("t{t}"), 5)).collect();
    let bounded = report(targets).bounded_to(50, 2048);
    let target = &bounded.targets[0];
    assert!(target.plan.is_empty() && target.deferred.is_empty());
    assert!(target.omitted.values().all(|&n| n == 5));
    assert_eq!(bounded.notes.len(), 1);
    assert!(
        bounded.notes[0].starts_with(
            "the report is larger than 2048 bytes even with every per-index list left out"
        ),
        "{}",
        bounded.notes[0]
    );
}

#[test]
fn the_log_length_counts_escapes() {
    let mut target = TargetReport::new("weird", None);
    target.deferred.push(Deferred {
        index: r#"public."Weird ""Name"" \ ünï""#.to_owned(),
        kind: DeferralKind::Changed,
        reason: "line one\nline two\ttab".to_owned(),
        blocker: None,
        hazard: None,
    });
    let report = report(vec![target]);
    let logged = serde_json::to_string(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(log_len(&report), logged.len());
}

#[test]
fn the_text_of_a_dry_run_lists_the_plan_in_order_once_with_sizes() {
    let mut target = TargetReport::new("orders", Some("shop".to_owned()));
    target.scanned = 40;
    target.candidates = 2;
    target.plan = vec![planned(2, 24 * MB), planned(1, 12 * MB)];
    target.left_alone = vec![estimate(3, 11 * MB)];
    target.defer(
        &name(4),
        crate::domain::deferral::DeferralKind::Time,
        "needs about 2 min, 1 min left in this invocation",
    );
    let shown = text::render(&[report(vec![target])]);
    let first = shown.find(&name(2)).expect(&shown);
    let second = shown.find(&name(1)).expect(&shown);
    assert!(first < second, "not in the order taken:\n{shown}");
    // The index a run would leave alone is named, once, after the plan.
    let alone = shown
        .find("1 index at or above the size threshold, not bloated enough to rebuild:")
        .expect(&shown);
    assert_eq!(shown.matches(&name(3)).count(), 1, "{shown}");
    assert!(
        shown.find(&name(3)).expect(&shown) > alone.max(second),
        "{shown}"
    );
    assert!(shown.contains("orders, database shop: ok"), "{shown}");
    assert!(shown.contains("24 MB") && shown.contains("12 MB") && shown.contains("2.50×"));
    assert!(shown.contains("needs about 2 min"), "{shown}");
    // Each candidate's predicted rebuild, and where its rate came from.
    assert!(shown.contains("2.4 s (default)"), "{shown}");
    assert!(
        shown.contains("a run would rebuild 2 indexes, expected saving 18 MB"),
        "{shown}"
    );
}

#[test]
fn the_text_of_a_run_shows_each_rebuild_before_and_after() {
    let mut target = TargetReport::new("orders", None);
    target.reindexed.push(Reindexed {
        index: "public.\"Weird \"\"Name\"\"\"".to_owned(),
        table: "public.orders".to_owned(),
        toast_of: None,
        access_method: "btree".to_owned(),
        size_before: 12 * MB,
        size_after: 5 * MB,
        estimated_bloat_before: Some(2.4),
        duration_ms: 3_400,
        blocked_ms: 1_200,
        adopted: false,
        note: None,
        session: None,
        server_messages: Vec::new(),
    });
    let mut run = report(vec![target]);
    run.mode = Mode::Run;
    let shown = text::render(&[run]);
    let line = shown.lines().find(|l| l.contains("Weird")).expect(&shown);
    for part in [
        "btree",
        "12 MB",
        "5120 kB",
        "7168 kB",
        "2.40×",
        "3.4 s (1.2 s blocked)",
    ] {
        assert!(line.contains(part), "{part} not in {line:?}");
    }
    assert!(
        shown.contains("rebuilt 1 index: 12 MB → 5120 kB, saved 7168 kB, in 3.4 s (1.2 s blocked)"),
        "{shown}"
    );
}

#[test]
fn a_rebuild_shows_its_session_and_what_the_server_said() {
    let mut target = TargetReport::new("vectors", None);
    let mut hnsw = reindexed(1, 12 * MB);
    hnsw.access_method = "hnsw".to_owned();
    hnsw.session = Some(SessionUsed {
        maintenance_work_mem: "40MB".to_owned(),
        maintenance_work_mem_raised_from: Some("1MB".to_owned()),
        max_parallel_maintenance_workers: None,
    });
    hnsw.server_messages = vec![ServerMessage {
        severity: "NOTICE".to_owned(),
        code: "00000".to_owned(),
        message: "hnsw graph no longer fits into maintenance_work_mem after 100 tuples".to_owned(),
        detail: None,
    }];
    target.reindexed.push(hnsw);
    let json = serde_json::to_value(&target).unwrap();
    assert_eq!(
        json["reindexed"][0]["session"],
        json!({"maintenance_work_mem": "40MB", "maintenance_work_mem_raised_from": "1MB"})
    );
    assert_eq!(json["reindexed"][0]["server_messages"][0]["code"], "00000");
    let mut run = report(vec![target]);
    run.mode = Mode::Run;
    let shown = text::render(&[run]);
    assert!(
        shown.contains("ran with maintenance_work_mem 40MB (raised from 1MB)"),
        "{shown}"
    );
    assert!(
        shown.contains("the server said NOTICE: hnsw graph no longer fits"),
        "{shown}"
    );
}
