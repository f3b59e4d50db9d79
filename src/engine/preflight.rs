//! The preflight of one database: mode `check` is only this; `dry_run` starts with it
//! and holds the candidates this role may not rebuild out of its plan. Catalog reads
//! only: nothing is written to the target or the control database.

use std::collections::HashMap;

use super::{DatabaseError, RunContext};
use crate::config::TargetSpec;
use crate::domain::deferral::DeferralKind;
use crate::domain::mode::Mode;
use crate::domain::plan::Candidate;
use crate::domain::preflight::{
    judge, matched_nowhere, naming_no_database, naming_no_target, Checked, ControlRows, Facts,
    Finding, ObjectLookup, Preflight,
};
use crate::domain::target_error::TargetErrorClass;
use crate::invocation::event::Request;
use crate::pg::ConnectError;
use crate::report::{Report, TargetReport};
use crate::target_db::{TableRight, TargetDb, TargetError};

/// What the preflight looks at in one database; `tables`: the tables whose rights
/// count (`None`: every table that has an index).
pub(super) async fn look(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    db: &TargetDb,
    tables: Option<&[u32]>,
) -> Result<(Facts, Vec<TableRight>), TargetError> {
    let (role, read_all_stats) = db.role().await?;
    let pgstattuple = db.pgstattuple_access().await?;
    let rights = db.table_rights(tables).await?;
    let denied: Vec<&TableRight> = rights.iter().filter(|r| !r.may_rebuild).collect();
    let mut owners: Vec<String> = denied.iter().map(|r| r.owner.clone()).collect();
    owners.sort();
    owners.dedup();
    // The databases this target visits: the one its URL or secret names is the one
    // the connection reached.
    let databases: Vec<String> = spec
        .database_names()
        .into_iter()
        .map(|name| name.unwrap_or_else(|| db.database_name.clone()))
        .collect();
    let names: Vec<&str> = databases.iter().map(String::as_str).collect();
    let rows = ctx.rows;
    let mut unmatched = naming_no_database(&rows.settings, &rows.windows, target, &names);
    for lookup in
        ObjectLookup::for_database(&rows.settings, target, &db.database_name, names.len() == 1)
    {
        if !db.names_anything(&lookup).await? {
            unmatched.push(lookup.unmatched());
        }
    }
    let mut any_target = Vec::new();
    for lookup in ObjectLookup::for_any_target(&rows.settings, &db.database_name) {
        let found = db.names_anything(&lookup).await?;
        any_target.push((lookup.unmatched(), found));
    }
    let facts = Facts {
        role,
        server: db.server,
        in_recovery: db.in_recovery,
        read_all_stats,
        pgstattuple,
        tables: rights.len(),
        not_rebuildable: denied.iter().map(|r| r.table.clone()).collect(),
        owners,
        unmatched,
        any_target,
        pgvector: db.pgvector.clone(),
    };
    Ok((facts, rights))
}

/// A row of the control database that applies to this database and cannot be read:
/// nothing is done here until it is fixed (windows do not hold back `reindex`).
fn invalid_row(ctx: &RunContext<'_>, target: &str, database: &str) -> Option<String> {
    if let Some(error) = ctx.settings.invalid_for(target, database) {
        return Some(format!(
            "invalid row in index_pilot.settings: {error}; nothing is done in this database until it is fixed"
        ));
    }
    if ctx.request.mode.is_an_order() {
        return None;
    }
    let error = ctx.windows.invalid_for(target, database)?;
    Some(format!(
        "invalid row in index_pilot.maintenance_windows: {error}; nothing is done in this database until it is fixed"
    ))
}

/// A bad row that applies to this database stops it: true when it did (the report
/// says which row).
pub(super) fn stopped_by_invalid_row(
    ctx: &RunContext<'_>,
    target: &str,
    db: &TargetDb,
    report: &mut TargetReport,
) -> bool {
    let Some(problem) = invalid_row(ctx, target, &db.database_name) else {
        return false;
    };
    report.fail(TargetErrorClass::Configuration, problem);
    true
}

/// Mode `check` of one database: the preflight, and a bad row that applies to it.
pub(super) async fn check_database(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    db: &TargetDb,
    report: &mut TargetReport,
) -> Result<(), DatabaseError> {
    check(ctx, target, spec, db, report).await?;
    // After the preflight: the bad row is the reason the report gives.
    stopped_by_invalid_row(ctx, target, db, report);
    Ok(())
}

