use super::*;
use jiff::tz::TimeZone;

const MB: u64 = 1 << 20;

fn now() -> Timestamp {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

fn limits() -> InspectLimits {
    InspectLimits {
        max_size: 10 * 1024 * MB,
        max_time: Duration::from_secs(60),
    }
}

fn ask<'a>(kind: ReadKind, size_bytes: u64, window: &'a WindowState) -> Ask<'a> {
    Ask {
        kind,
        size_bytes,
        limits: limits(),
        recorded: None,
        budget_left: Duration::from_secs(600),
        window,
        now: now(),
    }
}

fn timed_out(age_days: u64) -> TimedOut {
    TimedOut {
        age: Duration::from_secs(age_days * 86_400),
        at: "2026-11-20 03:12 UTC".into(),
        after: Duration::from_secs(60),
    }
}

#[test]
fn whole_index_reads_stop_at_max_inspect_size_and_analyze_does_not() {
    let always = WindowState::Always;
    let at_cap = ask(ReadKind::Pgstatindex, 10 * 1024 * MB, &always);
    assert_eq!(
        may_read(&at_cap),
        Ok(Permit {
            timeout: Duration::from_secs(60),
            bound: Bound::MaxInspectTime
        })
    );
    for kind in [ReadKind::Pgstatindex, ReadKind::Pgstattuple] {
        let refused = may_read(&ask(kind, 50 * 1024 * MB, &always)).unwrap_err();
        assert_eq!(
            refused,
            Refusal::TooLarge {
                size: 50 * 1024 * MB,
                cap: 10 * 1024 * MB
            }
        );
        assert_eq!(
            refused.explain(kind),
            format!(
                "{} not read: larger than max_inspect_size (50 GB > 10 GB)",
                kind.as_str()
            )
        );
    }
    // ANALYZE samples a bounded number of pages, whatever the index's size.
    assert!(may_read(&ask(ReadKind::Analyze, 50 * 1024 * MB, &always)).is_ok());
}

#[test]
fn a_recorded_timeout_holds_for_a_week() {
    let always = WindowState::Always;
    let recent = timed_out(6);
    let refused = may_read(&Ask {
        recorded: Some(&recent),
        ..ask(ReadKind::Pgstatindex, MB, &always)
    })
    .unwrap_err();
    assert_eq!(refused, Refusal::TimedOutBefore(recent.clone()));
    let text = refused.explain(ReadKind::Pgstatindex);
    assert!(text.starts_with("pgstatindex not run: it timed out on this index at 2026-11-20 03:12 UTC (after 1 min 00 s"), "{text}");
    assert!(text.ends_with("before 7 days have passed"), "{text}");
    let old = timed_out(7);
    assert!(may_read(&Ask {
        recorded: Some(&old),
        ..ask(ReadKind::Pgstatindex, MB, &always)
    })
    .is_ok());
}

#[test]
fn reads_happen_only_inside_windows_and_end_when_they_close() {
    let closed = WindowState::Closed {
        opens_at: Some(
            now()
                .checked_add(jiff::SignedDuration::from_hours(3))
                .unwrap()
                .to_zoned(TimeZone::UTC),
        ),
    };
    let refused = may_read(&ask(ReadKind::Pgstattuple, MB, &closed)).unwrap_err();
    assert_eq!(
        refused.explain(ReadKind::Pgstattuple),
        "pgstattuple not run: outside its maintenance windows until 2026-11-23 05:00 UTC, and our own reads happen only where a rebuild could start"
    );
    let closing = WindowState::Open {
        closes_at: now()
            .checked_add(jiff::SignedDuration::from_secs(20))
            .unwrap()
            .to_zoned(TimeZone::UTC),
    };
    assert_eq!(
        may_read(&ask(ReadKind::Pgstattuple, MB, &closing)),
        Ok(Permit {
            timeout: Duration::from_secs(20),
            bound: Bound::Window
        })
    );
    let closed_now = WindowState::Open {
        closes_at: now().to_zoned(TimeZone::UTC),
    };
    assert!(matches!(
        may_read(&ask(ReadKind::Analyze, MB, &closed_now)),
        Err(Refusal::OutsideWindow(_))
    ));
}

#[test]
fn no_read_outlives_the_budget() {
    let always = WindowState::Always;
    let short = Ask {
        budget_left: Duration::from_micros(2_500),
        ..ask(ReadKind::Pgstatindex, MB, &always)
    };
    // Rounded up to statement_timeout's whole milliseconds.
    assert_eq!(
        may_read(&short),
        Ok(Permit {
            timeout: Duration::from_millis(3),
            bound: Bound::Budget
        })
    );
    let spent = Ask {
        budget_left: Duration::from_micros(900),
        ..short
    };
    assert_eq!(may_read(&spent), Err(Refusal::BudgetSpent));
    assert!(budget_spent(Duration::ZERO));
    assert!(!budget_spent(Duration::from_millis(1)));
}

#[test]
fn only_max_inspect_time_is_recorded() {
    let always = WindowState::Always;
    let tiny = Ask {
        limits: InspectLimits {
            max_time: Duration::from_micros(300),
            ..limits()
        },
        ..ask(ReadKind::Pgstatindex, MB, &always)
    };
    // Never 0 ms: that would be no limit at all.
    let permit = may_read(&tiny).unwrap();
    assert_eq!(permit.timeout, Duration::from_millis(1));
    assert!(permit.records_timeout());
    assert_eq!(
        permit.explain_timeout(ReadKind::Pgstatindex, true),
        "pgstatindex timed out after 1 ms (max_inspect_time): recorded, not tried again on this index for 7 days"
    );
    assert!(permit
        .explain_timeout(ReadKind::Pgstatindex, false)
        .contains("a run records it"));
    let by_budget = may_read(&Ask {
        budget_left: Duration::from_secs(5),
        ..ask(ReadKind::Analyze, MB, &always)
    })
    .unwrap();
    assert!(!by_budget.records_timeout());
    assert_eq!(
        by_budget.explain_timeout(ReadKind::Analyze, true),
        "ANALYZE stopped after 5.0 s: this invocation's budget ran out"
    );
}

#[test]
fn kinds_keep_their_names() {
    for kind in ReadKind::ALL {
        assert_eq!(ReadKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(ReadKind::from_name("vacuum"), None);
}
