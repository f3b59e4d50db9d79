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
