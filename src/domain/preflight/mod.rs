//! Preflight: what a target's setup lets index-pilot do, judged from the facts a look
//! at the target (and at the control database's rows) brings. Mode `check` is only
//! this; `dry_run` starts with it. A blocking finding means a run could do nothing
//! on the database; a warning, that it would do less than it should, or blind.

mod rows;

pub(crate) use rows::{
    matched_nowhere, naming_no_database, naming_no_target, ControlRows, ObjectLookup, RowKind,
};

use crate::domain::target_error::TargetErrorClass;
use crate::domain::words::plural;
use serde::Serialize;

use super::eligibility::ServerVersion;
use super::pgvector::{warning_message, PgvectorGates};

/// How many tables a finding names; the count says how many there are.
const EXAMPLES: usize = 5;

/// Whether pgstattuple's functions can be run by this role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PgstattupleAccess {
    Usable,
    /// The extension is not installed in this database.
    NotInstalled,
    /// Installed, but this role may not execute pgstattuple or pgstatindex.
    NotGranted,
}

/// A row of `index_pilot.settings` or `index_pilot.maintenance_windows` that names
/// something nothing matches: what it meant to govern is governed by nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UnmatchedRow {
    pub(crate) row: RowKind,
    pub(crate) id: i64,
    /// The column whose name matches nothing: `target`, `database`, `schema`,
    /// `table` or `index`.
    pub(crate) field: &'static str,
    pub(crate) name: String,
}

/// What a look at one database of a target brought back, before any judgement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facts {
    /// `current_user`: the role index-pilot logged in as.
    pub(crate) role: String,
    pub(crate) server: ServerVersion,
    pub(crate) in_recovery: bool,
    /// Member of pg_read_all_stats (or pg_monitor, or a superuser).
    pub(crate) read_all_stats: bool,
    pub(crate) pgstattuple: PgstattupleAccess,
    /// How many tables were looked at: every table with an index (`check`), the
    /// candidates' tables (`dry_run`).
    pub(crate) tables: usize,
    /// Of those, the ones whose indexes this role may not rebuild (neither owner, nor
    /// member of the owner, nor MAINTAIN), by name, and their owners.
    pub(crate) not_rebuildable: Vec<String>,
    pub(crate) owners: Vec<String>,
    /// Rows of the control database that name nothing in this target or database.
    pub(crate) unmatched: Vec<UnmatchedRow>,
    /// Rows for any target looked for here, and whether they matched.
    pub(crate) any_target: Vec<(UnmatchedRow, bool)>,
    /// pgvector's version in this database, when installed.
    pub(crate) pgvector: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    /// A run can do nothing on this database.
    Blocking,
    /// A run would do less than it should, or see less than it needs.
    Warning,
}

/// One finding, typed; the report adds its severity and its sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Finding {
    /// The server could not be reached (network, TLS, unknown database, …).
    CannotConnect {
        error: String,
    },
    /// The server refused the credentials (SQLSTATE class 28).
    LoginRefused {
        error: String,
    },
    /// A server version index-pilot refuses (no REINDEX CONCURRENTLY, bug #17485).
    ServerRefused {
        version: String,
        why: String,
    },
    Standby,
    /// Tables whose indexes this role may not rebuild.
    NoRebuildRight {
        role: String,
        tables: usize,
        cannot: usize,
        examples: Vec<String>,
        grant: String,
    },
    /// Without pg_read_all_stats other roles' sessions hide their transaction start,
    /// so the look for blockers and the standbys' lag are blind.
    NoReadAllStats {
        role: String,
        grant: String,
    },
    Pgstattuple {
        access: PgstattupleAccess,
        remedy: String,
    },
    NamesNothing(UnmatchedRow),
    /// The installed pgvector has a known index bug, fixed in a later release.
    Pgvector {
        installed: String,
        fixed_in: String,
        bug: String,
    },
}

impl Finding {
    /// The class of the error a blocking finding puts its database in.
    pub(crate) fn error_class(&self) -> TargetErrorClass {
        match self {
            Finding::CannotConnect { .. } => TargetErrorClass::Connect,
            Finding::LoginRefused { .. } => TargetErrorClass::Login,
            Finding::ServerRefused { .. } => TargetErrorClass::Version,
            Finding::NoRebuildRight { .. }
            | Finding::NoReadAllStats { .. }
            | Finding::Pgstattuple { .. } => TargetErrorClass::Permission,
            Finding::Standby | Finding::NamesNothing(_) => TargetErrorClass::Configuration,
            Finding::Pgvector { .. } => TargetErrorClass::Version,
        }
    }

