//! How an index is judged: bloated, healthy, unknown or too small; statistics,
//! estimates and the first scan's baseline.

use super::*;

#[test]
fn bloated_healthy_unknown_and_small() {
    let settings = Settings::from_rows(&[]).unwrap();
    let indexes = vec![
        with_oid(1, btree("public", "t", "bloated", 40 * MB, 400_000.0)), // 104.9 B/tuple
        with_oid(2, btree("public", "t", "healthy", 40 * MB, 1_000_000.0)),
        with_oid(3, btree("public", "t", "unknown", 20 * MB, 1_000_000.0)),
        with_oid(4, btree("public", "t", "small", MB, 1_000.0)),
    ];
    let stored = stored_with(
        HashMap::from([(1, 41.9), (2, 45.0), (4, 1.0)]),
        HashSet::new(),
    );
    let assessed = assess(indexes, known(&stored), &settings, HERE, PG15, run());
    let verdicts: Vec<_> = assessed.iter().map(|a| a.verdict.clone()).collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::Candidate(CandidateReason::Bloated),
            Verdict::Healthy,
            // The database's first scan found it: its baseline is estimated first.
            Verdict::AwaitingEstimate,
            Verdict::BelowSizeThreshold,
        ]
    );
    assert!((assessed[0].bloat.unwrap() - 2.5).abs() < 0.01);
    // The healthy index ratchets its baseline down to today's ratio.
    assert!(assessed[1].best_ratio.unwrap() < 45.0);
    // Unknown stays unknown until its estimate.
    assert_eq!(assessed[2].best_ratio, None);
    assert!(assessed[2].deferral().unwrap().contains("first scan"));
    let order: Vec<_> = candidates_in_order(&assessed)
        .iter()
        .map(|c| c.assessment.index.name.name.clone())
        .collect();
    assert_eq!(order, ["bloated"]);
}

#[test]
fn tiny_indexes_are_never_candidates_even_below_a_zero_threshold() {
    let rows = [SettingRow {
        id: 1,
        scope: Scope::default(),
        key: "index_size_threshold".into(),
        value: "0".into(),
    }];
    let settings = Settings::from_rows(&rows).unwrap();
    let tiny = btree("public", "t", "tiny", 8 << 10, 0.0);
    let assessed = assess(
        vec![tiny],
        known(&nothing_known()),
        &settings,
        HERE,
        PG15,
        run(),
    );
    assert_eq!(assessed[0].verdict, Verdict::BelowSizeThreshold);
    // Sizes in words as pg_size_pretty writes them, as everywhere else.
    assert_eq!(
        assessed[0].why_not(),
        "8192 bytes is below index_size_threshold (0 bytes) or minimum_reliable_index_size (128 kB); force ignores them"
    );
}

#[test]
fn no_statistics_means_no_judgement_even_with_a_baseline() {
    let settings = Settings::from_rows(&[]).unwrap();
    let never_analyzed = btree("public", "t", "fresh", 40 * MB, -1.0);
    let empty = btree("public", "t", "empty", 40 * MB, 0.0);
    let assessed = assess(
        vec![never_analyzed, empty],
        known(&nothing_known()),
        &settings,
        HERE,
        PG15,
        run(),
    );
    assert_eq!(assessed[0].verdict, Verdict::NoStatistics);
    assert_eq!(assessed[1].verdict, Verdict::NoStatistics);
    assert!(assessed[0].why_not().contains("run ANALYZE on public.t"));
    // Truncated and refilled without ANALYZE: the old baseline stays, and the
    // tuple count of -1 would make the index look 10^5 times bloated.
    let refilled = with_oid(9, btree("public", "t", "refilled", 40 * MB, -1.0));
    let stored = stored_with(HashMap::from([(9, 100.0)]), HashSet::new());
    let assessed = assess(vec![refilled], known(&stored), &settings, HERE, PG15, run());
    assert_eq!(assessed[0].verdict, Verdict::NoStatistics);
    assert_eq!(assessed[0].bloat, None);
    assert_eq!(assessed[0].best_ratio, Some(100.0));
    assert!(assessed[0].deferral().is_some());
}

