//! Steps the integration tests share: tables with an index, sessions that name
//! themselves, what is invalid in the target, what a report says was rebuilt.

use std::time::Duration;

use index_pilot::domain::confirm::DEAD_SHARE;
use index_pilot::invocation::handler::handle;
use index_pilot::report::{Deferred, Report, TargetReport};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tokio_postgres::Client;

use super::{lambda_context, Fixture};

/// Runs `sql` (simple protocol), panicking with the server's error.
pub async fn batch(client: &Client, sql: &str) {
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}

/// The report entry of one target.
pub fn entry<'a>(report: &'a Report, target: &str) -> &'a TargetReport {
    report
        .targets
        .iter()
        .find(|t| t.name == target)
        .unwrap_or_else(|| panic!("no entry for {target}: {report:?}"))
}

/// The deferral of one index in a report entry.
pub fn deferral<'a>(report: &'a TargetReport, index: &str) -> &'a Deferred {
    report
        .deferred
        .iter()
        .find(|d| d.index == index)
        .unwrap_or_else(|| panic!("{index} is not deferred: {report:?}"))
}

/// Why one index is deferred, in a report entry.
pub fn deferred_reason<'a>(report: &'a TargetReport, index: &str) -> &'a str {
    &deferral(report, index).reason
}

/// The kinds of a report entry's preflight findings (the entry as JSON).
pub fn finding_kinds(entry: &Value) -> Vec<String> {
    entry["preflight"]["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["kind"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The indexes a report entry says were rebuilt, by name, sorted.
pub fn rebuilt(report: &TargetReport) -> Vec<&str> {
    let mut names: Vec<&str> = report.reindexed.iter().map(|r| r.index.as_str()).collect();
    names.sort();
    names
}

/// A [`Fixture::statistics_show`] condition: the statistics know of a VACUUM, and of
/// no more dead tuples than a confirmation reads pgstatindex with. After a large
/// DELETE that VACUUM followed, it also says that the VACUUM's counts came after the
/// DELETE's. Not "none": a VACUUM cannot prune a page another backend has pinned just
/// then (one writing it out), and PostgreSQL 15 and newer count the dead tuples it
/// leaves there (14 and older skip the page and count none).
pub fn vacuumed() -> String {
    format!("last_vacuum IS NOT NULL AND n_dead_tup <= {DEAD_SHARE} * greatest(n_live_tup, 1)")
}

/// Just the names of (name, oid) pairs.
pub fn names(list: &[(String, u32)]) -> Vec<&str> {
    list.iter().map(|(name, _)| name.as_str()).collect()
}

impl Fixture {
    /// `rows` rows of (id, md5 text) with a btree `<table>_id` on id; vacuumed and
    /// analyzed.
    pub async fn create_table(&self, table: &str, rows: i32) {
        batch(
            &self.target().await,
            &format!(
                "CREATE TABLE {table} (id int NOT NULL, payload text NOT NULL);
                 INSERT INTO {table} SELECT g, md5(g::text) FROM generate_series(1, {rows}) g;
                 CREATE INDEX {table}_id ON {table} (id);"
            ),
        )
        .await;
        self.vacuum(table).await;
    }

    /// `picky(id)` raises in sessions where `pilot.picky` is on: the expression index
    /// `fussy_picky` on it (100,000 rows) cannot be rebuilt there (P0001), like an
    /// expression that fails on some row.
    pub async fn create_picky_index(&self) {
        batch(
            &self.target().await,
            "CREATE FUNCTION picky(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 IF current_setting('pilot.picky', true) = 'on' THEN
                     RAISE EXCEPTION 'picky refuses %', v;
                 END IF;
                 RETURN v;
             END $$;
             CREATE TABLE fussy (id int);
             INSERT INTO fussy SELECT generate_series(1, 100000);
             CREATE INDEX fussy_picky ON fussy (picky(id));",
        )
        .await;
        self.vacuum("fussy").await;
    }

    /// Tables of `rows` rows with their btree, bloated, every index of 16 kB or more a
    /// candidate (as [`Fixture::new`] sees a first scan), and a short lock_timeout
    /// so that a rebuild started where it must not fails quickly.
    pub async fn bloated_tables(&self, tables: &[&str], rows: i32) {
        for table in tables {
            self.create_table(table, rows).await;
        }
        self.set(&[], "index_size_threshold", "16kB").await;
        self.set(&[], "minimum_reliable_index_size", "16kB").await;
        self.set(&[], "lock_timeout", "2s").await;
        for table in tables {
            self.bloat(table).await;
        }
    }

    /// Deletes 60 % of the rows and vacuums: the index keeps its size, reltuples drops.
    pub async fn bloat(&self, table: &str) {
        self.delete_and_vacuum(table, "id % 5 < 3").await;
    }

    /// Deletes the rows of `table` (a name as the catalog spells it) that `condition`
    /// holds for, then vacuums once the statistics count them: a session's counts
    /// reach the statistics apart from the VACUUM's, and when they come after it
    /// they outlive it (dead tuples that "await VACUUM" forever).
    pub async fn delete_and_vacuum(&self, table: &str, condition: &str) {
        batch(
            &self.target().await,
            &format!("DELETE FROM {table} WHERE {condition}"),
        )
        .await;
        self.statistics_show(table, "n_dead_tup > 0").await;
        self.vacuum_clean(&[table]).await;
    }

    /// VACUUM ANALYZE of `tables` (names as the catalog spells them), again for each
    /// one the statistics do not show [`vacuumed`] and analyzed: a VACUUM keeps the
    /// dead tuples a snapshot may still see, and other tests' sessions share the
    /// server (seen on PostgreSQL 13 and 17 with four tests at a time: a VACUUM left
    /// every dead tuple of a table).
    pub async fn vacuum_clean(&self, tables: &[&str]) {
        let target = self.target().await;
        let query = format!(
            "SELECT relname::text FROM pg_stat_user_tables
             WHERE relname = ANY ($1) AND NOT ({} AND n_mod_since_analyze = 0)",
            vacuumed()
        );
        let mut left: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        for _ in 0..50 {
            self.vacuum(&left.join(", ")).await;
            batch(&target, "SELECT pg_stat_clear_snapshot()").await;
            let rows = target.query(&query, &[&left]).await.unwrap();
            left = rows.iter().map(|row| row.get(0)).collect();
            if left.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("after 50 VACUUMs the statistics show dead tuples or no VACUUM in {left:?}");
    }

    /// A session of the target database that names itself, as applications do, and
    /// its pid.
    pub async fn session(&self, application: &str) -> (Client, i32) {
        let url = format!(
            "{}?application_name={application}",
            self.url_as_role("postgres")
        );
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect as {application}: {e}"));
        tokio::spawn(connection);
        let pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("backend pid")
            .get(0);
        (client, pid)
    }

    /// Invalid indexes of the target with their oids, by name.
    pub async fn invalid_indexes(&self) -> Vec<(String, u32)> {
        self.target()
            .await
            .query(
                "SELECT c.relname::text, c.oid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                 WHERE NOT x.indisvalid ORDER BY 1",
                &[],
            )
            .await
            .expect("invalid indexes")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    /// Waits until `pg_stat_user_tables` shows `condition` for `table` (a name as
    /// the catalog spells it): the statistics reach readers late, on PostgreSQL 14
    /// and older by up to half a second, and a session's own counts only once it is
    /// idle or gone.
    pub async fn statistics_show(&self, table: &str, condition: &str) {
        let target = self.target().await;
        let query = format!(
            "SELECT coalesce(bool_and({condition}), false) FROM pg_stat_user_tables WHERE relname = $1"
        );
        for _ in 0..100 {
            batch(&target, "SELECT pg_stat_clear_snapshot()").await;
            if target
                .query_one(&query, &[&table])
                .await
                .unwrap()
                .get::<_, bool>(0)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let shown = target
            .query_one(
                "SELECT format('n_live_tup %s, n_dead_tup %s, n_mod_since_analyze %s, last_vacuum %s',
                               n_live_tup, n_dead_tup, n_mod_since_analyze, last_vacuum)
                 FROM pg_stat_user_tables WHERE relname = $1",
                &[&table],
            )
            .await
            .map(|row| row.get::<_, String>(0))
            .unwrap_or_else(|e| e.to_string());
        panic!("pg_stat_user_tables never showed {condition} for {table}: {shown}");
    }

    /// Waits until no session but the caller's (and a test's `holder`) is connected
    /// to the target database: a backend flushes its statistics before it leaves
    /// `pg_stat_activity`, so from then on they count everything done so far (a
    /// session's counts reach them late otherwise, and a VACUUM's reset may come
    /// before the DELETE it follows).
    pub async fn quiet(&self) {
        let target = self.target().await;
        for _ in 0..400 {
            let others: i64 = target
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()
                       AND application_name <> 'holder'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if others == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sessions stay connected to {}", self.target_db);
    }

    /// One invocation through the handler, with a deadline `budget` from now.
    pub async fn invoke_within(&self, event: Value, budget: Duration) -> Report {
        handle(&self.app, LambdaEvent::new(event, lambda_context(budget)))
            .await
            .unwrap_or_else(|e| panic!("the invocation failed: {e}"))
    }
}