/// `check` and `dry_run` of a database that could not be reached: the failure is the
/// preflight's finding.
pub(super) fn unreachable(mode: Mode, error: &DatabaseError) -> Option<Preflight> {
    if !mode.only_looks() {
        return None;
    }
    let DatabaseError::Target(TargetError::Connect(connect)) = error else {
        return None;
    };
    let refused = matches!(connect, ConnectError::LoginRefused { .. });
    Some(Preflight::unreachable(refused, error.to_string()))
}

/// The invocation's `configuration` findings (`check` and `dry_run`): rows whose
/// target matches no configured target; once the targets' reports are in
/// (`report.targets`), also the settings rows for any target whose schema, table
/// or index matched in no database, when every database was looked at (one that
/// could not be might be where the row is meant).
pub(crate) fn configuration(
    request: &Request,
    rows: &ControlRows,
    known: &[&str],
    report: &Report,
) -> Vec<Checked> {
    if !request.mode.only_looks() {
        return Vec::new();
    }
    let mut found = naming_no_target(&rows.settings, &rows.windows, known);
    let looked = report.targets.iter().map(|t| t.preflight.as_ref());
    let all_looked = !report.targets.is_empty()
        && request.targets.is_none()
        && looked.clone().all(|p| p.is_some_and(|p| p.role.is_some()));
    if all_looked {
        found.extend(matched_nowhere(
            looked.flatten().flat_map(|p| p.any_target.iter()),
        ));
    }
    found
        .into_iter()
        .map(|row| Finding::NamesNothing(row).into())
        .collect()
}

/// The report's status from a blocking finding: a standby is skipped, the rest is
/// an error.
fn settle(report: &mut TargetReport, preflight: Preflight) {
    if let Some(blocking) = preflight.blocking() {
        match &blocking.finding {
            Finding::Standby => report.skip(blocking.message.clone()),
            other => report.fail(other.error_class(), blocking.message.clone()),
        }
    }
    report.preflight = Some(preflight);
}

/// Mode `check`: every table that has an index counts.
async fn check(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    db: &TargetDb,
    report: &mut TargetReport,
) -> Result<(), DatabaseError> {
    let (facts, _) = look(ctx, target, spec, db, None).await?;
    settle(report, judge(&facts));
    Ok(())
}

/// A `dry_run` of a server it will not work on (refused version, standby): the
/// preflight says so, with the rest of what it sees.
pub(super) async fn refused(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    db: &TargetDb,
    report: &mut TargetReport,
) -> Result<(), DatabaseError> {
    let (facts, _) = look(ctx, target, spec, db, Some(&[])).await?;
    settle(report, judge(&facts));
    Ok(())
}

/// `dry_run`: the candidates' tables count. The candidates this role may not rebuild
/// leave the plan, deferred with what to grant: a run would only fail on them.
pub(super) async fn dry_run<'c>(
    ctx: &RunContext<'_>,
    target: &str,
    spec: &TargetSpec,
    db: &TargetDb,
    candidates: Vec<Candidate<'c>>,
    report: &mut TargetReport,
) -> Result<Vec<Candidate<'c>>, DatabaseError> {
    let mut tables: Vec<u32> = candidates
        .iter()
        .map(|c| c.assessment.index.table_oid)
        .collect();
    tables.sort_unstable();
    tables.dedup();
    let (facts, rights) = look(ctx, target, spec, db, Some(&tables)).await?;
    let preflight = judge(&facts);
    let denied: HashMap<u32, &str> = rights
        .iter()
        .filter(|r| !r.may_rebuild)
        .map(|r| (r.table_oid, r.table.as_str()))
        .collect();
    let grant = preflight.findings.iter().find_map(|c| match &c.finding {
        Finding::NoRebuildRight { grant, .. } => Some(grant.clone()),
        _ => None,
    });
    let role = &facts.role;
    let (kept, held): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|c| !denied.contains_key(&c.assessment.index.table_oid));
    for candidate in held {
        let index = &candidate.assessment.index;
        let table = denied.get(&index.table_oid).copied().unwrap_or_default();
        report.defer(
            &index.name,
            DeferralKind::Permission,
            format!(
                "role {role} may not rebuild it: it neither owns table {} nor has MAINTAIN on it; {}",
                table,
                grant.as_deref().unwrap_or_default()
            ),
        );
    }
    settle(report, preflight);
    Ok(kept)
}
