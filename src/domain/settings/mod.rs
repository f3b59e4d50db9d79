//! Settings: defaults, built-in skips and the DBA's overrides from the control DB,
//! resolved most specific first (index → table → schema → database → global).
//! Resolution happens in memory: one load per run, no SQL per index, and the rules
//! compiled once (`lookup`) so that each index costs a few hash probes.

mod keys;
mod lookup;
mod rule;

use keys::Setting;
pub use keys::{IndexSettings, Origin, SettingKey};
use lookup::RuleLookup;
use rule::Rule;

/// Where a setting applies. `None` means any; patterns may hold `*` and `?`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    pub target: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub table: Option<String>,
    pub index: Option<String>,
}

impl Scope {
    /// Whether it names a schema, a table or an index: a bad row of such a scope
    /// holds back only the indexes it names.
    fn names_indexes(&self) -> bool {
        self.schema.is_some() || self.table.is_some() || self.index.is_some()
    }

    /// Whether `subject` is in it (`*` and `?` wildcards; a field not named matches).
    fn covers(&self, subject: &IndexSubject<'_>) -> bool {
        let matches = |pattern: &Option<String>, name: &str| {
            pattern
                .as_deref()
                .is_none_or(|p| wildmatch::WildMatch::new(p).matches(name))
        };
        matches(&self.target, subject.target)
            && matches(&self.database, subject.database)
            && matches(&self.schema, subject.schema)
            && matches(&self.table, subject.table)
            && matches(&self.index, subject.index)
    }

