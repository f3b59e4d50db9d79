use serde_json::Value;

use super::*;
use crate::domain::deferral::DeferralKind;
use crate::domain::failure::FailureClass;
use crate::domain::mode::Mode;
use crate::domain::target_error::TargetErrorClass;
use crate::report::{Failed, InProgress, Quarantined, Reindexed, Report, TargetReport};

fn reindexed(size_before: u64, size_after: u64, duration_ms: u64) -> Reindexed {
    Reindexed {
        index: "public.orders_pkey".to_owned(),
        table: "public.orders".to_owned(),
        toast_of: None,
        access_method: "btree".to_owned(),
        size_before,
        size_after,
        estimated_bloat_before: Some(3.0),
        duration_ms,
        blocked_ms: duration_ms / 10,
        adopted: false,
        note: None,
        session: None,
        server_messages: Vec::new(),
    }
}

fn sample() -> Report {
    let mut orders = TargetReport::new("orders", None);
    orders.scanned = 40;
    orders.candidates = 4;
    orders.reindexed = vec![reindexed(3000, 1000, 1500), reindexed(500, 400, 500)];
    orders.failed = vec![Failed {
        index: "public.orders_x".to_owned(),
        error: "canceling statement due to lock timeout".to_owned(),
        sqlstate: Some("55P03".to_owned()),
        class: FailureClass::Blocked,
        quarantined: false,
        blocked_by: Vec::new(),
        blocked_ms: 4_000,
        session: None,
        server_messages: Vec::new(),
    }];
    orders.in_progress = vec![InProgress {
        index: "public.orders_big".to_owned(),
        pid: 4242,
        phase: "waiting for old snapshots".to_owned(),
        percent_done: None,
        running_ms: 9_000,
        blocked_ms: 1_000,
    }];
    orders.defer(&"public.a", DeferralKind::Time, "not enough time left");
    orders.defer(
        &"public.b",
        DeferralKind::Window,
        "outside the maintenance window",
    );
    orders.defer(&"public.c", DeferralKind::Time, "not enough time left");
    orders.quarantined = vec![Quarantined {
        index: "public.q".to_owned(),
        table: "public.orders".to_owned(),
        since: "2025-01-01T03:00:00Z".to_owned(),
        sqlstate: Some("23505".to_owned()),
        error: "could not create unique index".to_owned(),
        failures: 3,
    }];
    let mut app = TargetReport::new("fleet", Some("app".to_owned()));
    app.scanned = 10;
    app.defer(&"public.d", DeferralKind::Time, "not enough time left");
    app.defer(
        &"public.e",
        DeferralKind::Blocker,
        "a session would block it",
    );
    Report {
        hop: 2,
        targets: vec![orders, app],
        ..Report::new(Mode::Run)
    }
}

fn metric(doc: &Value, name: &str) -> f64 {
    doc[name].as_f64().unwrap_or(f64::NAN)
}

/// Checks the EMF specification on one document and that it uses only the
/// documented names.
fn assert_valid_emf(doc: &Value) {
    let aws = &doc["_aws"];
    assert!(aws["Timestamp"].is_u64(), "Timestamp in ms: {doc}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
    assert!(!directives.is_empty());
    for d in directives {
        assert_eq!(d["Namespace"], "Test");
        for set in d["Dimensions"].as_array().expect("dimension sets") {
            let set = set.as_array().expect("a dimension set");
            assert!(set.len() <= 30);
            for name in set {
                let name = name.as_str().expect("dimension name");
                assert!(
                    INVOCATION_DIMENSIONS.contains(&name)
                        || TARGET_DIMENSIONS.contains(&name)
                        || name == REASON_DIMENSION
                        || name == ERROR_CLASS_DIMENSION,
                    "undocumented dimension {name}"
                );
                assert!(doc[name].is_string(), "dimension {name} a string member");
            }
        }
        let metrics = d["Metrics"].as_array().expect("metrics");
        assert!(metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().expect("metric name");
            let unit = m["Unit"].as_str().expect("unit");
            assert!(["Count", "Bytes", "Seconds", "None"].contains(&unit));
            assert!(
                METRICS.contains(&(name, unit)),
                "undocumented metric {name} ({unit})"
            );
            assert!(doc[name].is_number(), "metric {name} a number member");
        }
    }
}

#[test]
fn an_invocation_and_each_target_become_valid_emf() {
    let docs = emf_documents(&sample(), "Test", 1_700_000_000_000);
    // invocation, orders, orders×{time, window}, app, app×{time, blocker},
    // invocation×{time, window, blocker}
    assert_eq!(docs.len(), 10);
    docs.iter().for_each(assert_valid_emf);
}

#[test]
fn target_documents_carry_what_the_target_did() {
    let docs = emf_documents(&sample(), "Test", 1);
    let orders = &docs[1];
    assert_eq!(orders["Target"], "orders");
    assert_eq!(orders["Database"], "orders");
    assert_eq!(metric(orders, "IndexesScanned"), 40.0);
    assert_eq!(metric(orders, "Candidates"), 4.0);
    assert_eq!(metric(orders, "Rebuilt"), 2.0);
    assert_eq!(metric(orders, "Failed"), 1.0);
    assert_eq!(metric(orders, "Deferred"), 3.0);
    assert_eq!(metric(orders, "Quarantined"), 1.0);
    assert_eq!(metric(orders, "BytesReclaimed"), 2100.0);
    assert_eq!(metric(orders, "RebuildSeconds"), 2.0);
    // 0.15 + 0.05 rebuilt, 4 failed, 1 still running
    assert_eq!(metric(orders, "BlockedSeconds"), 5.2);
    assert_eq!(docs[4]["Database"], "app");
    assert_eq!(metric(&docs[4], "BlockedSeconds"), 0.0);
}

#[test]
fn the_invocation_document_sums_the_targets() {
    let docs = emf_documents(&sample(), "Test", 1);
    let inv = &docs[0];
    assert_eq!(inv["Mode"], "run");
    assert_eq!(metric(inv, "IndexesScanned"), 50.0);
    assert_eq!(metric(inv, "Rebuilt"), 2.0);
    assert_eq!(metric(inv, "BlockedSeconds"), 5.2);
    assert_eq!(metric(inv, "Hop"), 2.0);
}

/// The (dimension values…, Deferred) of the documents that have a `Reason`.
fn deferred_by_reason(docs: &[Value]) -> Vec<(Vec<String>, f64)> {
    docs.iter()
        .filter(|d| d.get(REASON_DIMENSION).is_some())
        .map(|d| {
            let set = d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| d[n.as_str().unwrap()].as_str().unwrap().to_owned())
                .collect();
            let names: Vec<&str> = d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Name"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["Deferred"],
                "a reason document counts only Deferred"
            );
            (set, metric(d, "Deferred"))
        })
        .collect()
}

