//! The preflight in the text report: per target who logged in and what was found,
//! and the rows of the control database that name no target.

use std::fmt::Write;

use super::TargetReport;
use crate::domain::preflight::{Checked, Severity};

fn finding(out: &mut String, indent: &str, checked: &Checked) {
    let severity = match checked.severity {
        Severity::Blocking => "blocking",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{indent}{severity}: {}", checked.message);
}

pub(super) fn target(out: &mut String, t: &TargetReport) {
    let Some(preflight) = &t.preflight else {
        return;
    };
    let role = preflight
        .role
        .as_deref()
        .map(|role| format!(" (logged in as {role})"))
        .unwrap_or_default();
    if preflight.findings.is_empty() {
        let _ = writeln!(out, "  preflight{role}: nothing to report");
        return;
    }
    let _ = writeln!(out, "  preflight{role}:");
    for checked in &preflight.findings {
        finding(out, "    ", checked);
    }
}

pub(super) fn configuration(out: &mut String, findings: &[Checked]) {
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "  configuration:");
    for checked in findings {
        finding(out, "    ", checked);
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::eligibility::ServerVersion;
    use crate::domain::mode::Mode;
    use crate::domain::preflight::{
        judge, naming_no_target, Facts, Finding, PgstattupleAccess, Preflight,
    };
    use crate::domain::window::WindowRow;
    use crate::report::{text, Report, TargetReport};

    #[test]
    fn a_check_shows_each_finding_and_the_rows_that_name_no_target() {
        let facts = Facts {
            role: "pilot".into(),
            server: ServerVersion(160004),
            in_recovery: false,
            read_all_stats: false,
            pgstattuple: PgstattupleAccess::Usable,
            tables: 2,
            not_rebuildable: vec!["public.a".into(), "public.b".into()],
            owners: vec!["app".into()],
            unmatched: Vec::new(),
            any_target: Vec::new(),
            pgvector: None,
        };
        let mut lacking = TargetReport::new("orders", None);
        let preflight = judge(&facts);
        let blocking = preflight.blocking().unwrap();
        lacking.fail(blocking.finding.error_class(), blocking.message.clone());
        lacking.preflight = Some(preflight);
        let mut clean = TargetReport::new("billing", None);
        clean.preflight = Some(Preflight {
            role: Some("pilot".into()),
            findings: Vec::new(),
            any_target: Vec::new(),
        });
        let mut report = Report::new(Mode::Check);
        let window = WindowRow {
            id: 4,
            target: "ordres".into(),
            database: None,
            days: "mon-sun".into(),
            starts_at: 0,
            ends_at: 60,
            time_zone: "UTC".into(),
            comment: None,
        };
        report.configuration = naming_no_target(&[], &[window], &["orders", "billing"])
            .into_iter()
            .map(|row| Finding::NamesNothing(row).into())
            .collect();
        report.targets = vec![lacking, clean];
        let shown = text::render(&[report]);
        for line in [
            "  configuration:\n    warning: maintenance window #4 names target \"ordres\", which matches no configured target: it governs nothing",
            "orders: error (permission)\n",
            "  preflight (logged in as pilot):\n    blocking: role pilot may not rebuild the indexes of 2 of 2 tables (public.a, public.b)",
            "GRANT app TO pilot",
            "    warning: role pilot is not a member of pg_read_all_stats",
            "  preflight (logged in as pilot): nothing to report",
        ] {
            assert!(shown.contains(line), "{line:?} not in:\n{shown}");
        }
        // A check scans nothing: no "0 indexes scanned" line per target.
        assert!(
            !shown.contains("0 indexes scanned, 0 candidates"),
            "{shown}"
        );
    }
}