    /// The narrowest field it names beyond a target, if any.
    fn narrower_than_target(&self) -> Option<&'static str> {
        [
            (&self.index, "index"),
            (&self.table, "table"),
            (&self.schema, "schema"),
            (&self.database, "database"),
        ]
        .into_iter()
        .find_map(|(field, name)| field.is_some().then_some(name))
    }
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
    pub(crate) fn named(
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
    pub(crate) fn of(
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
    #[error("setting #{id} ({key}): applies to a whole server, so it is set globally or for a target, not for a {scope}")]
    ServerWide {
        id: i64,
        key: &'static str,
        scope: &'static str,
    },
    #[error("setting #{id} ({key}): {problem}")]
    BadValue {
        id: i64,
        key: &'static str,
        problem: String,
    },
}

/// Every rule, most specific first, and the same rules compiled for lookup.
#[derive(Debug)]
pub struct Settings {
    rules: Vec<Rule>,
    lookup: RuleLookup,
    /// Rows that could not be read, with the target and database they apply to: the
    /// databases they reach do nothing until they are fixed, the others go on.
    invalid: Vec<(Scope, SettingsError)>,
}

impl SettingsError {
    /// The id of the row it is about.
    pub(crate) fn row_id(&self) -> i64 {
        match self {
            SettingsError::UnknownKey { id, .. }
            | SettingsError::ServerWide { id, .. }
            | SettingsError::BadValue { id, .. } => *id,
        }
    }
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

    /// Every row, the first bad one an error.
    pub fn from_rows(rows: &[SettingRow]) -> Result<Settings, SettingsError> {
        let mut settings = Settings::tolerant(rows);
        if settings.invalid.is_empty() {
            return Ok(settings);
        }
        Err(settings.invalid.swap_remove(0).1)
    }

    /// Every good row; the bad ones are kept aside with the scope they apply to.
    pub(crate) fn tolerant(rows: &[SettingRow]) -> Settings {
        let mut rules = Settings::built_in_rules();
        let mut invalid = Vec::new();
        for row in rows {
            match Settings::rule(row) {
                Ok(rule) => rules.push(rule),
                Err(error) => invalid.push((row.scope.clone(), error)),
            }
        }
        // Most specific first. The sort is stable: rules of equal rank (the same row id
        // twice) keep the order they came in, and the first one wins.
        rules.sort_by_key(|rule| std::cmp::Reverse(rule.rank()));
        let lookup = RuleLookup::new(&rules);
        Settings {
            rules,
            lookup,
            invalid,
        }
    }

    /// The first bad row that applies to the whole of `database` of `target` (its
    /// target and database match, or name none, and it names no schema, table or
    /// index: such a row holds back only its indexes, see [`Settings::for_index`]).
    pub(crate) fn invalid_for(&self, target: &str, database: &str) -> Option<&SettingsError> {
        let whole = IndexSubject {
            target,
            database,
            schema: "",
            table: "",
            index: "",
        };
        self.invalid
            .iter()
            .find(|(scope, _)| !scope.names_indexes() && scope.covers(&whole))
            .map(|(_, error)| error)
    }

    /// The first bad row that names this index's schema, table or index.
    fn invalid_for_index(&self, subject: &IndexSubject<'_>) -> Option<(i64, String)> {
        self.invalid
            .iter()
            .find(|(scope, _)| scope.names_indexes() && scope.covers(subject))
            .map(|(_, error)| (error.row_id(), error.to_string()))
    }

    /// Whether any row could not be read.
    pub(crate) fn has_invalid_rows(&self) -> bool {
        !self.invalid.is_empty()
    }

    fn rule(row: &SettingRow) -> Result<Rule, SettingsError> {
        {
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
            if let Some(scope) = row
                .scope
                .narrower_than_target()
                .filter(|_| setting.server_wide())
            {
                return Err(SettingsError::ServerWide {
                    id: row.id,
                    key: key.name(),
                    scope,
                });
            }
            Ok(Rule::new(Origin::Row(row.id), &row.scope, setting))
        }
    }

    /// Applies every matching rule from the least specific to the most specific, so
    /// the most specific one is left standing for each key.
    pub fn for_index(&self, subject: &IndexSubject<'_>) -> IndexSettings {
        let mut matching = self.lookup.matching(subject);
        // The order of the rules, least specific first: what `for_index_scanning_every_rule`
        // applies, one by one.
        matching.sort_unstable_by(|a, b| b.cmp(a));
        let mut resolved = IndexSettings::default();
        for position in matching {
            let rule = &self.rules[position];
            resolved.apply(&rule.setting, &rule.origin);
        }
        if !self.invalid.is_empty() {
            resolved.invalid_row = self.invalid_for_index(subject);
        }
        resolved
    }

    /// What [`Settings::for_index`] resolves, found by matching the subject against
    /// every rule: the reference the tests compare it with and the benchmark's
    /// baseline (`cargo bench --bench settings`), not for use.
    #[doc(hidden)]
    pub fn for_index_scanning_every_rule(&self, subject: &IndexSubject<'_>) -> IndexSettings {
        let mut resolved = IndexSettings::default();
        for rule in self.rules.iter().rev().filter(|rule| rule.matches(subject)) {
            resolved.apply(&rule.setting, &rule.origin);
        }
        resolved.invalid_row = self.invalid_for_index(subject);
        resolved
    }

    /// `max_rebuilds_per_server` for the servers of `target`: one number per server,
    /// from the global rules and the target's own (the row loader refuses narrower
    /// ones; the control database takes the least of those running on a server).
    pub(crate) fn max_rebuilds_per_server(&self, target: &str) -> u32 {
        let subject = IndexSubject {
            target,
            database: "",
            schema: "",
            table: "",
            index: "",
        };
        // Most specific first: the first rule that sets it wins.
        self.rules
            .iter()
            .filter(|rule| rule.level <= 1 && rule.parts[1].is_none() && rule.matches(&subject))
            .find_map(|rule| match rule.setting {
                Setting::MaxRebuildsPerServer(limit) => Some(limit),
                _ => None,
            })
            .unwrap_or_else(|| IndexSettings::default().max_rebuilds_per_server)
    }

    /// The history retention, as a PostgreSQL interval: global rules only.
    pub(crate) fn history_retention(&self) -> String {
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
