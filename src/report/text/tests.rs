use super::*;
use crate::domain::mode::Mode;

fn dry_run(targets: Vec<TargetReport>) -> Report {
    Report {
        complete: true,
        targets,
        ..Report::new(Mode::DryRun)
    }
}

#[test]
fn a_target_in_error_says_why_and_what_kind_and_nothing_it_never_did() {
    let mut refused = TargetReport::new("orders", None);
    refused.fail(
        TargetErrorClass::Login,
        "cannot connect at 127.0.0.1:5432, database orders, user app: password authentication failed",
    );
    let mut gone = TargetReport::new("billing", None);
    gone.fail(
        TargetErrorClass::Database,
        "database \"billing\" does not exist",
    );
    let mut fine = TargetReport::new("shop", None);
    fine.scanned = 1;
    let shown = render(&[dry_run(vec![refused, gone, fine])]);
    assert!(
        shown.contains("orders: error (login)\n  cannot connect"),
        "{shown}"
    );
    assert!(shown.contains("billing: error (database)"), "{shown}");
    // Only the target that was scanned counts and plans.
    assert_eq!(shown.matches("scanned, ").count(), 2, "{shown}");
    assert_eq!(
        shown.matches("A run would rebuild nothing here").count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("  1 index scanned, 0 candidates"), "{shown}");
    assert!(
        shown.contains("3 targets (2 with errors: 1 login, 1 database), 1 index scanned"),
        "{shown}"
    );
}

#[test]
fn counts_agree_with_their_nouns() {
    let mut one = TargetReport::new("one", None);
    one.scanned = 1;
    one.candidates = 1;
    one.baselines_set = Some(1);
    let shown = render(&[Report {
        complete: true,
        targets: vec![one],
        ..Report::new(Mode::Baseline)
    }]);
    assert!(shown.contains("1 index scanned, 1 candidate\n"), "{shown}");
    assert!(
        shown.contains("1 baseline set from the current sizes"),
        "{shown}"
    );
    assert!(shown.contains("1 target (0 with errors)"), "{shown}");
}
