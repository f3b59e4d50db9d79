//! Indexes whose rebuilds take as long as a test needs: their key goes through a
//! function that sleeps in the sessions that rebuild them.

use std::time::Duration;

use super::steps::batch;
use super::Fixture;

/// Rows of the table behind [`create_slow_indexes`]: few enough that each sleep is
/// long (a 1 ms sleep takes 1 to 2 ms depending on the machine's timers, a 10 ms one
/// 10 to 11), enough for a 16 kB index.
const SLOW_ROWS: u32 = 100;

/// `slow_key(text)`: sleeps `pilot.delay` seconds per row in sessions where that is
/// set (the database sets it for new sessions once the indexes exist, so only
/// rebuilds are slow).
async fn create_slow_key(fx: &Fixture) {
    fx.target()
        .await
        .batch_execute(
            "CREATE FUNCTION slow_key(t text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 PERFORM pg_sleep(coalesce(nullif(current_setting('pilot.delay', true), '')::float8, 0));
                 RETURN t;
             END $$;",
        )
        .await
        .expect("slow_key");
}

/// From now on, new sessions of the target database (rebuilds) take about `rebuild`
/// per slow index.
pub async fn make_rebuilds_slow(fx: &Fixture, rebuild: Duration) {
    let delay_per_row = rebuild.as_secs_f64() / f64::from(SLOW_ROWS);
    fx.target()
        .await
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET pilot.delay = '{delay_per_row}'",
            fx.target_db
        ))
        .await
        .expect("slow rebuilds");
}

/// `count` indexes on one table `slow`, `slow_0` …, whose rebuilds each take about
/// `rebuild`.
pub async fn create_slow_indexes(fx: &Fixture, count: usize, rebuild: Duration) {
    create_slow_key(fx).await;
    let target = fx.target().await;
    target
        .batch_execute(&format!(
            "CREATE TABLE slow (id int, k text);
             INSERT INTO slow SELECT g, md5(g::text) FROM generate_series(1, {SLOW_ROWS}) g;"
        ))
        .await
        .expect("slow table");
    for i in 0..count {
        target
            .batch_execute(&format!(
                "CREATE INDEX slow_{i} ON slow (slow_key(k || '{i}'))"
            ))
            .await
            .expect("slow index");
    }
    fx.vacuum("slow").await;
    make_rebuilds_slow(fx, rebuild).await;
}

/// `count` tables `lazy_0` …, each with one index `lazy_<i>_k` whose rebuild takes
/// about `rebuild`: rebuilds of different tables, which could run side by side.
pub async fn create_slow_tables(fx: &Fixture, count: usize, rebuild: Duration) {
    create_slow_key(fx).await;
    let target = fx.target().await;
    for i in 0..count {
        target
            .batch_execute(&format!(
                "CREATE TABLE lazy_{i} (id int, k text);
                 INSERT INTO lazy_{i} SELECT g, md5(g::text) FROM generate_series(1, {SLOW_ROWS}) g;
                 CREATE INDEX lazy_{i}_k ON lazy_{i} (slow_key(k));"
            ))
            .await
            .expect("slow table");
        fx.vacuum(&format!("lazy_{i}")).await;
    }
    make_rebuilds_slow(fx, rebuild).await;
}

/// Table `lazy` with the btree `lazy_k` on `slow_key(k)`: bloated against its
/// baseline, its statistics stale, and from now on each call of slow_key in a new
/// session sleeps 3 ms, so a confirmation's ANALYZE of its 2,000 live rows takes about
/// 6 s (and so would its rebuild). Every index of 8 kB or more is judged and large
/// enough to be confirmed.
pub async fn create_slow_confirmation(fx: &Fixture) {
    for (key, value) in [
        ("initial_baseline", "current"),
        ("index_size_threshold", "8kB"),
        ("minimum_reliable_index_size", "8kB"),
        ("confirm_size_threshold", "8kB"),
    ] {
        fx.set(&[], key, value).await;
    }
    create_slow_key(fx).await;
    let target = fx.target().await;
    batch(
        &target,
        "CREATE TABLE lazy (id int, k text);
         INSERT INTO lazy SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
         CREATE INDEX lazy_k ON lazy (slow_key(k));",
    )
    .await;
    fx.vacuum("lazy").await;
    // Its baseline now, then bloat, then statistics that are stale again.
    fx.invoke_main(serde_json::json!({"mode": "baseline"}))
        .await;
    fx.bloat("lazy").await;
    // On a connection of its own, gone before the counts are read: PostgreSQL 14 and
    // older send a session's counts only when it has been idle a while, or leaves.
    drop(target);
    batch(
        &fx.target().await,
        "UPDATE lazy SET id = id WHERE id % 5 = 3",
    )
    .await;
    fx.quiet().await;
    fx.statistics_show("lazy", "n_mod_since_analyze > 500")
        .await;
    let target = fx.target().await;
    batch(
        &target,
        &format!(
            "ALTER DATABASE \"{}\" SET pilot.delay = '0.003'",
            fx.target_db
        ),
    )
    .await;
}
