//! Who would make a REINDEX CONCURRENTLY wait, judged before it starts.
//!
//! A concurrent rebuild waits for every transaction of its database whose snapshot is
//! older than its own, and for every session holding a lock on its table (writers
//! before it builds, readers too before it marks the old index dead and drops it).
//! One that has been going for longer than `max_blocker_age` is not going to end
//! soon: the rebuild is deferred and the report names the session.

use std::time::Duration;

use serde::Serialize;

/// A session of the target database, as `pg_stat_activity` and `pg_prepared_xacts`
/// show it. Never its query text: that can carry data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// `None` for a prepared transaction, which has no process.
    pub pid: Option<i32>,
    pub(crate) user: Option<String>,
    pub(crate) application: Option<String>,
    pub(crate) client_addr: Option<String>,
    /// `active`, `idle in transaction`, … or `prepared`.
    pub(crate) state: Option<String>,
    /// Since its transaction (or its PREPARE) began.
    #[serde(rename = "transaction_age_s", serialize_with = "as_seconds")]
    pub(crate) transaction_age: Duration,
    #[serde(skip)]
    pub(crate) holds_snapshot: bool,
    #[serde(skip)]
    pub(crate) locks_table: bool,
    #[serde(skip)]
    pub(crate) prepared: bool,
}

fn as_seconds<S: serde::Serializer>(age: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((age.as_secs_f64() * 10.0).round() / 10.0)
}

/// What the session holds that a rebuild would wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// A snapshot: every rebuild in its database waits for it.
    Snapshot,
    /// A prepared transaction with a lock on the table: it holds it until someone
    /// commits or rolls it back.
    PreparedTransaction,
    /// A lock on the table being rebuilt.
    LockOnTable,
}

/// How far a blocker reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every rebuild in the database.
    Database,
    /// Rebuilds of indexes of this one table.
    Table,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    #[serde(flatten)]
    pub session: Session,
    pub holds: Hold,
}

impl Blocker {
    pub(crate) fn reach(&self) -> Reach {
        match self.holds {
            Hold::Snapshot => Reach::Database,
            Hold::PreparedTransaction | Hold::LockOnTable => Reach::Table,
        }
    }

    /// One line for the report: who, what it holds, for how long.
    pub(crate) fn describe(&self) -> String {
        let s = &self.session;
        let who = match s.pid {
            Some(pid) => format!("pid {pid}"),
            None => "a prepared transaction".to_owned(),
        };
        let mut facts = Vec::new();
        for (label, value) in [
            ("user", &s.user),
            ("application", &s.application),
            ("client", &s.client_addr),
            ("state", &s.state),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                facts.push(format!("{label} {value}"));
            }
        }
        let holds = match self.holds {
            Hold::Snapshot => "holds a snapshot",
            Hold::PreparedTransaction => "is prepared and holds a lock on the table",
            Hold::LockOnTable => "holds a lock on the table",
        };
        format!(
            "{who} ({}) {holds}, its transaction {} old",
            facts.join(", "),
            age(s.transaction_age)
        )
    }
}

fn age(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..=119 => format!("{:.1}s", duration.as_secs_f64()),
        120..=7199 => format!("{}min", secs / 60),
        _ => format!("{}h{:02}", secs / 3600, (secs % 3600) / 60),
    }
}

fn hold(session: &Session) -> Option<Hold> {
    if session.holds_snapshot {
        Some(Hold::Snapshot)
    } else if session.locks_table && session.prepared {
        Some(Hold::PreparedTransaction)
    } else if session.locks_table {
        Some(Hold::LockOnTable)
    } else {
        None
    }
}

/// The oldest session older than `max_age` that a rebuild would wait for, if any.
pub(crate) fn blocker(sessions: &[Session], max_age: Duration) -> Option<Blocker> {
    sessions
        .iter()
        .filter(|s| s.transaction_age > max_age)
        .filter_map(|s| {
            hold(s).map(|holds| Blocker {
                session: s.clone(),
                holds,
            })
        })
        .max_by_key(|b| b.session.transaction_age)
}

