//! Which rows of `index_pilot.settings` and `index_pilot.maintenance_windows` name
//! something that does not exist: a misspelled target in a window lifts the
//! restriction it was meant to put, a misspelled schema in a setting changes nothing.
//! A row is judged only where it names its target: a row for any target may mean a
//! schema that only some databases have.

use serde::Serialize;
use wildmatch::WildMatch;

use super::UnmatchedRow;
use crate::domain::settings::SettingRow;
use crate::domain::window::WindowRow;

/// The DBA's rows as the control database holds them, unparsed: what the preflight
/// holds against the targets.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControlRows {
    pub(crate) settings: Vec<SettingRow>,
    pub(crate) windows: Vec<WindowRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RowKind {
    Setting,
    #[serde(rename = "maintenance_window")]
    Window,
}

fn matches(pattern: &str, name: &str) -> bool {
    WildMatch::new(pattern).matches(name)
}

/// Rows whose target matches no configured target.
pub(crate) fn naming_no_target(
    settings: &[SettingRow],
    windows: &[WindowRow],
    targets: &[&str],
) -> Vec<UnmatchedRow> {
    let none = |pattern: &str| !targets.iter().any(|t| matches(pattern, t));
    let settings = settings.iter().filter_map(|row| {
        let target = row.scope.target.as_deref().filter(|t| none(t))?;
        Some(unmatched(RowKind::Setting, row.id, "target", target))
    });
    let windows = windows
        .iter()
        .filter(|row| none(&row.target))
        .map(|row| unmatched(RowKind::Window, row.id, "target", &row.target));
    settings.chain(windows).collect()
}

/// Rows that name `target` and a database that is none of the target's.
pub(crate) fn naming_no_database(
    settings: &[SettingRow],
    windows: &[WindowRow],
    target: &str,
    databases: &[&str],
) -> Vec<UnmatchedRow> {
    let none = |pattern: &str| !databases.iter().any(|d| matches(pattern, d));
    let settings = settings.iter().filter_map(|row| {
        row.scope.target.as_deref().filter(|t| matches(t, target))?;
        let database = row.scope.database.as_deref().filter(|d| none(d))?;
        Some(unmatched(RowKind::Setting, row.id, "database", database))
    });
    // A window's database is a plain name, never a pattern.
    let windows = windows.iter().filter_map(|row| {
        matches(&row.target, target).then_some(())?;
        let database = row.database.as_deref().filter(|d| !databases.contains(d))?;
        Some(unmatched(RowKind::Window, row.id, "database", database))
    });
    settings.chain(windows).collect()
}

fn unmatched(row: RowKind, id: i64, field: &'static str, name: &str) -> UnmatchedRow {
    UnmatchedRow {
        row,
        id,
        field,
        name: name.to_owned(),
    }
}

/// A setting's schema, table and index, to be looked for in one database's catalog
/// (as `LIKE` patterns); when nothing matches, the row names nothing there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectLookup {
    pub(crate) id: i64,
    pub(crate) schema: Option<String>,
    pub(crate) table: Option<String>,
    pub(crate) index: Option<String>,
    /// The narrowest field it names, and that field's name as the row spells it.
    pub(crate) field: &'static str,
    pub(crate) name: String,
}

impl ObjectLookup {
    /// The settings rows that name `target` and this database (or no database, when
    /// the target has only this one), and a schema, table or index in it.
    pub(crate) fn for_database(
        settings: &[SettingRow],
        target: &str,
        database: &str,
        only_database: bool,
    ) -> Vec<ObjectLookup> {
        settings
            .iter()
            .filter(|row| {
                row.scope
                    .target
                    .as_deref()
                    .is_some_and(|t| matches(t, target))
            })
            .filter(|row| match row.scope.database.as_deref() {
                Some(d) => matches(d, database),
                None => only_database,
            })
            .filter_map(ObjectLookup::of)
            .collect()
    }

    /// The settings rows for any target that apply to this database (they name it, or
    /// no database) and name a schema, table or index: such a row names nothing only
    /// if it matches nothing in every database (see [`matched_nowhere`]).
    pub(crate) fn for_any_target(settings: &[SettingRow], database: &str) -> Vec<ObjectLookup> {
        settings
            .iter()
            .filter(|row| row.scope.target.is_none())
            .filter(|row| {
                row.scope
                    .database
                    .as_deref()
                    .is_none_or(|d| matches(d, database))
            })
            .filter_map(ObjectLookup::of)
            .collect()
    }

    fn of(row: &SettingRow) -> Option<ObjectLookup> {
        {
            let scope = &row.scope;
            let (field, name) = [
                ("index", &scope.index),
                ("table", &scope.table),
                ("schema", &scope.schema),
            ]
            .into_iter()
            .find_map(|(field, name)| Some((field, name.as_deref()?)))?;
            Some(ObjectLookup {
                id: row.id,
                schema: scope.schema.as_deref().map(like_pattern),
                table: scope.table.as_deref().map(like_pattern),
                index: scope.index.as_deref().map(like_pattern),
                field,
                name: name.to_owned(),
            })
        }
    }

    pub(crate) fn unmatched(&self) -> UnmatchedRow {
        unmatched(RowKind::Setting, self.id, self.field, &self.name)
    }
}

/// The rows for any target that were looked for in some database and matched in
/// none: `seen` holds each look (the row as it would be reported, and whether it
/// matched there).
pub(crate) fn matched_nowhere<'a>(
    seen: impl IntoIterator<Item = &'a (UnmatchedRow, bool)>,
) -> Vec<UnmatchedRow> {
    let mut rows: Vec<(UnmatchedRow, bool)> = Vec::new();
    for (row, found) in seen {
        match rows.iter_mut().find(|(r, _)| r.id == row.id) {
            Some((_, matched)) => *matched |= found,
            None => rows.push((row.clone(), *found)),
        }
    }
    let mut nowhere: Vec<UnmatchedRow> = rows
        .into_iter()
        .filter(|(_, matched)| !matched)
        .map(|(row, _)| row)
        .collect();
    nowhere.sort_by_key(|row| row.id);
    nowhere
}

/// A settings pattern (`*` any run of characters, `?` one) as a `LIKE` pattern with
/// the default escape `\`: `%`, `_` and `\` in a name are themselves.
pub(crate) fn like_pattern(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => like.push('%'),
            '?' => like.push('_'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c),
        }
    }
    like
}
