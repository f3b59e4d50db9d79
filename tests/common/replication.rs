//! A primary with a streaming hot standby, and what a failover does to them: the
//! standby promoted, the old primary stopped at once as on a crash.
//!
//! The standby starts as a copy of the primary's data directory, made after initdb
//! and before the primary first starts: what `pg_basebackup -R` makes of a running
//! primary, with `standby.signal` and `primary_conninfo` as it writes them. A copy
//! works with every server build: the server-only builds of other versions
//! (`scripts/postgres-versions.sh`) have no pg_basebackup, and the machine's refuses
//! servers newer than itself. initdb's pg_hba already lets 127.0.0.1 replicate
//! (trust), and `max_wal_senders` and `wal_level` default to what streaming needs.

use std::time::Duration;

use super::cluster::{as_cluster_user, cluster_dir, initdb, pg_bin_dir, Cluster};
use super::watch::wait_until;

/// A primary and a hot standby streaming from it, both running.
pub fn primary_with_standby() -> (Cluster, Cluster) {
    let primary_dir = initdb();
    let standby_dir = cluster_dir();
    let copied = as_cluster_user(
        std::process::Command::new("sh")
            .args([
                "-c",
                r#"cp -a "$0/data" "$1/data" && touch "$1/data/standby.signal""#,
            ])
            .arg(&primary_dir)
            .arg(&standby_dir),
    )
    .output()
    .expect("copy the data directory");
    assert!(
        copied.status.success(),
        "the standby's copy failed: {}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let primary = Cluster::launch(primary_dir, &[]);
    let conninfo = format!(
        "host=127.0.0.1 port={} user=postgres application_name=standby",
        primary.port
    );
    let standby = Cluster::launch(standby_dir, &[("primary_conninfo", &conninfo)]);
    (primary, standby)
}

impl Cluster {
    /// Waits until this standby has replayed all the WAL `primary` has written so far.
    pub async fn replay_everything_of(&self, primary: &Cluster) {
        let lsn: String = primary
            .connect("postgres")
            .await
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .expect("the primary's WAL position")
            .get(0);
        wait_until(
            &self.connect("postgres").await,
            &format!("SELECT coalesce(pg_last_wal_replay_lsn() >= '{lsn}', false)"),
            Duration::from_secs(30),
        )
        .await;
    }

    /// Promotes this standby to primary; pg_promote waits until it accepts writes.
    pub async fn promote(&self) {
        let promoted: bool = self
            .connect("postgres")
            .await
            .query_one("SELECT pg_promote()", &[])
            .await
            .expect("pg_promote")
            .get(0);
        assert!(promoted, "the standby did not finish its promotion in 60 s");
    }

    /// Stops the server at once (immediate shutdown: every backend quits on the spot,
    /// nothing is written), as if its host died.
    pub fn stop_immediately(&self) {
        let stopped = as_cluster_user(
            std::process::Command::new(pg_bin_dir().join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(self.dir.join("data")),
        )
        .output()
        .expect("run pg_ctl");
        assert!(
            stopped.status.success(),
            "pg_ctl stop -m immediate failed: {}",
            String::from_utf8_lossy(&stopped.stderr)
        );
    }
}
