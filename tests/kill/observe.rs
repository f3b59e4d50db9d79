//! What the test sees of the target and the control database: index-pilot's
//! statements, who waits for the history, invalid indexes, the history itself.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::world::World;

/// One statement of index-pilot running in the target, as pg_stat_activity shows it.
#[derive(Debug, Clone)]
pub struct Activity {
    pub pid: i32,
    /// With the pid, tells one statement from the next on the same connection.
    pub query_start: SystemTime,
    /// From pg_stat_progress_create_index; `None` before the build has begun.
    pub phase: Option<String>,
    pub waiting_for_lock: bool,
    pub query: String,
}

const ACTIVITY_SQL: &str = "
    SELECT a.pid, a.query_start, p.phase, coalesce(a.wait_event_type = 'Lock', false), a.query
    FROM pg_stat_activity a
    LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
    WHERE a.datid = $1 AND a.application_name = 'index-pilot' AND a.state = 'active'
      AND a.query ILIKE $2
    ORDER BY a.pid";

impl World {
    pub async fn statements(&self, pattern: &str) -> Vec<Activity> {
        self.observer
            .query(ACTIVITY_SQL, &[&self.target_oid, &pattern])
            .await
            .expect("index-pilot's statements")
            .iter()
            .map(|r| Activity {
                pid: r.get(0),
                query_start: r.get(1),
                phase: r.get(2),
                waiting_for_lock: r.get(3),
                query: r.get(4),
            })
            .collect()
    }

    pub async fn rebuild(&self) -> Option<Activity> {
        self.statements("REINDEX%").await.into_iter().next()
    }

    /// The statement of index-pilot's that waits for the test's lock on the history
    /// table, if one does.
    pub async fn history_waiter(&self) -> Option<String> {
        self.observer
            .query_opt(
                "SELECT a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.database = $1 AND l.relation = $2 AND NOT l.granted LIMIT 1",
                &[&self.control_oid, &self.history_oid],
            )
            .await
            .expect("lock waiters")
            .map(|r| first_statement_line(&r.get::<_, String>(0)))
    }

    pub async fn sessions_in_target(&self) -> i64 {
        self.observer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datid = $1 AND application_name = 'index-pilot'",
                &[&self.target_oid],
            )
            .await
            .expect("sessions")
            .get(0)
    }

    /// Invalid indexes of the target: oid → (name, ready).
    pub async fn invalid_indexes(&self) -> BTreeMap<u32, (String, bool)> {
        self.inspector
            .query(
                "SELECT c.oid, c.relname::text, x.indisready FROM pg_index x
                 JOIN pg_class c ON c.oid = x.indexrelid WHERE NOT x.indisvalid",
                &[],
            )
            .await
            .expect("invalid indexes")
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect()
    }

    pub async fn our_invalid_indexes(&self) -> BTreeMap<u32, (String, bool)> {
        let mut invalid = self.invalid_indexes().await;
        invalid.retain(|oid, _| !self.foreign.contains_key(oid));
        invalid
    }

    pub async fn relfilenode(&self, index: &str) -> u32 {
        self.inspector
            .query_one(
                "SELECT relfilenode FROM pg_class WHERE oid = $1::text::regclass",
                &[&index],
            )
            .await
            .unwrap_or_else(|e| panic!("relfilenode of {index}: {e}"))
            .get(0)
    }

    /// The history and the stored state of these indexes, for a violation's evidence.
    pub async fn history_of(&self, indexes: &[String]) -> String {
        let history = self
            .control
            .query(
                "SELECT format('history #%s %s %s: oid %s -> %s, started %s, finished %s, error %s',
                               id, index_name, status, index_oid_before, index_oid_after,
                               started_at::time(3), finished_at::time(3), coalesce(error, '-'))
                 FROM index_pilot.reindex_history WHERE index_name = ANY($1) ORDER BY id",
                &[&indexes],
            )
            .await
            .expect("history of the indexes");
        let state = self
            .control
            .query(
                "SELECT format('index_state %s: oid %s, best_ratio %s, baseline_set_at %s',
                               index_name, index_oid, coalesce(best_ratio::text, 'NULL'),
                               coalesce(baseline_set_at::time(3)::text, 'NULL'))
                 FROM index_pilot.index_state WHERE index_name = ANY($1) ORDER BY index_name, index_oid",
                &[&indexes],
            )
            .await
            .expect("state of the indexes");
        history
            .iter()
            .chain(&state)
            .map(|r| format!("  {}", r.get::<_, String>(0)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn first_statement_line(query: &str) -> String {
    query
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .unwrap_or_default()
        .to_owned()
}
