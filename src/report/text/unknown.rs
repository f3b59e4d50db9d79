//! The indexes whose bloat is unknown, and how to give them a true baseline.

use std::fmt::Write;

use super::{bloat, heading};
use crate::domain::units::format_size;
use crate::report::table::{draw, number, text};
use crate::report::TargetReport;

pub(super) fn unknown_bloat(out: &mut String, t: &TargetReport) {
    if t.unknown_bloat.is_empty() {
        return;
    }
    heading(
        out,
        "Bloat unknown (no estimate at first sight: its size then is its baseline):",
    );
    let rows = t
        .unknown_bloat
        .iter()
        .map(|u| {
            vec![
                u.index.clone(),
                u.access_method.clone(),
                format_size(u.size_bytes),
                bloat(u.since_first_sight),
            ]
        })
        .collect();
    out.push_str(&draw(
        &[
            text("index"),
            text("method"),
            number("size"),
            number("growth since"),
        ],
        rows,
        2,
    ));
    for u in t.unknown_bloat.iter().filter(|u| u.note.is_some()) {
        let _ = writeln!(out, "  {}: {}", u.index, u.note.as_deref().unwrap_or(""));
    }
    let _ = writeln!(
        out,
        "  a true baseline: rebuild it once (a reindex order with force, or initial_baseline = rebuild for it), or accept it (initial_baseline = current for it, or baseline with reseed)"
    );
}
