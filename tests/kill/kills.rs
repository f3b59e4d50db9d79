//! Killing the child at each moment of the plan: what holds the rebuild there, how
//! the test sees it has come, and where the kill landed.

use std::time::Duration;

use crate::holders::{Holders, EARLY_WRITE, READ, SNAPSHOT, TABLE_LOCK};
use crate::observe::{first_statement_line, Activity};
use crate::plan::{rank, Kill, Moment};
use crate::world::World;
use crate::LATE_ROWS;

impl World {
    /// Runs one child and kills it at `kill`'s moment. Returns what still holds the
    /// rebuild it left running (with its server process) when it is to stay held.
    pub async fn kill_at(&mut self, n: usize, kill: &Kill) -> Option<(Holders, i32)> {
        let label = format!("kill #{n:02} ({})", kill.moment.describe());
        match kill.moment {
            Moment::BeforeRebuild => self.kill_before_rebuild(n, kill, label).await,
            Moment::WaitingForTableLock => self.kill_waiting_for_table_lock(n, kill, label).await,
            Moment::Phase(phase) => return self.kill_in_phase(n, kill, label, phase).await,
            Moment::RightAfter => self.kill_right_after(n, kill, label).await,
            Moment::DuringCleanup => self.kill_during_cleanup(n, kill, label).await,
        }
        None
    }

