//! Watching a target database from the outside while index-pilot works on it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;

/// Samples, every 20 ms until dropped, how many index builds of index-pilot run at
/// once in a database (`pg_stat_progress_create_index`), and keeps the maximum.
pub struct BuildSampler {
    max: Arc<AtomicUsize>,
    samples: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl BuildSampler {
    pub fn start(observer: Client) -> BuildSampler {
        BuildSampler::start_in(observer, &[])
    }

    /// Samples the builds of these databases together (empty: the observer's own).
    pub fn start_in(observer: Client, databases: &[&str]) -> BuildSampler {
        let databases: Vec<String> = databases.iter().map(|d| (*d).to_owned()).collect();
        let max = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, n, s) = (max.clone(), samples.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                let Ok(row) = observer
                    .query_one(
                        "SELECT count(*) FROM pg_stat_progress_create_index p
                         JOIN pg_stat_activity a USING (pid)
                         WHERE a.application_name = 'index-pilot'
                           AND p.datid IN (SELECT oid FROM pg_database
                                           WHERE datname = ANY ($1::text[])
                                              OR (cardinality($1::text[]) = 0
                                                  AND datname = current_database()))",
                        &[&databases],
                    )
                    .await
                else {
                    break;
                };
                let running = usize::try_from(row.get::<_, i64>(0)).unwrap_or(0);
                m.fetch_max(running, Ordering::Relaxed);
                n.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        BuildSampler { max, samples, stop }
    }

    /// The most builds seen at once, and how many samples were taken.
    pub fn max_at_once(&self) -> (usize, usize) {
        (
            self.max.load(Ordering::Relaxed),
            self.samples.load(Ordering::Relaxed),
        )
    }
}

impl Drop for BuildSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Waits until `sql` (one boolean) is true, up to `limit`.
pub async fn wait_until(client: &Client, sql: &str, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let done: bool = client.query_one(sql, &[]).await.expect(sql).get(0);
        if done {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited {limit:?} in vain for: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pid of index-pilot's REINDEX running in this database, once there is one.
pub async fn running_reindex(client: &Client, limit: Duration) -> i32 {
    wait_until(
        client,
        "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database()
                AND application_name = 'index-pilot' AND query ILIKE 'REINDEX%' AND state = 'active')",
        limit,
    )
    .await;
    client
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                AND application_name = 'index-pilot' AND query ILIKE 'REINDEX%' AND state = 'active'",
            &[],
        )
        .await
        .expect("the REINDEX backend")
        .get(0)
}
