//! An index whose baseline no estimate backs (`no_estimate`): unknown, never healthy
//! and never a candidate for that alone, until it is rebuilt or accepted.

use super::*;

/// 20 MB over 100,000 tuples (209.7 B/tuple), stored with a baseline of 200 B/tuple
/// that no estimate backs (or, `unestimated` false, that one did).
fn judged(settings: &Settings, selection: Selection<'_>, unestimated: bool) -> Assessment {
    let index = with_oid(3, btree("public", "t", "docs_fts", 20 * MB, 100_000.0));
    let mut stored = stored_with(HashMap::from([(3, 200.0)]), HashSet::new());
    stored.0.scanned_before = true;
    if unestimated {
        stored.0.unestimated.insert(3);
    }
    assess(vec![index], known(&stored), settings, HERE, PG15, selection).remove(0)
}

#[test]
fn an_unestimated_baseline_is_unknown_not_healthy() {
    let defaults = Settings::from_rows(&[]).unwrap();
    let unknown = judged(&defaults, run(), true);
    assert_eq!(unknown.verdict, Verdict::UnknownBloat);
    assert!(unknown.is_unknown());
    assert!(!unknown.is_candidate());
    assert_eq!(unknown.seeded, None);
    assert_eq!(unknown.best_ratio, Some(200.0));
    assert!(unknown.why_not().contains("force rebuilds it"));
    // The same numbers with an estimated baseline: healthy.
    assert_eq!(judged(&defaults, run(), false).verdict, Verdict::Healthy);
}

#[test]
fn an_unknown_index_grown_past_its_factor_is_a_candidate_all_the_same() {
    let index = with_oid(3, btree("public", "t", "docs_fts", 40 * MB, 100_000.0));
    let mut stored = stored_with(HashMap::from([(3, 200.0)]), HashSet::new());
    stored.0.unestimated.insert(3);
    let settings = Settings::from_rows(&[]).unwrap();
    let grown = assess(vec![index], known(&stored), &settings, HERE, PG15, run()).remove(0);
    assert_eq!(grown.verdict, Verdict::Candidate(CandidateReason::Bloated));
}

#[test]
fn the_operator_decides_with_initial_baseline_reseed_or_a_forced_order() {
    // `current`: accepted as it is; its baseline becomes the operator's.
    let accepted = judged(&policy("current"), run(), true);
    assert_eq!(accepted.verdict, Verdict::Healthy);
    assert_eq!(accepted.seeded, Some(BaselineSource::Current));
    assert_eq!(accepted.best_ratio, Some(200.0));
    // `rebuild`: a candidate of unknown bloat.
    let rebuild = judged(&policy("rebuild"), run(), true);
    assert_eq!(
        rebuild.verdict,
        Verdict::Candidate(CandidateReason::NoBaseline)
    );
    assert_eq!(rebuild.bloat, None);
    // A baseline run with reseed accepts it.
    let reseed = Selection {
        mode: Mode::Baseline,
        reseed: true,
        ..run()
    };
    let reseeded = judged(&Settings::from_rows(&[]).unwrap(), reseed, true);
    assert_eq!(reseeded.seeded, Some(BaselineSource::Accepted));
    assert_eq!(reseeded.plain_verdict, Verdict::Healthy);
    // A forced order rebuilds it; a plain run would still call it unknown.
    let name = QualifiedName::new("public", "docs_fts");
    let forced = Selection {
        mode: Mode::Reindex,
        only: Some(&name),
        force: true,
        reseed: false,
    };
    let ordered = judged(&Settings::from_rows(&[]).unwrap(), forced, true);
    assert_eq!(ordered.verdict, Verdict::Candidate(CandidateReason::Forced));
    assert_eq!(ordered.plain_verdict, Verdict::UnknownBloat);
}
