//! The report's bounds: long lists cut to the cap, largest first, with what was left
//! out; the whole report under the byte limit.

use super::*;

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
