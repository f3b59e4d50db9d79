//! The sampler: counts our rebuilds running at once on the target for the whole test.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::MissedTickBehavior;
use tokio_postgres::Client;

use crate::SAMPLE_EVERY;

/// Counts our rebuilds running at once in the target, every `SAMPLE_EVERY` for the
/// whole test.
#[derive(Default)]
pub struct Sampler {
    samples: AtomicU64,
    pub busiest: AtomicU64,
    overlapping: AtomicU64,
    pub stop: AtomicBool,
    /// What the first samples with two or more rebuilds showed.
    overlaps: Mutex<Vec<String>>,
}

/// Our rebuilds in the target: index builds in progress, and REINDEX statements that
/// have not begun one yet (waiting for the table's lock).
const SAMPLE_SQL: &str = "
    SELECT count(*),
           coalesce(string_agg(format('pid %s %s (index oid %s, table oid %s)',
                                      a.pid, coalesce(p.phase, 'starting'), p.index_relid,
                                      p.relid), '; '), '')
    FROM pg_stat_activity a
    LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
    WHERE a.application_name = 'index-pilot' AND a.datid = $1
      AND (p.pid IS NOT NULL OR (a.state = 'active' AND a.query ILIKE 'REINDEX%'))";

impl Sampler {
    pub fn start(observer: Client, target_oid: u32) -> (Arc<Sampler>, tokio::task::JoinHandle<()>) {
        let sampler = Arc::new(Sampler::default());
        let shared = Arc::clone(&sampler);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            while !shared.stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let row = observer
                    .query_one(SAMPLE_SQL, &[&target_oid])
                    .await
                    .expect("sample pg_stat_progress_create_index");
                let running = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
                shared.samples.fetch_add(1, Ordering::Relaxed);
                shared.busiest.fetch_max(running, Ordering::Relaxed);
                if running >= 2 {
                    shared.overlapping.fetch_add(1, Ordering::Relaxed);
                    let mut overlaps = shared.overlaps.lock().unwrap();
                    if overlaps.len() < 5 {
                        overlaps.push(row.get(1));
                    }
                }
            }
        });
        (sampler, task)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} samples, at most {} rebuild(s) of ours at once, {} sample(s) with two or more{}",
            self.samples.load(Ordering::Relaxed),
            self.busiest.load(Ordering::Relaxed),
            self.overlapping.load(Ordering::Relaxed),
            match self.overlaps.lock().unwrap().as_slice() {
                [] => String::new(),
                seen => format!(": {}", seen.join(" | ")),
            }
        )
    }
}
