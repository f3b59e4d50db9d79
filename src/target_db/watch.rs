//! Watching a rebuild and the sessions it could wait for.

use std::time::{Duration, SystemTime};

use tokio_postgres::{Client, Row};

use super::{failed, TargetError};
use crate::domain::blocker::Session;
use crate::domain::watch::{self, Counters};
use crate::pg::{column, PgError};

/// Our rebuild as the target shows it right now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RebuildState {
    /// `pg_stat_progress_create_index.phase`; "starting" before it has one.
    pub(crate) phase: String,
    /// The index being built: the copy, once it exists.
    pub(crate) index_oid: Option<u32>,
    pub(crate) percent_done: Option<f64>,
    /// What the phase counts (blocks, tuples, lockers).
    pub(crate) counters: Counters,
    /// Waiting for a lock (in REINDEX CONCURRENTLY's waits for snapshots, writers and
    /// readers too): the processes it waits for (0: a prepared transaction).
    pub(crate) waiting_for: Option<Vec<i32>>,
    /// What kind of wait, when it waits.
    pub(crate) wait_kind: Option<&'static str>,
}

fn rebuild_state_of(row: &Row) -> Result<RebuildState, PgError> {
    let counters = Counters {
        blocks: (column(row, "blocks_done")?, column(row, "blocks_total")?),
        tuples: (column(row, "tuples_done")?, column(row, "tuples_total")?),
        lockers: (column(row, "lockers_done")?, column(row, "lockers_total")?),
    };
    let lock_wait = column::<Option<bool>>(row, "waiting")?.unwrap_or(false);
    let blocking_pids: Vec<i32> =
        column::<Option<Vec<i32>>>(row, "blocking_pids")?.unwrap_or_default();
    let current_locker: Option<i32> = column(row, "current_locker_pid")?;
    let ours: Vec<i32> = column(row, "our_pids")?;
    let phase = column::<Option<String>>(row, "phase")?.unwrap_or_else(|| "starting".to_owned());
    let waiting_for = watch::blocking(lock_wait, &blocking_pids, current_locker, &ours);
    Ok(RebuildState {
        wait_kind: watch::wait_kind(&phase, waiting_for.is_some()),
        phase,
        index_oid: column::<Option<u32>>(row, "index_relid")?.filter(|oid| *oid != 0),
        percent_done: counters.percent_done(),
        counters,
        waiting_for,
    })
}

pub(super) async fn rebuild_state(
    client: &Client,
    pid: i32,
    backend_start: Option<SystemTime>,
) -> Result<Option<RebuildState>, TargetError> {
    let row = client
        .query_opt(
            include_str!("sql/rebuild_state.sql"),
            &[&pid, &backend_start],
        )
        .await
        .map_err(failed("following a rebuild"))?;
    row.map(|row| rebuild_state_of(&row))
        .transpose()
        .map_err(failed("following a rebuild"))
}

fn session_of(row: &Row) -> Result<Session, PgError> {
    let age_s: Option<f64> = column(row, "age_s")?;
    Ok(Session {
        pid: column(row, "pid")?,
        user: column(row, "user_name")?,
        application: column(row, "application_name")?,
        client_addr: column(row, "client_addr")?,
        state: column(row, "state")?,
        transaction_age: Duration::try_from_secs_f64(age_s.unwrap_or(0.0).max(0.0))
            .unwrap_or(Duration::MAX),
        holds_snapshot: column::<Option<bool>>(row, "holds_snapshot")?.unwrap_or(false),
        locks_table: column::<Option<bool>>(row, "locks_table")?.unwrap_or(false),
        prepared: column::<Option<bool>>(row, "prepared")?.unwrap_or(false),
    })
}

pub(super) async fn sessions(
    client: &Client,
    table_oid: u32,
    ours: &[i32],
    only: Option<&[i32]>,
) -> Result<Vec<Session>, TargetError> {
    let rows = client
        .query(
            include_str!("sql/sessions.sql"),
            &[&table_oid, &ours, &only],
        )
        .await
        .map_err(failed("looking at the sessions of the database"))?;
    rows.iter()
        .map(session_of)
        .collect::<Result<_, _>>()
        .map_err(failed("looking at the sessions of the database"))
}
