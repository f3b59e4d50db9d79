//! Keeping the report within what Lambda and CloudWatch accept.
//!
//! The handler returns the report (a Lambda response holds at most 6 MB) and logs it
//! as one event (CloudWatch keeps at most 256 KB of an event). Several lists grow
//! with the number of indexes: a dry run of the PostgreSQL regression database alone
//! lists hundreds. So each list is cut to a cap, the largest indexes kept, and the
//! report counts what it left out and says where the rest can be read.

use std::cmp::Reverse;
use std::io;

use super::{Report, TargetReport};
use crate::domain::units::format_size;
use crate::domain::words::plural;

/// Entries kept per list and target. Serialised, an entry takes about 100 bytes (an
/// estimate) to 350 (a deferral naming its blocker): at 50, a target with all twelve
/// lists full takes about 110 KB, one with the usual three (plan, left_alone, deferred)
/// about 30 KB. So a report of a few targets is bounded by this cap alone and still
/// shows the fifty largest indexes of each list; a shard of 25 targets would take
/// some 750 KB, and there `MAX_REPORT_BYTES` cuts further (to 6 entries for 25
/// targets with three full lists, to none for 300).
pub(crate) const MAX_LIST_ENTRIES: usize = 50;

/// The most the report may take in its log line, where it is one escaped JSON string.
/// A CloudWatch event holds 256 KB (262,144 bytes, 26 of them CloudWatch's own); the
/// other 56 KB are for the rest of the log line (time, level, message, fields).
/// The Lambda response, the report unescaped, is smaller still.
pub(crate) const MAX_REPORT_BYTES: usize = 200 * 1024;

impl Report {
    /// The report as it may be returned and logged: every per-index list cut to
    /// `MAX_LIST_ENTRIES` per target, and further (halving) while the report would
    /// take more than `MAX_REPORT_BYTES` in its log line. Targets are never cut.
    pub(crate) fn bounded(self) -> Report {
        self.bounded_to(MAX_LIST_ENTRIES, MAX_REPORT_BYTES)
    }

    /// [`Report::bounded`] with other limits. A list whose entries carry a size
    /// (`left_alone`, `reindexed`, `leftovers`) keeps its largest indexes, in the order
    /// it had; the others keep their first entries (the plan: the first a run takes).
    /// Each target's `omitted` counts what was left out, and one note says where the
    /// rest can be read.
    pub(crate) fn bounded_to(mut self, max_entries: usize, max_bytes: usize) -> Report {
        let mut cap = max_entries;
        let mut cut = false;
        loop {
            for target in &mut self.targets {
                cut |= target.cap_lists(cap);
            }
            // The note is part of what must fit.
            let notes = self.notes.len();
            if cut {
                self.notes.push(cut_note(cap, max_entries, max_bytes));
            }
            if log_len(&self) <= max_bytes {
                return self;
            }
            self.notes.truncate(notes);
            if cap == 0 {
                self.notes.push(too_large_note(max_bytes, cut));
                return self;
            }
            cap /= 2;
        }
    }
}

impl TargetReport {
    /// Cuts every list that grows with the number of indexes to `cap` entries and
    /// counts what went in `omitted`; returns whether anything was cut. Cutting an
    /// already cut report again keeps the same choice: the largest of the largest.
    fn cap_lists(&mut self, cap: usize) -> bool {
        let left_out = [
            ("plan", keep_first(&mut self.plan, cap)),
            (
                "left_alone",
                keep_largest(&mut self.left_alone, cap, |e| Some(e.size_bytes)),
            ),
            (
                "reindexed",
                keep_largest(&mut self.reindexed, cap, |r| Some(r.size_before)),
            ),
            ("in_progress", keep_first(&mut self.in_progress, cap)),
            ("deferred", keep_first(&mut self.deferred, cap)),
            ("failed", keep_first(&mut self.failed, cap)),
            (
                "leftovers",
                keep_largest(&mut self.leftovers, cap, |l| l.size_bytes),
            ),
            ("quarantined", keep_first(&mut self.quarantined, cap)),
            ("vanished", keep_first(&mut self.vanished, cap)),
            (
                "new_baselines",
                keep_largest(&mut self.new_baselines, cap, |b| Some(b.size_bytes)),
            ),
            (
                "unknown_bloat",
                keep_largest(&mut self.unknown_bloat, cap, |u| Some(u.size_bytes)),
            ),
            ("confirmations", keep_first(&mut self.confirmations, cap)),
            ("forecast", keep_first(&mut self.forecast, cap)),
        ];
        let mut cut = false;
        for (list, count) in left_out {
            if count > 0 {
                *self.omitted.entry(list).or_default() += count;
                cut = true;
            }
        }
        cut
    }
}