    pub(crate) fn severity(&self) -> Severity {
        match self {
            Finding::CannotConnect { .. }
            | Finding::LoginRefused { .. }
            | Finding::ServerRefused { .. }
            | Finding::Standby => Severity::Blocking,
            Finding::NoRebuildRight { tables, cannot, .. } if cannot >= tables => {
                Severity::Blocking
            }
            _ => Severity::Warning,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Finding::CannotConnect { error } => format!("cannot connect: {error}"),
            Finding::LoginRefused { error } => format!("the login was refused: {error}"),
            Finding::ServerRefused { why, .. } => why.clone(),
            Finding::Standby => {
                "the server is a standby (pg_is_in_recovery()); index-pilot works on primaries only"
                    .to_owned()
            }
            Finding::NoRebuildRight {
                role,
                tables,
                cannot,
                examples,
                grant,
            } => {
                let more = if cannot > &examples.len() { ", …" } else { "" };
                format!(
                    "role {role} may not rebuild the indexes of {cannot} of {} ({}{more}): it neither owns them nor has MAINTAIN on them; {grant}",
                    plural(*tables as u64, "table", "tables"),
                    examples.join(", ")
                )
            }
            Finding::NoReadAllStats { role, grant } => format!(
                "role {role} is not a member of pg_read_all_stats: other roles' transactions and vacuums, and the standbys' lag, are hidden from it, so the looks before a rebuild are blind; {grant}"
            ),
            Finding::Pgstattuple { access, remedy } => match access {
                PgstattupleAccess::Usable => "pgstattuple is usable".to_owned(),
                PgstattupleAccess::NotInstalled => format!(
                    "pgstattuple is not installed: GiST indexes get no first estimate and large btrees no confirmation; {remedy}"
                ),
                PgstattupleAccess::NotGranted => format!(
                    "pgstattuple is installed but this role may not run it: GiST indexes get no first estimate and large btrees no confirmation; {remedy}"
                ),
            },
            Finding::Pgvector {
                installed,
                fixed_in,
                bug,
            } => warning_message(installed, bug, fixed_in),
            Finding::NamesNothing(row) => {
                let what = match row.row {
                    RowKind::Setting => "setting",
                    RowKind::Window => "maintenance window",
                };
                let nothing = match row.field {
                    "target" => "no configured target",
                    "database" => "none of the target's databases",
                    _ => "nothing in the databases it applies to",
                };
                format!(
                    "{what} #{} names {} {:?}, which matches {nothing}: it governs nothing",
                    row.id, row.field, row.name
                )
            }
        }
    }
}

/// A finding as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Checked {
    #[serde(flatten)]
    pub(crate) finding: Finding,
    pub(crate) severity: Severity,
    pub(crate) message: String,
}

impl From<Finding> for Checked {
    fn from(finding: Finding) -> Self {
        Checked {
            severity: finding.severity(),
            message: finding.describe(),
            finding,
        }
    }
}

/// The preflight of one database: who logged in, and what was found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Preflight {
    /// The role the target's credentials log in as (`None`: no login).
    pub(crate) role: Option<String>,
    pub(crate) findings: Vec<Checked>,
    /// Rows for any target looked for here, and whether they matched: the invocation
    /// reports those that matched in no database.
    #[serde(skip)]
    pub(crate) any_target: Vec<(UnmatchedRow, bool)>,
}

impl Preflight {
    /// A database that could not be looked at: the connection's failure is the finding.
    pub(crate) fn unreachable(login_refused: bool, error: String) -> Preflight {
        let finding = if login_refused {
            Finding::LoginRefused { error }
        } else {
            Finding::CannotConnect { error }
        };
        Preflight {
            role: None,
            findings: vec![finding.into()],
            any_target: Vec::new(),
        }
    }

    /// The first blocking finding, if any: the database's status follows it.
    pub(crate) fn blocking(&self) -> Option<&Checked> {
        self.findings
            .iter()
            .find(|f| f.severity == Severity::Blocking)
    }
}

/// Judges the facts of one database.
pub(crate) fn judge(facts: &Facts) -> Preflight {
    let role = &facts.role;
    let mut findings: Vec<Finding> = Vec::new();
    if let Some(why) = facts.server.refusal() {
        findings.push(Finding::ServerRefused {
            version: facts.server.to_string(),
            why,
        });
    }
    if facts.in_recovery {
        findings.push(Finding::Standby);
    }
    findings.extend(no_rebuild_right(facts));
    if !facts.read_all_stats {
        findings.push(Finding::NoReadAllStats {
            role: role.clone(),
            grant: format!("GRANT pg_read_all_stats TO {role}"),
        });
    }
    findings.extend(pgstattuple(facts));
    findings.extend(
        PgvectorGates::of(facts.pgvector.as_deref())
            .warnings
            .into_iter()
            .map(|w| Finding::Pgvector {
                installed: w.installed,
                fixed_in: w.fixed_in,
                bug: w.bug,
            }),
    );
    findings.extend(facts.unmatched.iter().cloned().map(Finding::NamesNothing));
    Preflight {
        role: Some(role.clone()),
        findings: findings.into_iter().map(Checked::from).collect(),
        any_target: facts.any_target.clone(),
    }
}

/// Indexes on tables this role may not rebuild, and the GRANT that would let it.
fn no_rebuild_right(facts: &Facts) -> Option<Finding> {
    if facts.not_rebuildable.is_empty() {
        return None;
    }
    let role = &facts.role;
    let grant = if facts.server.has_maintain() {
        format!("GRANT pg_maintain TO {role} (or MAINTAIN on those tables)")
    } else {
        format!(
            "GRANT {} TO {role} (the tables' owner; PostgreSQL 17+ also has pg_maintain)",
            facts.owners.join(", ")
        )
    };
    Some(Finding::NoRebuildRight {
        role: role.clone(),
        tables: facts.tables,
        cannot: facts.not_rebuildable.len(),
        examples: facts
            .not_rebuildable
            .iter()
            .take(EXAMPLES)
            .cloned()
            .collect(),
        grant,
    })
}

/// pgstattuple missing or not allowed, and what would give it.
fn pgstattuple(facts: &Facts) -> Option<Finding> {
    let role = &facts.role;
    match facts.pgstattuple {
        PgstattupleAccess::Usable => None,
        access => Some(Finding::Pgstattuple {
            access,
            remedy: match access {
                PgstattupleAccess::NotInstalled => {
                    format!("CREATE EXTENSION pgstattuple; GRANT pg_stat_scan_tables TO {role}")
                }
                _ => format!("GRANT pg_stat_scan_tables TO {role}"),
            },
        }),
    }
}

#[cfg(test)]
mod tests;
