//! What must hold after every invocation and at every idle point.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use index_pilot::report::{Report, TargetReport};

use crate::until_idle::as_json;
use crate::world::World;

impl World {
    /// Every history row `in_progress` has its REINDEX running, or the invocation that
    /// just looked at the target reported it running (it may have ended since).
    pub async fn check_in_progress_rows(&mut self, entry: &TargetReport, reports: &[Report]) {
        let rows = self
            .control
            .query(
                "SELECT id, index_name, backend_pid, backend_start FROM index_pilot.reindex_history
                 WHERE status = 'in_progress' ORDER BY id",
                &[],
            )
            .await
            .expect("history rows in progress");
        let live: BTreeSet<(i32, SystemTime)> = self
            .observer
            .query(
                "SELECT pid, backend_start FROM pg_stat_activity
                 WHERE datid = $1 AND application_name = 'index-pilot' AND state = 'active'
                   AND query ILIKE 'REINDEX%'",
                &[&self.target_oid],
            )
            .await
            .expect("running rebuilds")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for row in rows {
            self.tally.in_progress_checked += 1;
            let (id, index): (i64, String) = (row.get(0), row.get(1));
            let (pid, start): (Option<i32>, Option<SystemTime>) = (row.get(2), row.get(3));
            let running = pid.zip(start).is_some_and(|build| live.contains(&build));
            let reported = entry
                .in_progress
                .iter()
                .any(|p| Some(p.pid) == pid && p.index == format!("public.{index}"));
            if !running && !reported {
                self.violation(format!(
                    "history row {id} ({index}, pid {pid:?}) is in_progress without its build, after an invocation that looked at the target: {}",
                    as_json(reports)
                ));
            }
        }
    }

    /// Nothing of ours is left over, nothing of others touched, never two rebuilds at once.
    pub async fn check_idle(&mut self) {
        self.tally.idle_points += 1;
        let mut wrong = Vec::new();
        let invalid = self.invalid_indexes().await;
        let ours: Vec<&String> = invalid
            .iter()
            .filter(|(oid, _)| !self.foreign.contains_key(oid))
            .map(|(_, (name, _))| name)
            .collect();
        if !ours.is_empty() {
            wrong.push(format!("invalid indexes of ours remain at idle: {ours:?}"));
        }
        for (oid, (name, relfilenode)) in &self.foreign {
            let now = invalid.get(oid).map(|(n, _)| n.clone());
            let node = match &now {
                Some(_) => Some(self.relfilenode(&format!("public.\"{name}\"")).await),
                None => None,
            };
            if now.as_ref() != Some(name) || node != Some(*relfilenode) {
                wrong.push(format!(
                    "others' invalid index {name} (oid {oid}) was touched: now {now:?}, relfilenode {node:?}"
                ));
            }
        }
        for (index, relfilenode) in &self.skipped {
            let now = self.relfilenode(index).await;
            if now != *relfilenode {
                wrong.push(format!(
                    "skipped index {index} was rebuilt: relfilenode {relfilenode} → {now}"
                ));
            }
        }
        let open: Vec<String> = self
            .control
            .query(
                "SELECT index_name FROM index_pilot.reindex_history WHERE status = 'in_progress'
                 UNION ALL SELECT 'leftover ' || index_name FROM index_pilot.leftovers",
                &[],
            )
            .await
            .expect("open history rows")
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !open.is_empty() {
            wrong.push(format!(
                "at idle, history rows in_progress or recorded leftovers remain: {open:?}"
            ));
        }
        if self.sampler.busiest.load(Ordering::Relaxed) > 1 {
            wrong.push(format!(
                "two rebuilds of ours ran at once on the target: {}",
                self.sampler.summary()
            ));
        }
        for what in wrong {
            self.violation(what);
        }
    }
}
