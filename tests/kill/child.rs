//! The killed child: the real binary in a process of its own, so that SIGKILL ends
//! the function as abruptly as a crash would.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::json;

use crate::{CHILD_BUDGET, PATIENCE};
use common::Fixture;

/// The real binary, running one invocation (and its hops) with `CHILD_BUDGET`.
pub struct Killable {
    process: std::process::Child,
    label: String,
    started: Instant,
    log: PathBuf,
}

impl Killable {
    /// Starts `invoke --event -` on the fixture's target, its output to `log`.
    pub fn spawn(fx: &Fixture, log: PathBuf, label: String) -> Killable {
        let targets = json!([{"name": "main", "url": fx.cluster.url(&fx.target_db)}]);
        let out = File::create(&log).expect("child log");
        let mut process = Command::new(env!("CARGO_BIN_EXE_index-pilot"))
            .args(["invoke", "--event", "-"])
            .env("INDEX_PILOT_CONTROL_URL", fx.cluster.url(&fx.control_db))
            .env("INDEX_PILOT_TARGETS", targets.to_string())
            .env(
                "INDEX_PILOT_BUDGET",
                format!("{}ms", CHILD_BUDGET.as_millis()),
            )
            .env("INDEX_PILOT_SAFETY_MARGIN", "0s")
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("child log"))
            .stderr(out)
            .spawn()
            .expect("start the index-pilot binary");
        process
            .stdin
            .take()
            .expect("child stdin")
            .write_all(br#"{"mode": "run"}"#)
            .expect("event to the child");
        Killable {
            process,
            label,
            started: Instant::now(),
            log,
        }
    }

    /// Panics when the child has ended by itself or the moment takes too long: the
    /// test did not reach its moment.
    pub fn expect_running(&mut self, waiting_for: &str) {
        if let Some(status) = self.process.try_wait().expect("child status") {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail = &log[log.len().saturating_sub(4000)..];
            panic!(
                "{}: the child ended by itself ({status}) while the test waited for {waiting_for}; its output ends:\n{tail}",
                self.label
            );
        }
        assert!(
            self.started.elapsed() < PATIENCE,
            "{}: {waiting_for} not reached within {PATIENCE:?}",
            self.label
        );
    }

    pub fn kill(&mut self) {
        self.process.kill().expect("SIGKILL the child");
        self.process.wait().expect("reap the child");
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        if matches!(self.process.try_wait(), Ok(None)) {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}