#[test]
fn a_toast_index_follows_its_tables_settings() {
    let rows = [SettingRow {
        id: 4,
        scope: Scope {
            schema: Some("archive".into()),
            ..Default::default()
        },
        key: "skip".into(),
        value: "true".into(),
    }];
    let settings = Settings::from_rows(&rows).unwrap();
    let toast = IndexInfo {
        table_kind: crate::domain::eligibility::TableKind::Toast,
        toast_owner: Some(QualifiedName::new("archive", "docs")),
        ..btree(
            "pg_toast",
            "pg_toast_16503",
            "pg_toast_16503_index",
            40 * MB,
            1000.0,
        )
    };
    let assessed = assess(
        vec![toast],
        known(&nothing_known()),
        &settings,
        HERE,
        PG15,
        run(),
    );
    assert_eq!(assessed[0].verdict, Verdict::Skipped(Origin::Row(4)));
}

#[test]
fn the_first_scan_follows_initial_baseline_and_later_ones_take_what_they_see() {
    let unknown = || with_oid(3, btree("public", "t", "unknown", 20 * MB, 100_000.0));
    let first_scan = nothing_known();
    let judged = |settings: &Settings, stored: &Stored| {
        assess(vec![unknown()], known(stored), settings, HERE, PG15, run()).remove(0)
    };
    let rebuild = judged(&policy("rebuild"), &first_scan);
    assert_eq!(
        rebuild.verdict,
        Verdict::Candidate(CandidateReason::NoBaseline)
    );
    assert_eq!(rebuild.seeded, None);
    let current = judged(&policy("current"), &first_scan);
    assert_eq!(current.verdict, Verdict::Healthy);
    assert_eq!(current.seeded, Some(BaselineSource::Current));
    assert_eq!(current.best_ratio, Some(current.ratio));
    // A database scanned before: an index not stored then is at most one schedule
    // old, whatever the policy.
    let mut scanned = nothing_known();
    scanned.0.scanned_before = true;
    let new = judged(&policy("rebuild"), &scanned);
    assert_eq!(new.verdict, Verdict::Healthy);
    assert_eq!(new.seeded, Some(BaselineSource::FirstSight));
    // Unless its database's first scan found it and it still waits (too small then).
    scanned.0.digests.insert(3, None);
    scanned.0.awaiting_initial.insert(3);
    let waiting = judged(&Settings::from_rows(&[]).unwrap(), &scanned);
    assert_eq!(waiting.verdict, Verdict::AwaitingEstimate);
}

#[test]
fn an_estimate_settles_the_judgement() {
    let settings = Settings::from_rows(&[]).unwrap();
    let index = with_oid(3, btree("public", "t", "bloated", 40 * MB, 400_000.0));
    let mut waiting = assess(
        vec![index.clone(), index],
        known(&nothing_known()),
        &settings,
        HERE,
        PG15,
        run(),
    );
    let ratio = waiting[0].ratio;
    waiting[0].settle_estimate(Ok((ratio / 2.5, BaselineSource::Estimate)));
    assert_eq!(
        waiting[0].verdict,
        Verdict::Candidate(CandidateReason::Bloated)
    );
    assert!((waiting[0].bloat.unwrap() - 2.5).abs() < 1e-9);
    assert!(waiting[0].was_estimated());
    // No estimate: the current size, the note says why, and the bloat is unknown.
    waiting[1].settle_estimate(Err("no estimate for gin indexes".into()));
    assert_eq!(waiting[1].verdict, Verdict::UnknownBloat);
    assert!(waiting[1].is_unknown());
    assert_eq!(waiting[1].seeded, Some(BaselineSource::NoEstimate));
    assert!(waiting[1].was_estimated());
}
