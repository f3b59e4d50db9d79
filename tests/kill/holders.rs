//! Others' sessions on the target, each in an open transaction, that hold a rebuild
//! in the phase a kill wants.

use tokio_postgres::Client;

use common::Fixture;

/// What others' sessions run to hold a rebuild in one phase (in a transaction).
pub const EARLY_WRITE: &str = "INSERT INTO slow (id, k) VALUES (0, 'early writer')";
pub const SNAPSHOT: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SELECT 1";
pub const READ: &str = "SELECT count(*) FROM slow";
pub const TABLE_LOCK: &str = "LOCK TABLE slow IN SHARE UPDATE EXCLUSIVE MODE";

/// A session of the test's own on the target: slow keys cost nothing in it.
pub async fn session(fx: &Fixture) -> Client {
    let client = fx.target().await;
    client
        .batch_execute("SET pilot.delay = '0'")
        .await
        .expect("session without delay");
    client
}

/// Others' sessions, each in an open transaction, holding a rebuild in some phase.
#[derive(Default)]
pub struct Holders(Vec<(&'static str, Client)>);

impl Holders {
    pub async fn open(&mut self, fx: &Fixture, name: &'static str, statements: &str) {
        let client = session(fx).await;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("holder's pid")
            .get(0);
        client
            .batch_execute(&format!("BEGIN; {statements}"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {statements}: {e}"));
        // Each holds what it is meant to hold, and no snapshot that would hold "waiting
        // for old snapshots" too (seen from outside: a query has one while it runs).
        let xmin: bool = fx
            .target()
            .await
            .query_one(
                "SELECT backend_xmin IS NOT NULL FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .expect("holder's snapshot")
            .get(0);
        assert_eq!(
            xmin,
            statements == SNAPSHOT,
            "{name} holds a snapshot: {xmin}"
        );
        self.0.push((name, client));
    }

    pub async fn end(&mut self, name: &str) {
        let at = self
            .0
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no holder {name}"));
        let (_, client) = self.0.remove(at);
        client
            .batch_execute("COMMIT")
            .await
            .unwrap_or_else(|e| panic!("{name}: COMMIT: {e}"));
    }

    pub async fn end_all(mut self) {
        while let Some((name, _)) = self.0.first() {
            let name = *name;
            self.end(name).await;
        }
    }
}
