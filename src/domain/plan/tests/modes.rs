//! What each mode takes (baseline, force, reindex), and what holds against every
//! mode: locks and quarantine.

use super::*;

#[test]
fn baseline_mode_seeds_and_takes_nothing() {
    let settings = Settings::from_rows(&[]).unwrap();
    let indexes = vec![
        with_oid(1, btree("public", "t", "a", 40 * MB, 400_000.0)),
        with_oid(2, btree("public", "t", "tiny", 8 << 10, 10.0)),
    ];
    let selection = Selection {
        mode: Mode::Baseline,
        ..run()
    };
    let assessed = assess(
        indexes,
        known(&stored_with(HashMap::from([(1, 10.0)]), HashSet::new())),
        &settings,
        HERE,
        PG15,
        selection,
    );
    // A baseline already there stays: `reseed` replaces it (below).
    assert_eq!(assessed[0].best_ratio, Some(10.0));
    assert_eq!(assessed[1].best_ratio, None);
}

#[test]
fn force_ignores_thresholds_but_not_skip_or_eligibility() {
    let rows = [SettingRow {
        id: 1,
        scope: Scope {
            index: Some("skipped".into()),
            ..Default::default()
        },
        key: "skip".into(),
        value: "true".into(),
    }];
    let settings = Settings::from_rows(&rows).unwrap();
    let small = btree("public", "t", "small", MB, 1000.0);
    let skipped = btree("public", "t", "skipped", 40 * MB, 1000.0);
    let brin = IndexInfo {
        access_method: "brin".into(),
        ..btree("public", "t", "brin", 40 * MB, 1000.0)
    };
    for (index, expected) in [
        (small, Verdict::Candidate(CandidateReason::Forced)),
        (skipped, Verdict::Skipped(Origin::Row(1))),
        (brin, Verdict::Ineligible(Ineligible::Brin)),
    ] {
        let name = index.name.clone();
        let selection = Selection {
            mode: Mode::Reindex,
            only: Some(&name),
            force: true,
            reseed: false,
        };
        let assessed = assess(
            vec![index],
            known(&nothing_known()),
            &settings,
            HERE,
            PG15,
            selection,
        );
        assert_eq!(assessed[0].verdict, expected);
    }
}

#[test]
fn reindex_mode_selects_one_index() {
    let settings = Settings::from_rows(&[]).unwrap();
    let wanted = QualifiedName::new("public", "b");
    let selection = Selection {
        mode: Mode::Reindex,
        only: Some(&wanted),
        force: false,
        reseed: false,
    };
    let indexes = vec![
        with_oid(1, btree("public", "t", "a", 40 * MB, 1000.0)),
        with_oid(2, btree("public", "t", "b", 40 * MB, 1000.0)),
    ];
    let assessed = assess(
        indexes,
        known(&nothing_known()),
        &settings,
        HERE,
        PG15,
        selection,
    );
    assert_eq!(assessed[0].verdict, Verdict::NotSelected);
    assert_eq!(assessed[1].verdict, Verdict::AwaitingEstimate);
}

#[test]
fn locked_indexes_are_deferred_and_keep_their_baseline() {
    let settings = Settings::from_rows(&[]).unwrap();
    let locked = IndexInfo {
        locked_by: Some(4242),
        size_bytes: 0,
        ..with_oid(5, btree("public", "t", "locked", 0, 1000.0))
    };
    let stored = stored_with(HashMap::from([(5, 33.0)]), HashSet::new());
    let assessed = assess(vec![locked], known(&stored), &settings, HERE, PG15, run());
    assert_eq!(assessed[0].verdict, Verdict::Locked(4242));
    assert_eq!(assessed[0].best_ratio, Some(33.0));
    assert_eq!(assessed[0].bloat, None);
    assert!(assessed[0].deferral().unwrap().contains("pid 4242"));
}

#[test]
fn quarantine_holds_even_against_force() {
    let settings = Settings::from_rows(&[]).unwrap();
    let index = with_oid(6, btree("public", "t", "q", 40 * MB, 1000.0));
    let name = index.name.clone();
    let stored = stored_with(HashMap::new(), HashSet::from([6]));
    let selection = Selection {
        mode: Mode::Reindex,
        only: Some(&name),
        force: true,
        reseed: false,
    };
    let assessed = assess(
        vec![index],
        known(&stored),
        &settings,
        HERE,
        PG15,
        selection,
    );
    assert_eq!(assessed[0].verdict, Verdict::Quarantined);
    assert!(assessed[0].why_not().contains("quarantined"));
}

#[test]
fn baseline_mode_seeds_what_has_none_unless_told_to_reseed() {
    let settings = Settings::from_rows(&[]).unwrap();
    let indexes = || {
        vec![
            with_oid(1, btree("public", "t", "has", 40 * MB, 400_000.0)),
            with_oid(2, btree("public", "t", "hasnt", 40 * MB, 400_000.0)),
        ]
    };
    let stored = stored_with(HashMap::from([(1, 50.0)]), HashSet::new());
    let baseline = Selection {
        mode: Mode::Baseline,
        ..run()
    };
    let seeded = assess(indexes(), known(&stored), &settings, HERE, PG15, baseline);
    // 104.9 B/tuple now: the stored 50 stays (it only ratchets down), 2 is seeded.
    assert_eq!(seeded[0].best_ratio, Some(50.0));
    assert_eq!(seeded[0].seeded, None);
    assert_eq!(seeded[1].seeded, Some(BaselineSource::Accepted));
    let reseed = Selection {
        reseed: true,
        ..baseline
    };
    let reseeded = assess(indexes(), known(&stored), &settings, HERE, PG15, reseed);
    assert!((reseeded[0].best_ratio.unwrap() - 104.8576).abs() < 0.001);
    assert_eq!(reseeded[0].seeded, Some(BaselineSource::Accepted));
}