    async fn kill_before_rebuild(&mut self, n: usize, kill: &Kill, label: String) {
        let lock = self.lock_history().await;
        self.wait_until_claimable().await;
        let mut child = self.spawn_child(label);
        let statement = loop {
            child.expect_running("the child recording a rebuild's start");
            if let Some(statement) = self.history_waiter().await {
                break statement;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if let Some(rebuild) = self.rebuild().await {
            self.violation(format!(
                "a REINDEX runs before its start is recorded: {rebuild:?}"
            ));
        }
        let sessions = self.sessions_in_target().await;
        child.kill();
        lock.batch_execute("ROLLBACK").await.expect("unlock");
        self.record(
            n,
            kill,
            format!("no REINDEX yet, {sessions} target session(s), blocked in {statement}"),
        );
    }

    async fn kill_waiting_for_table_lock(&mut self, n: usize, kill: &Kill, label: String) {
        let mut holders = Holders::default();
        holders.open(&self.fx, "table lock", TABLE_LOCK).await;
        self.wait_until_claimable().await;
        let mut child = self.spawn_child(label);
        let rebuild = loop {
            child.expect_running("a REINDEX waiting for its table's lock");
            if let Some(r) = self.rebuild().await {
                if r.phase.is_none() && r.waiting_for_lock {
                    break r;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        child.kill();
        if kill.terminate {
            self.terminate(rebuild.pid).await;
        }
        holders.end_all().await;
        self.record(
            n,
            kill,
            "waiting for the table's lock (no phase yet)".to_owned(),
        );
    }

    async fn kill_in_phase(
        &mut self,
        n: usize,
        kill: &Kill,
        label: String,
        wanted: &'static str,
    ) -> Option<(Holders, i32)> {
        let wanted_rank = rank(wanted);
        let fx = &self.fx;
        let mut holders = Holders::default();
        // Held from before the child starts: what the wanted phase waits for. A short
        // phase is caught at the first sample at or after it, with the next one held.
        match wanted {
            "initializing" => {
                holders.open(fx, "table lock", TABLE_LOCK).await;
                holders.open(fx, "early writer", EARLY_WRITE).await;
            }
            "waiting for writers before build" => {
                holders.open(fx, "early writer", EARLY_WRITE).await
            }
            "waiting for old snapshots" => holders.open(fx, "snapshot", SNAPSHOT).await,
            "waiting for readers before marking dead" | "waiting for readers before dropping" => {
                holders.open(fx, "reader", READ).await
            }
            _ => {}
        }
        // A writer that starts during the build holds "waiting for writers before
        // validation"; once it commits, validation computes the keys of its rows.
        let late_writer = (rank("building index: sorting live tuples")
            ..=rank("index validation: scanning table"))
            .contains(&wanted_rank);
        let late_writer_commits = wanted_rank >= rank("index validation: scanning index");
        // A second reader that comes while the first holds "marking dead" holds
        // "dropping" once the first has gone.
        let second_reader = wanted == "waiting for readers before dropping";
        let short = matches!(
            wanted,
            "initializing"
                | "building index: sorting live tuples"
                | "index validation: scanning index"
        );

        self.wait_until_claimable().await;
        let mut child = self.spawn_child(label);
        if wanted == "initializing" {
            loop {
                child.expect_running("a REINDEX waiting for its table's lock");
                if let Some(r) = self.rebuild().await {
                    if r.phase.is_none() && r.waiting_for_lock {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            holders.end("table lock").await;
        }
        let (mut late_writer_open, mut late_writer_done, mut second_reader_open) =
            (false, false, false);
        let mut statement = None;
        let (pid, seen) = loop {
            child.expect_running(wanted);
            if let Some(Activity {
                pid,
                query_start,
                phase: Some(phase),
                ..
            }) = self.rebuild().await
            {
                // The moment belongs to the child's first rebuild, not to the next one.
                if *statement.get_or_insert((pid, query_start)) != (pid, query_start) {
                    self.fail(format!(
                        "kill #{n:02}: the rebuild ended before {wanted}: the child began the next"
                    ));
                }
                let at = rank(&phase);
                if late_writer && !late_writer_open && at >= rank("building index") {
                    let write = format!(
                        "INSERT INTO slow (id, k) SELECT -g, md5(g::text) FROM generate_series(1, {LATE_ROWS}) g"
                    );
                    holders.open(&self.fx, "late writer", &write).await;
                    late_writer_open = true;
                }
                if late_writer_commits
                    && late_writer_open
                    && !late_writer_done
                    && at >= rank("waiting for writers before validation")
                {
                    holders.end("late writer").await;
                    late_writer_done = true;
                }
                if second_reader
                    && !second_reader_open
                    && at >= rank("waiting for readers before marking dead")
                {
                    holders.open(&self.fx, "second reader", READ).await;
                    holders.end("reader").await;
                    second_reader_open = true;
                }
                if at >= wanted_rank {
                    break (pid, phase);
                }
            }
            if !short {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        child.kill();
        // The server goes on: where it is now bounds where the kill landed.
        let after = match self.rebuild().await {
            Some(r) if r.pid == pid => r.phase.unwrap_or_else(|| "no phase".to_owned()),
            _ => "ended".to_owned(),
        };
        let landed = if after == seen {
            seen
        } else {
            format!("{seen} (server at {after} right after)")
        };
        if kill.terminate {
            self.terminate(pid).await;
        }
        self.record(n, kill, landed);
        if kill.hold_after_kill {
            return Some((holders, pid));
        }
        holders.end_all().await;
        None
    }

    async fn kill_right_after(&mut self, n: usize, kill: &Kill, label: String) {
        let mut holders = Holders::default();
        holders.open(&self.fx, "reader", READ).await;
        self.wait_until_claimable().await;
        let mut child = self.spawn_child(label);
        let pid = loop {
            child.expect_running("waiting for readers before marking dead");
            if let Some(Activity {
                pid,
                phase: Some(phase),
                ..
            }) = self.rebuild().await
            {
                if rank(&phase) >= rank("waiting for readers before marking dead") {
                    break pid;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // The REINDEX may end now; the child's record of it waits for the lock.
        let lock = self.lock_history().await;
        holders.end_all().await;
        let statement = loop {
            child.expect_running("the REINDEX to end and the child to record it");
            let running = self.rebuild().await.is_some_and(|r| r.pid == pid);
            if !running {
                if let Some(statement) = self.history_waiter().await {
                    break statement;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        child.kill();
        lock.batch_execute("ROLLBACK").await.expect("unlock");
        self.record(
            n,
            kill,
            format!("REINDEX ended, child blocked in {statement}"),
        );
    }

    async fn kill_during_cleanup(&mut self, n: usize, kill: &Kill, label: String) {
        let ours = self.our_invalid_indexes().await;
        assert!(
            !ours.is_empty(),
            "{label}: the kill before left no leftover to clean up"
        );
        // A reader on the table makes DROP INDEX CONCURRENTLY wait (lock_timeout 1min).
        let mut holders = Holders::default();
        holders.open(&self.fx, "reader", READ).await;
        self.wait_until_claimable().await;
        let mut child = self.spawn_child(label);
        let drop = loop {
            child.expect_running("a DROP INDEX CONCURRENTLY of a leftover of ours");
            if let Some(drop) = self.statements("DROP INDEX%").await.into_iter().next() {
                break drop;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        child.kill();
        if kill.terminate {
            self.terminate(drop.pid).await;
        }
        holders.end_all().await;
        self.record(
            n,
            kill,
            format!(
                "{}{}",
                first_statement_line(&drop.query),
                if drop.waiting_for_lock {
                    " (waiting)"
                } else {
                    ""
                }
            ),
        );
    }
}