#[test]
fn deferrals_are_counted_by_kind_per_target_and_per_invocation() {
    let docs = emf_documents(&sample(), "Test", 1);
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        deferred_by_reason(&docs),
        vec![
            (s(&["orders", "orders", "time"]), 2.0),
            (s(&["orders", "orders", "window"]), 1.0),
            (s(&["fleet", "app", "time"]), 1.0),
            (s(&["fleet", "app", "blocker"]), 1.0),
            (s(&["run", "time"]), 3.0),
            (s(&["run", "window"]), 1.0),
            (s(&["run", "blocker"]), 1.0),
        ]
    );
}

#[test]
fn no_deferrals_no_reason_documents() {
    let report = Report {
        targets: vec![TargetReport::new("orders", None)],
        ..Report::new(Mode::Run)
    };
    let docs = emf_documents(&report, "Test", 1);
    assert_eq!(docs.len(), 2);
    assert!(deferred_by_reason(&docs).is_empty());
}

#[test]
fn every_documented_metric_is_in_the_readme() {
    let readme = include_str!("../../../README.md");
    for (name, unit) in METRICS {
        assert!(
            readme.contains(&format!("| `{name}` | {unit} |")),
            "README lacks the row of {name}"
        );
    }
    for class in TargetErrorClass::ALL {
        assert!(
            readme.contains(&format!("| `{}` |", class.as_str())),
            "README lacks the target error class {}",
            class.as_str()
        );
    }
    for kind in DeferralKind::ALL {
        assert!(
            readme.contains(&format!("| `{}` |", kind.as_str())),
            "README lacks the deferral kind {}",
            kind.as_str()
        );
    }
}

#[test]
fn metrics_count_every_entry_the_bounded_report_leaves_out() {
    let mut orders = TargetReport::new("orders", None);
    let many = crate::report::bound::MAX_LIST_ENTRIES * 3;
    for i in 0..many {
        orders.defer(
            &format!("public.i{i}"),
            DeferralKind::Time,
            "not enough time left",
        );
    }
    let report = Report {
        targets: vec![orders],
        ..Report::new(Mode::Run)
    };
    let (docs, bounded) = measure_then_bound(report, "Test", 1);
    assert!(
        bounded.targets[0].deferred.len() < many,
        "the report is bounded"
    );
    assert_eq!(metric(&docs[0], "Deferred"), many as f64);
    assert_eq!(metric(&docs[1], "Deferred"), many as f64);
}

#[test]
fn target_errors_are_counted_per_target_and_per_invocation_by_class() {
    let failing = |name: &str, class| {
        let mut t = TargetReport::new(name, None);
        t.fail(class, "it failed");
        t
    };
    let report = Report {
        targets: vec![
            failing("a", TargetErrorClass::Login),
            TargetReport::new("fine", None),
            failing("b", TargetErrorClass::Connect),
            failing("c", TargetErrorClass::Login),
        ],
        ..Report::new(Mode::Run)
    };
    let docs = emf_documents(&report, "Test", 1);
    docs.iter().for_each(|d| {
        let mut d = d.clone();
        d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = "Test".into();
        assert_valid_emf(&d);
    });
    assert_eq!(metric(&docs[0], "TargetErrors"), 3.0);
    let plain: Vec<(String, f64)> = docs
        .iter()
        .filter(|d| d.get("Target").is_some() && d.get(ERROR_CLASS_DIMENSION).is_none())
        .map(|d| {
            (
                d["Target"].as_str().unwrap().to_owned(),
                metric(d, "TargetErrors"),
            )
        })
        .collect();
    assert_eq!(
        plain,
        [
            ("a".into(), 1.0),
            ("fine".into(), 0.0),
            ("b".into(), 1.0),
            ("c".into(), 1.0)
        ]
    );
    let by_class: Vec<(Option<&str>, Option<&str>, &str, f64)> = docs
        .iter()
        .filter(|d| d.get(ERROR_CLASS_DIMENSION).is_some())
        .map(|d| {
            (
                d["Target"].as_str(),
                d["Mode"].as_str(),
                d[ERROR_CLASS_DIMENSION].as_str().unwrap(),
                metric(d, "TargetErrors"),
            )
        })
        .collect();
    assert_eq!(
        by_class,
        [
            (Some("a"), None, "login", 1.0),
            (Some("b"), None, "connect", 1.0),
            (Some("c"), None, "login", 1.0),
            (None, Some("run"), "connect", 1.0),
            (None, Some("run"), "login", 2.0),
        ]
    );
}
