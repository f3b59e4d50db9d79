//! The kill test. The function's process (the real binary, `invoke --event -`) is
//! killed with SIGKILL at 23 moments spread over as many runs: before a rebuild
//! starts, while its REINDEX waits for the table's lock, in each phase of REINDEX
//! CONCURRENTLY, right after one ended, and while it drops what a rebuild whose
//! server process was terminated left behind. For some moments only the client dies
//! (the server goes on), for others the rebuild's server process is terminated right
//! after, which leaves `_ccnew` or `_ccold` indexes. After each kill the function runs
//! again until idle.
//!
//! A phase too short to be caught (initializing, sorting, validation's index scan) is
//! killed at the first sample at or after it; every kill says where it landed.
//!
//! Throughout, a sampler reads pg_stat_progress_create_index: never two rebuilds of
//! ours at once on the target. At every idle point: no invalid index but others',
//! no history row `in_progress`, others' invalid indexes and skipped indexes as they
//! were. After every invocation: each history row `in_progress` has its build running.

mod checks;
mod child;
mod holders;
mod kills;
mod observe;
mod plan;
mod sampler;
mod set_up;
mod tally;
mod until_idle;
mod world;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Fixture;

use crate::holders::session;
use crate::plan::{plan, Moment};
use crate::sampler::Sampler;
use crate::set_up::{database_oid, set_up};
use crate::tally::Tally;
use crate::world::World;

/// Rows of the table every rebuild works on: the build computes each row's slow key.
const ROWS: i32 = 100;
/// What the slow key sleeps per row in index-pilot's sessions: a build takes about
/// half a second, long enough to be caught in, short enough for 23 rounds.
const DELAY_PER_ROW: &str = "0.005";
/// Rows a writer commits while a build runs: validation computes their keys then,
/// which holds "index validation: scanning table" for about 0.4 s.
const LATE_ROWS: i32 = 80;
/// The killed child's budget: its lease and its run go stale this long after it
/// starts, so the next invocation waits for that.
const CHILD_BUDGET: Duration = Duration::from_secs(3);
/// The budget of each invocation that runs until idle.
const RUN_BUDGET: Duration = Duration::from_secs(3);
/// The longest any one moment, condition or idle may take.
const PATIENCE: Duration = Duration::from_secs(30);
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_moment_it_leaves_nothing_behind() {
    let started = Instant::now();
    let plan = plan();
    let fx = Fixture::new("kill").await;
    let (foreign, skipped) = set_up(&fx, &plan).await;
    let observer = fx.cluster.connect("postgres").await;
    let target_oid = database_oid(&observer, &fx.target_db).await;
    let control_oid = database_oid(&observer, &fx.control_db).await;
    let control = fx.control().await;
    let history_oid: u32 = control
        .query_one("SELECT 'index_pilot.reindex_history'::regclass::oid", &[])
        .await
        .expect("history table")
        .get(0);
    let (sampler, sampling) = Sampler::start(fx.cluster.connect("postgres").await, target_oid);
    let mut world = World {
        inspector: session(&fx).await,
        fx,
        observer,
        control,
        target_oid,
        control_oid,
        history_oid,
        foreign,
        skipped,
        sampler: Arc::clone(&sampler),
        logs: tempfile::tempdir().expect("log directory"),
        started,
        tally: Tally::default(),
    };

    world.until_idle(None).await;
    for (i, kill) in plan.iter().enumerate() {
        let n = i + 1;
        if kill.moment != Moment::DuringCleanup {
            world.create_round_indexes(n).await;
        }
        let held = world.kill_at(n, kill).await;
        // A kill that leaves something to clean up is followed by one during that cleanup.
        let cleanup_next = plan
            .get(n)
            .is_some_and(|next| next.moment == Moment::DuringCleanup);
        if cleanup_next {
            assert!(held.is_none(), "kill #{n:02} holds a rebuild");
            continue;
        }
        world.until_idle(held).await;
        world.tidy_up().await;
    }

    sampler.stop.store(true, Ordering::Relaxed);
    sampling.await.expect("the sampler failed");
    let history: BTreeMap<String, i64> = world
        .control
        .query(
            "SELECT status, count(*) FROM index_pilot.reindex_history GROUP BY 1",
            &[],
        )
        .await
        .expect("history")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // A completed rebuild carries its index's baseline over: no index is rebuilt twice.
    let rebuilt_twice: Vec<String> = world
        .control
        .query(
            "SELECT index_name FROM index_pilot.reindex_history WHERE status = 'completed'
             GROUP BY index_name HAVING count(*) > 1 ORDER BY 1",
            &[],
        )
        .await
        .expect("rebuilds per index")
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !rebuilt_twice.is_empty() {
        let evidence = world.history_of(&rebuilt_twice).await;
        world.violation(format!(
            "indexes rebuilt (completed) more than once: {rebuilt_twice:?}\n{evidence}"
        ));
    }
    // Which indexes took more than one attempt (a terminated rebuild is retried).
    let retried: Vec<String> = world
        .control
        .query(
            "SELECT index_name || ' ' || string_agg(status, '+' ORDER BY id)
             FROM index_pilot.reindex_history GROUP BY index_name HAVING count(*) > 1
             ORDER BY index_name",
            &[],
        )
        .await
        .expect("attempts per index")
        .iter()
        .map(|r| r.get(0))
        .collect();
    println!("{}", world.summary());
    println!(
        "indexes rebuilt in more than one attempt: {}\n\
         rebuilds in the history: {history:?}\n\
         invalid indexes of others untouched: {}; skipped indexes untouched: {}\n\
         violations: {}",
        retried.join(", "),
        world.foreign.len(),
        world.skipped.len(),
        world.tally.violations.len(),
    );
    assert_eq!(world.tally.kills.len(), plan.len());
    assert_eq!(
        sampler.busiest.load(Ordering::Relaxed),
        1,
        "the sampler saw our rebuilds, never two at once: {}",
        sampler.summary()
    );
    assert_eq!(history.get("in_progress"), None, "{history:?}");
    assert!(
        world.tally.violations.is_empty(),
        "the product broke its rules:\n\n{}",
        world.tally.violations.join("\n\n")
    );
}
