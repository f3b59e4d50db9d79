//! What the test counts and reports: the kills and where they landed, what the runs
//! after them did, and the product's violations.

use std::collections::BTreeMap;

use crate::plan::Kill;
use crate::world::World;

#[derive(Default)]
pub struct Tally {
    /// One line per kill: what was planned, where it landed, what else was done.
    pub kills: Vec<String>,
    /// Kills by where they landed.
    pub landed: BTreeMap<String, usize>,
    pub terminated: usize,
    /// Invalid indexes of ours the kills left: oid → name (and whether writes still
    /// maintain it).
    pub leftovers: BTreeMap<u32, String>,
    /// Leftovers the invocations run until idle reported dropping.
    pub dropped_reported: usize,
    pub in_progress_checked: usize,
    /// Rebuilds left running by a kill that the next invocation reported running.
    pub seen_running: usize,
    pub invocations: usize,
    pub idle_points: usize,
    /// What the product did wrong, with the evidence: the test goes on to the end
    /// where it can, then fails on these.
    pub violations: Vec<String>,
}

impl World {
    pub fn summary(&self) -> String {
        let t = &self.tally;
        let mut text = format!(
            "kill test: {} kills in {:.0?}\n",
            t.kills.len(),
            self.started.elapsed()
        );
        for line in &t.kills {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str("kills by where they landed:\n");
        for (landed, count) in &t.landed {
            text.push_str(&format!("  {count:>2}  {landed}\n"));
        }
        text.push_str(&format!(
            "server processes terminated right after the kill: {}\n\
             invalid indexes of ours left by the kills: {} ({})\n\
             leftovers reported dropped by the runs after the kills: {}\n\
             rebuilds left running by a kill, reported running by the next invocation: {}\n\
             history rows in_progress checked against their live build: {}\n\
             invocations run until idle: {} (idle points: {})\n\
             sampler: {}\n",
            t.terminated,
            t.leftovers.len(),
            t.leftovers.values().cloned().collect::<Vec<_>>().join(", "),
            t.dropped_reported,
            t.seen_running,
            t.in_progress_checked,
            t.invocations,
            t.idle_points,
            self.sampler.summary(),
        ));
        text
    }

    /// The test cannot go on: fails now, with what it has seen so far.
    pub fn fail(&self, what: String) -> ! {
        panic!(
            "{what}\n\n{}\nviolations so far:\n{}",
            self.summary(),
            self.tally.violations.join("\n")
        );
    }

    /// The product broke a rule: recorded (once), the test goes on.
    pub fn violation(&mut self, what: String) {
        if !self.tally.violations.contains(&what) {
            println!("VIOLATION: {what}");
            self.tally.violations.push(what);
        }
    }

    /// One line for the kill: where it landed and what was done beside it.
    pub fn record(&mut self, n: usize, kill: &Kill, landed: String) {
        let what = match (kill.terminate, kill.hold_after_kill) {
            (true, _) => "client killed, server process terminated",
            (false, true) => "client killed, rebuild held until the next run saw it",
            (false, false) => "client killed, server left to go on",
        };
        self.tally.kills.push(format!(
            "#{n:02} {:<40} landed: {landed:<48} {what}",
            kill.moment.describe()
        ));
        *self.tally.landed.entry(landed).or_default() += 1;
    }
}