/// Keeps the first `cap` entries; returns how many it dropped.
fn keep_first<T>(list: &mut Vec<T>, cap: usize) -> usize {
    let dropped = list.len().saturating_sub(cap);
    list.truncate(cap);
    dropped
}

/// Keeps the `cap` entries of largest `size` (an unknown size counts as smallest; of
/// equal sizes, the earlier), in the order the list had, which its maker chose;
/// returns how many it dropped.
fn keep_largest<T>(list: &mut Vec<T>, cap: usize, size: impl Fn(&T) -> Option<u64>) -> usize {
    if list.len() <= cap {
        return 0;
    }
    let mut ranked: Vec<(usize, Option<u64>)> =
        list.iter().enumerate().map(|(i, e)| (i, size(e))).collect();
    // A stable sort: equal sizes stay in list order.
    ranked.sort_by_key(|&(_, size)| Reverse(size));
    let mut kept = vec![false; list.len()];
    for &(i, _) in ranked.iter().take(cap) {
        kept[i] = true;
    }
    let dropped = list.len() - cap;
    let mut kept = kept.into_iter();
    list.retain(|_| kept.next() == Some(true));
    dropped
}

/// Said once per report when a list was cut.
fn cut_note(cap: usize, max_entries: usize, max_bytes: usize) -> String {
    let size = format_size(max_bytes as u64);
    let what = match cap {
        0 => format!("to keep the report under {size}, per-index lists are left out"),
        _ if cap < max_entries => format!(
            "to keep the report under {size}, lists are cut to {} per target \
             (not {max_entries}), {KEPT}",
            plural(cap as u64, "entry", "entries")
        ),
        _ => format!("lists are cut to {cap} entries per target, {KEPT}"),
    };
    format!("{what}; each target's `omitted` counts what was left out. {WHERE}")
}

/// Said when even empty lists leave the report too large (a great many targets).
fn too_large_note(max_bytes: usize, cut: bool) -> String {
    let size = format_size(max_bytes as u64);
    if cut {
        format!(
            "the report is larger than {size} even with every per-index list left out \
             (each target's `omitted` counts them): its log event may be cut short. {WHERE}"
        )
    } else {
        format!("the report is larger than {size}: its log event may be cut short")
    }
}

const KEPT: &str = "keeping the largest indexes where the list has sizes, else the first entries";

const WHERE: &str = "The full detail is in the control database's views: \
    index_pilot.current_bloat (every index's estimate as the last run recorded it), \
    index_pilot.history (every rebuild) and index_pilot.quarantined";

/// Bytes the report takes in the handler's log line, where it is one JSON string:
/// there every `"` and `\` of it is escaped (it holds no other character JSON
/// escapes: its own serialisation escaped those already).
pub(super) fn log_len(report: &Report) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let escaped = bytes.iter().filter(|&&b| b == b'"' || b == b'\\').count();
            self.0 += bytes.len() + escaped;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    // The quotes around the string.
    let mut count = Count(2);
    // Serialising a report cannot fail (string keys, no fallible field); if it ever
    // did, the handler logs that instead of the report.
    let _ = serde_json::to_writer(&mut count, report);
    count.0
}
