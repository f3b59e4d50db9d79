//! The report as text: the plan in order, each rebuild before and after, and what
//! the server said.

use super::*;

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
