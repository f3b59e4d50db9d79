//! Running the function until it has nothing left to do, after each kill, and
//! reading its reports.

use std::time::{Duration, Instant};

use index_pilot::report::{Report, Status, TargetReport};
use serde_json::json;

use crate::holders::Holders;
use crate::world::World;
use crate::RUN_BUDGET;

impl World {
    /// Runs the function in this process until it has nothing left to do, checking
    /// each invocation. `held`: a rebuild a kill left running, still held, which the
    /// first invocation must report running (and start nothing beside it).
    pub async fn until_idle(&mut self, mut held: Option<(Holders, i32)>) {
        let since = Instant::now();
        loop {
            if since.elapsed() > Duration::from_secs(90) {
                self.fail("the function did not become idle within 90 s".to_owned());
            }
            self.wait_until_claimable().await;
            let reports = self
                .fx
                .invoke_hops_with_budget(json!({"mode": "run"}), RUN_BUDGET)
                .await;
            self.tally.invocations += reports.len();
            self.tally.dropped_reported += dropped_leftovers(&reports);
            let failed: Vec<&TargetReport> = reports
                .iter()
                .flat_map(|r| &r.targets)
                .filter(|t| t.status == Status::Error)
                .collect();
            if !failed.is_empty() {
                let report = serde_json::to_string_pretty(&failed).unwrap_or_default();
                let latest: Vec<String> = self
                    .control
                    .query(
                        "SELECT DISTINCT index_name FROM index_pilot.reindex_history
                         WHERE id > (SELECT max(id) - 2 FROM index_pilot.reindex_history)",
                        &[],
                    )
                    .await
                    .expect("latest rebuilds")
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let state = self.history_of(&latest).await;
                self.violation(format!(
                    "after kill #{:02} an invocation failed on the target: {report}\nthe latest rebuilds and their indexes' state then:\n{state}",
                    self.tally.kills.len()
                ));
            }
            let last = reports.last().expect("a report");
            // Another invocation's run or lease: nothing was looked at.
            let Some(entry) = last.targets.iter().find(|t| t.status == Status::Ok) else {
                continue;
            };
            self.check_in_progress_rows(entry, &reports).await;
            if let Some((holders, pid)) = held.take() {
                let reported = entry.in_progress.iter().any(|p| p.pid == pid);
                let rebuilt: Vec<&str> = reports
                    .iter()
                    .flat_map(|r| &r.targets)
                    .flat_map(|t| &t.reindexed)
                    .map(|r| r.index.as_str())
                    .collect();
                if !reported || !rebuilt.is_empty() {
                    self.violation(format!(
                        "a rebuild left running (pid {pid}) was not reported running, or something was rebuilt beside it: {}",
                        as_json(&reports)
                    ));
                }
                self.tally.seen_running += 1;
                holders.end_all().await;
                continue;
            }
            if is_idle(&reports) {
                break;
            }
        }
        self.check_idle().await;
    }
}

pub fn as_json(reports: &[Report]) -> String {
    serde_json::to_string_pretty(reports).unwrap_or_else(|e| e.to_string())
}

/// Leftovers the reports say were dropped (at cleanup, or right after a settled rebuild).
fn dropped_leftovers(reports: &[Report]) -> usize {
    let targets = reports.iter().flat_map(|r| &r.targets);
    targets
        .map(|t| {
            t.leftovers
                .iter()
                .filter(|l| l.ours && l.action == "ours: dropped")
                .count()
                + t.failed
                    .iter()
                    .map(|f| f.error.as_str())
                    .chain(t.reindexed.iter().filter_map(|r| r.note.as_deref()))
                    .filter(|text| text.contains("dropped its leftover"))
                    .count()
        })
        .sum()
}

/// One invocation that found nothing to do.
fn is_idle(reports: &[Report]) -> bool {
    let [report] = reports else {
        return false;
    };
    report.complete
        && report.notes.is_empty()
        && report.targets.len() == 1
        && report.targets.iter().all(|t| {
            t.status == Status::Ok
                && t.candidates == 0
                && t.reindexed.is_empty()
                && t.failed.is_empty()
                && t.in_progress.is_empty()
                && t.leftovers.iter().all(|l| !l.ours)
        })
}
