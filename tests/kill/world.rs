//! The world the test acts in: the fixture, its connections, what must stay as it
//! was, and the actions that prepare, free and tidy up the target between kills.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::child::Killable;
use crate::holders::session;
use crate::plan::round_index;
use crate::sampler::Sampler;
use crate::tally::Tally;
use crate::{PATIENCE, ROWS};
use common::Fixture;

pub struct World {
    pub fx: Fixture,
    /// On database `postgres`: sees every database's activity and holds nothing in
    /// the target (REINDEX CONCURRENTLY waits for the target's snapshots only).
    pub observer: Client,
    /// On the target, autocommit: catalog checks.
    pub inspector: Client,
    pub control: Client,
    pub target_oid: u32,
    pub control_oid: u32,
    pub history_oid: u32,
    /// Invalid indexes of others: oid → (name, relfilenode).
    pub foreign: BTreeMap<u32, (String, u32)>,
    /// Valid indexes index-pilot must skip: name → relfilenode.
    pub skipped: BTreeMap<String, u32>,
    pub sampler: Arc<Sampler>,
    pub logs: tempfile::TempDir,
    pub started: Instant,
    pub tally: Tally,
}

impl World {
    /// Terminates a server process and waits until it is gone.
    pub async fn terminate(&mut self, pid: i32) {
        self.observer
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .expect("pg_terminate_backend");
        let since = Instant::now();
        loop {
            let alive: i64 = self
                .observer
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                    &[&pid],
                )
                .await
                .expect("process list")
                .get(0);
            if alive == 0 {
                break;
            }
            if since.elapsed() > PATIENCE {
                self.fail(format!(
                    "server process {pid} still alive after its termination"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.tally.terminated += 1;
        for (oid, (name, ready)) in self.our_invalid_indexes().await {
            let shown = if ready {
                format!("{name} (maintained by writes)")
            } else {
                name
            };
            self.tally.leftovers.insert(oid, shown);
        }
    }

    /// Waits until an invocation can take the target: the lease of a killed
    /// invocation has expired.
    pub async fn wait_until_claimable(&self) {
        let since = Instant::now();
        loop {
            let free: bool = self
                .control
                .query_one(
                    "SELECT NOT EXISTS (SELECT 1 FROM index_pilot.target_leases WHERE expires_at > now())",
                    &[],
                )
                .await
                .expect("leases")
                .get(0);
            if free {
                return;
            }
            if since.elapsed() > PATIENCE {
                self.fail("the target's lease never became free".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the child of the next kill, its output in a log of its own.
    pub fn spawn_child(&mut self, label: String) -> Killable {
        let log = self
            .logs
            .path()
            .join(format!("child-{}.log", self.tally.kills.len() + 1));
        Killable::spawn(&self.fx, log, label)
    }

    /// Holds the child where it records a rebuild's start or end: its write to the
    /// history waits until the returned session rolls back.
    pub async fn lock_history(&self) -> Client {
        let lock = self.fx.control().await;
        lock.batch_execute("BEGIN; LOCK TABLE index_pilot.reindex_history IN EXCLUSIVE MODE")
            .await
            .expect("lock the history");
        lock
    }

    /// Creates this round's candidates: indexes without a baseline, found by what
    /// reads as the database's first scan (the control database forgets the scans),
    /// where initial_baseline = rebuild makes them candidates.
    pub async fn create_round_indexes(&self, n: usize) {
        self.control
            .batch_execute("DELETE FROM index_pilot.database_scans")
            .await
            .expect("forget the scans");
        let admin = session(&self.fx).await;
        for which in ['a', 'b'] {
            let name = round_index(n, which);
            admin
                .batch_execute(&format!(
                    "CREATE INDEX {name} ON slow (slow_key(k || '{name}'))"
                ))
                .await
                .unwrap_or_else(|e| panic!("create {name}: {e}"));
        }
    }

    /// What the holders' writes added goes away, so every build costs the same.
    pub async fn tidy_up(&self) {
        let admin = session(&self.fx).await;
        admin
            .batch_execute(&format!("DELETE FROM slow WHERE id < 1 OR id > {ROWS}"))
            .await
            .expect("delete the writers' rows");
        admin.batch_execute("VACUUM slow").await.expect("vacuum");
    }
}
