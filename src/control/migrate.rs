//! Versioned migrations of the control schema, safe when several invocations start
//! at the same moment: they queue on an advisory lock and the first one migrates.

use tokio_postgres::{Client, GenericClient};

use super::ControlError;
use crate::pg::PgError;

/// (version, description, SQL). Append only; never edit an applied migration.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "settings, index state, reindex history, views",
        include_str!("migrations/0001_initial.sql"),
    ),
    (
        2,
        "runs, target leases, rebuild backends",
        include_str!("migrations/0002_runs_and_leases.sql"),
    ),
    (
        3,
        "rebuilds known by identity, leftovers by oid, failure classes, quarantine",
        include_str!("migrations/0003_identity_and_quarantine.sql"),
    ),
    (
        4,
        "runs without exclusion, progress per target, rebuilds per server",
        include_str!("migrations/0004_fleet.sql"),
    ),
    (
        5,
        "maintenance windows",
        include_str!("migrations/0005_maintenance_windows.sql"),
    ),
    (
        6,
        "a scan writes only what changed",
        include_str!("migrations/0006_unchanged_state_stays.sql"),
    ),
    (
        7,
        "how baselines are set, first scans, growth and forecast",
        include_str!("migrations/0007_baselines_and_forecast.sql"),
    ),
    (
        8,
        "settings in force and why in current_bloat, totals per target and day",
        include_str!("migrations/0008_operator_views.sql"),
    ),
    (
        9,
        "cluster safety settings, rebuilds per server by the server's identity",
        include_str!("migrations/0009_cluster_and_server_identity.sql"),
    ),
    (
        10,
        "our own reads are bounded: max_inspect_size, max_inspect_time, reads that timed out",
        include_str!("migrations/0010_read_timeouts.sql"),
    ),
    (
        11,
        "the targets view: still configured, last success, why it failed; quarantine counts in words",
        include_str!("migrations/0011_targets_view.sql"),
    ),
    (
        12,
        "no stale slots: a rebuild whose server process has ended holds no slot",
        include_str!("migrations/0012_stale_slots.sql"),
    ),
    (
        13,
        "setting values checked when they are inserted",
        include_str!("migrations/0013_setting_values.sql"),
    ),
    (
        14,
        "a baseline no estimate backs: unknown bloat, not healthy",
        include_str!("migrations/0014_unknown_bloat.sql"),
    ),
    (
        15,
        "max_rebuild_maintenance_work_mem: what an HNSW rebuild's session may raise maintenance_work_mem to",
        include_str!("migrations/0015_rebuild_memory.sql"),
    ),
];

/// Arbitrary but fixed: the advisory lock index-pilot's migrations queue on.
const MIGRATION_LOCK_KEY: i64 = 0x1dec_5911_0000;

fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

async fn applied_version(
    client: &impl GenericClient,
) -> Result<Option<i32>, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT to_regclass('index_pilot.schema_migrations') IS NOT NULL",
            &[],
        )
        .await?;
    if !row.try_get::<_, bool>(0)? {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM index_pilot.schema_migrations",
            &[],
        )
        .await?;
    Ok(Some(row.try_get(0)?))
}

pub(crate) async fn migrate(client: &mut Client) -> Result<(), ControlError> {
    let fail = |e: tokio_postgres::Error| ControlError::Migrate(PgError::from(e).to_string());
    // The usual case, without taking any lock: already up to date.
    if applied_version(client).await.map_err(fail)? >= Some(latest()) {
        return Ok(());
    }
    let transaction = client.transaction().await.map_err(fail)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(fail)?;
    transaction
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS index_pilot;
             CREATE TABLE IF NOT EXISTS index_pilot.schema_migrations (
                 version     integer PRIMARY KEY,
                 description text        NOT NULL,
                 applied_at  timestamptz NOT NULL DEFAULT now());",
        )
        .await
        .map_err(fail)?;
    let current = applied_version(&transaction)
        .await
        .map_err(fail)?
        .unwrap_or(0);
    for (version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        transaction.batch_execute(sql).await.map_err(|e| {
            ControlError::Migrate(format!(
                "migration {version} ({description}): {}",
                PgError::from(e)
            ))
        })?;
        transaction
            .execute(
                "INSERT INTO index_pilot.schema_migrations (version, description) VALUES ($1, $2)",
                &[version, description],
            )
            .await
            .map_err(fail)?;
        tracing::info!(version, description, "control schema migrated");
    }
    transaction.commit().await.map_err(fail)
}
