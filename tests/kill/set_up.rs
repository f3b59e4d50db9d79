//! The target before the first kill: the slow table, others' invalid indexes, the
//! indexes to skip, and the settings that make each candidate rebuilt once.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::holders::session;
use crate::plan::{round_index, Kill, Moment};
use crate::{DELAY_PER_ROW, ROWS};
use common::Fixture;

/// The target: a table whose index keys sleep per row in index-pilot's sessions,
/// others' invalid indexes on it (one named like the copy of each index a kill will
/// terminate), and indexes index-pilot must skip.
pub async fn set_up(
    fx: &Fixture,
    plan: &[Kill],
) -> (BTreeMap<u32, (String, u32)>, BTreeMap<String, u32>) {
    let admin = session(fx).await;
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION slow_key(t text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 PERFORM pg_sleep(coalesce(nullif(current_setting('pilot.delay', true), '')::float8, 0));
                 RETURN t;
             END $$;
             CREATE TABLE slow (id int, k text, dup int NOT NULL DEFAULT 1);
             INSERT INTO slow SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g;
             CREATE TABLE keep (id int);
             INSERT INTO keep SELECT generate_series(1, 2000);
             CREATE INDEX keep_id ON keep (id);
             CREATE SCHEMA repack;
             CREATE TABLE repack.t (id int);
             INSERT INTO repack.t SELECT generate_series(1, 2000);
             CREATE INDEX t_id ON repack.t (id);"
        ))
        .await
        .expect("tables");
    for table in ["slow", "keep", "repack.t"] {
        admin
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await
            .expect("vacuum");
    }
    let mut foreign_names = vec!["foreign_unique_dup".to_owned()];
    for (i, kill) in plan.iter().enumerate() {
        if kill.terminate && matches!(kill.moment, Moment::Phase(_)) {
            let index = round_index(i + 1, 'a');
            foreign_names.push(format!("{index}_ccnew"));
            foreign_names.push(format!("{index}_ccold"));
        }
    }
    // Someone else's failed builds: invalid, and some named as our copies would be.
    for name in &foreign_names {
        let failed = admin
            .batch_execute(&format!(
                "CREATE UNIQUE INDEX CONCURRENTLY \"{name}\" ON slow (dup)"
            ))
            .await;
        assert!(failed.is_err(), "{name} was meant to fail");
    }
    let foreign = admin
        .query(
            "SELECT c.oid, c.relname::text, c.relfilenode FROM pg_index x
             JOIN pg_class c ON c.oid = x.indexrelid WHERE NOT x.indisvalid",
            &[],
        )
        .await
        .expect("others' invalid indexes")
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect::<BTreeMap<u32, (String, u32)>>();
    assert_eq!(foreign.len(), foreign_names.len(), "{foreign:?}");
    let mut skipped = BTreeMap::new();
    for index in ["public.keep_id", "repack.t_id"] {
        let node: u32 = admin
            .query_one(
                "SELECT relfilenode FROM pg_class WHERE oid = $1::text::regclass",
                &[&index],
            )
            .await
            .expect("relfilenode")
            .get(0);
        skipped.insert(index.to_owned(), node);
    }
    // Only sessions that start from now on (index-pilot's) compute keys slowly.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET pilot.delay = '{DELAY_PER_ROW}'",
            fx.target_db
        ))
        .await
        .expect("slow keys");

    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    // Only indexes without a baseline are candidates: each gets rebuilt once.
    fx.set(&[], "index_rebuild_scale_factor", "1000").await;
    // The kills make rebuilds fail on purpose: that is no reason to give up on them.
    fx.set(&[], "quarantine_after", "1000").await;
    fx.set(&[("table_name", "keep")], "skip", "true").await;
    (foreign, skipped)
}

pub async fn database_oid(client: &Client, name: &str) -> u32 {
    client
        .query_one("SELECT oid FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("database oid")
        .get(0)
}
