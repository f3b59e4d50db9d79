//! Settings: defaults, built-in skips and the DBA's overrides from the control DB,
//! resolved most specific first (index → table → schema → database → global).
//! Resolution happens in memory: one load per run, no SQL per index.

mod keys;

use wildmatch::WildMatch;

use keys::Setting;
pub use keys::{IndexSettings, Origin, SettingKey};

/// Where a setting applies. `None` means any; patterns may hold `*` and `?`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub target: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub table: Option<String>,
    pub index: Option<String>,
}

/// One row of `index_pilot.settings`, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRow {
    pub id: i64,
    pub scope: Scope,
    pub key: String,
    pub value: String,
}

/// What an index is called, for matching against scopes.
#[derive(Debug, Clone, Copy)]
pub struct IndexSubject<'a> {
    pub target: &'a str,
    pub database: &'a str,
    pub schema: &'a str,
    pub table: &'a str,
    pub index: &'a str,
}

impl<'a> IndexSubject<'a> {
    /// An index known by name: `table` is the one its settings are looked up by (for
    /// a TOAST index, its owner).
    pub fn named(
        location: super::plan::Location<'a>,
        schema: &'a str,
        table: &'a str,
        index: &'a str,
    ) -> Self {
        IndexSubject {
            target: location.target,
            database: location.database,
            schema,
            table,
            index,
        }
    }

    /// An index as its settings see it: a TOAST index by its owning table.
    pub fn of(
        location: super::plan::Location<'a>,
        index: &'a super::eligibility::IndexInfo,
    ) -> Self {
        let (schema, table) = index.settings_table();
        IndexSubject {
            target: location.target,
            database: location.database,
            schema,
            table,
            index: &index.name.name,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("setting #{id}: unknown key {key:?} (known: {known})", known = SettingKey::known_names())]
    UnknownKey { id: i64, key: String },
    #[error("setting #{id} ({key}): {problem}")]
    BadValue {
        id: i64,
        key: &'static str,
        problem: String,
    },
}

#[derive(Debug)]
struct Rule {
    origin: Origin,
    setting: Setting,
    matchers: [Option<WildMatch>; 5],
    /// 4 index, 3 table, 2 schema, 1 database or target, 0 global.
    level: u8,
    /// Characters that are not wildcards: `orders_*` beats `*` at the same level.
    literal_chars: usize,
}

impl Rule {
    fn new(origin: Origin, scope: &Scope, setting: Setting) -> Rule {
        let parts = [
            &scope.target,
            &scope.database,
            &scope.schema,
            &scope.table,
            &scope.index,
        ];
        let level = if scope.index.is_some() {
            4
        } else if scope.table.is_some() {
            3
        } else if scope.schema.is_some() {
            2
        } else if scope.database.is_some() || scope.target.is_some() {
            1
        } else {
            0
        };
        let literal_chars = parts
            .iter()
            .filter_map(|p| p.as_deref())
            .map(|p| p.chars().filter(|c| *c != '*' && *c != '?').count())
            .sum();
        Rule {
            origin,
            setting,
            matchers: parts.map(|p| p.as_deref().map(WildMatch::new)),
            level,
            literal_chars,
        }
    }

    fn matches(&self, subject: &IndexSubject<'_>) -> bool {
        let names = [
            subject.target,
            subject.database,
            subject.schema,
            subject.table,
            subject.index,
        ];
        self.matchers
            .iter()
            .zip(names)
            .all(|(matcher, name)| matcher.as_ref().is_none_or(|m| m.matches(name)))
    }
}

/// Every rule, most specific first.
#[derive(Debug)]
pub struct Settings {
    rules: Vec<Rule>,
}

impl Settings {
    /// Built-in skips: pg_repack's schema and PgQ's event tables, which churn by design.
    fn built_in_rules() -> Vec<Rule> {
        let skip = |name, schema: &str, table: Option<&str>| {
            let scope = Scope {
                schema: Some(schema.to_owned()),
                table: table.map(str::to_owned),
                ..Scope::default()
            };
            Rule::new(Origin::BuiltIn(name), &scope, Setting::Skip(true))
        };
        vec![
            skip("built-in: schema repack (pg_repack)", "repack", None),
            skip("built-in: tables pgq.event_* (PgQ)", "pgq", Some("event_*")),
        ]
    }

    pub fn from_rows(rows: &[SettingRow]) -> Result<Settings, SettingsError> {
        let mut rules = Settings::built_in_rules();
        for row in rows {
            let key =
                SettingKey::from_name(row.key.trim()).ok_or_else(|| SettingsError::UnknownKey {
                    id: row.id,
                    key: row.key.clone(),
                })?;
            let setting =
                Setting::parse(key, &row.value).map_err(|problem| SettingsError::BadValue {
                    id: row.id,
                    key: key.name(),
                    problem,
                })?;
            rules.push(Rule::new(Origin::Row(row.id), &row.scope, setting));
        }
        // Most specific first; among equals a DBA's row beats a built-in, a newer row an older.
        rules.sort_by(|a, b| {
            let rank = |r: &Rule| {
                let row_id = match r.origin {
                    Origin::Row(id) => id,
                    Origin::BuiltIn(_) => i64::MIN,
                };
                (r.level, r.literal_chars, row_id)
            };
            rank(b).cmp(&rank(a))
        });
        Ok(Settings { rules })
    }

    /// Applies every matching rule from the least specific to the most specific, so
    /// the most specific one is left standing for each key.
    pub fn for_index(&self, subject: &IndexSubject<'_>) -> IndexSettings {
        let mut resolved = IndexSettings::default();
        for rule in self.rules.iter().rev().filter(|rule| rule.matches(subject)) {
            resolved.apply(&rule.setting, &rule.origin);
        }
        resolved
    }

    /// The history retention, as a PostgreSQL interval: global rules only.
    pub fn history_retention(&self) -> String {
        self.rules
            .iter()
            .filter(|rule| rule.level == 0)
            .find_map(|rule| match &rule.setting {
                Setting::ReindexHistoryRetentionPeriod(text) => Some(text.clone()),
                _ => None,
            })
            .or_else(|| {
                SettingKey::ReindexHistoryRetentionPeriod
                    .default_value()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