/// The sessions a running rebuild waits for right now (`pg_blocking_pids`), the
/// oldest first, as blockers.
pub(crate) fn waiting_for(sessions: &[Session]) -> Vec<Blocker> {
    let mut blockers: Vec<Blocker> = sessions
        .iter()
        .map(|s| Blocker {
            session: s.clone(),
            holds: hold(s).unwrap_or(Hold::LockOnTable),
        })
        .collect();
    blockers.sort_by_key(|b| std::cmp::Reverse(b.session.transaction_age));
    blockers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pid: i32, age_s: u64) -> Session {
        Session {
            pid: Some(pid),
            user: Some("app".into()),
            application: Some("psql".into()),
            client_addr: Some("10.0.0.7".into()),
            state: Some("idle in transaction".into()),
            transaction_age: Duration::from_secs(age_s),
            holds_snapshot: false,
            locks_table: false,
            prepared: false,
        }
    }

    const FIVE_MIN: Duration = Duration::from_secs(300);

    #[test]
    fn young_or_harmless_sessions_do_not_block() {
        let young_snapshot = Session {
            holds_snapshot: true,
            ..session(1, 60)
        };
        let old_but_holds_nothing = session(2, 3600);
        assert_eq!(
            blocker(&[young_snapshot, old_but_holds_nothing], FIVE_MIN),
            None
        );
    }

    #[test]
    fn an_old_snapshot_blocks_the_whole_database() {
        let old_snapshot = Session {
            holds_snapshot: true,
            ..session(7, 900)
        };
        let older_writer = Session {
            locks_table: true,
            ..session(8, 1200)
        };
        let found = blocker(std::slice::from_ref(&old_snapshot), FIVE_MIN).unwrap();
        assert_eq!(found.holds, Hold::Snapshot);
        assert_eq!(found.reach(), Reach::Database);
        assert_eq!(
            found.describe(),
            "pid 7 (user app, application psql, client 10.0.0.7, state idle in transaction) holds a snapshot, its transaction 15min old"
        );
        // The oldest one is named.
        let found = blocker(&[old_snapshot, older_writer], FIVE_MIN).unwrap();
        assert_eq!(found.session.pid, Some(8));
        assert_eq!(found.reach(), Reach::Table);
    }

    #[test]
    fn a_prepared_transaction_blocks_the_tables_it_locks() {
        let prepared = Session {
            pid: None,
            prepared: true,
            locks_table: true,
            application: None,
            client_addr: None,
            state: Some("prepared".into()),
            ..session(0, 400)
        };
        let found = blocker(std::slice::from_ref(&prepared), FIVE_MIN).unwrap();
        assert_eq!(found.holds, Hold::PreparedTransaction);
        assert_eq!(found.reach(), Reach::Table);
        assert!(found
            .describe()
            .starts_with("a prepared transaction (user app"));
        // It has no snapshot: a rebuild of another table does not wait for it.
        let elsewhere = Session {
            locks_table: false,
            ..prepared
        };
        assert_eq!(blocker(&[elsewhere], FIVE_MIN), None);
    }

    #[test]
    fn waiting_for_names_the_oldest_first() {
        let found = waiting_for(&[session(1, 5), session(2, 50)]);
        assert_eq!(found[0].session.pid, Some(2));
        assert_eq!(found[0].holds, Hold::LockOnTable);
        let json = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(json["pid"], 2);
        assert_eq!(json["transaction_age_s"], 50.0);
        assert_eq!(json["holds"], "lock_on_table");
        assert!(json.get("holds_snapshot").is_none());
    }

    #[test]
    fn ages_read_well() {
        assert_eq!(age(Duration::from_millis(1500)), "1.5s");
        assert_eq!(age(Duration::from_secs(600)), "10min");
        assert_eq!(age(Duration::from_secs(3 * 3600 + 5 * 60)), "3h05");
    }
}
