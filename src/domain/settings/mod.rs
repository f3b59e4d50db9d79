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
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(id: i64, scope: Scope, key: &str, value: &str) -> SettingRow {
        SettingRow {
            id,
            scope,
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    fn subject<'a>(schema: &'a str, table: &'a str, index: &'a str) -> IndexSubject<'a> {
        IndexSubject {
            target: "orders",
            database: "app",
            schema,
            table,
            index,
        }
    }

    #[test]
    fn defaults_parse() {
        let rows: Vec<SettingRow> = SettingKey::ALL
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                let value = key.default_value()?;
                Some(row(i as i64, Scope::default(), key.name(), value))
            })
            .collect();
        let from_rows = Settings::from_rows(&rows).unwrap();
        assert_eq!(
            from_rows.for_index(&subject("public", "t", "t_pkey")),
            IndexSettings::default()
        );
        let settings = Settings::from_rows(&[]).unwrap();
        let resolved = settings.for_index(&subject("public", "t", "t_pkey"));
        assert_eq!(resolved.index_size_threshold, 10 * 1024 * 1024);
        assert_eq!(resolved.rebuild_scale_factor, 2.0);
        assert_eq!(resolved.minimum_reliable_index_size, 128 * 1024);
        assert_eq!(resolved.lock_timeout, Duration::from_secs(60));
        assert_eq!(resolved.skip, None);
        assert_eq!(settings.history_retention(), "10 years");
    }

    #[test]
    fn most_specific_level_wins() {
        let rows = [
            row(1, Scope::default(), "index_size_threshold", "1MB"),
            row(
                2,
                Scope {
                    database: Some("app".into()),
                    ..Default::default()
                },
                "index_size_threshold",
                "2MB",
            ),
            row(
                3,
                Scope {
                    schema: Some("sales".into()),
                    ..Default::default()
                },
                "index_size_threshold",
                "3MB",
            ),
            row(
                4,
                Scope {
                    schema: Some("sales".into()),
                    table: Some("orders".into()),
                    ..Default::default()
                },
                "index_size_threshold",
                "4MB",
            ),
            row(
                5,
                Scope {
                    index: Some("orders_pkey".into()),
                    ..Default::default()
                },
                "index_size_threshold",
                "5MB",
            ),
        ];
        let s = Settings::from_rows(&rows).unwrap();
        let mb = |n: u64| n * 1024 * 1024;
        assert_eq!(
            s.for_index(&subject("sales", "orders", "orders_pkey"))
                .index_size_threshold,
            mb(5)
        );
        assert_eq!(
            s.for_index(&subject("sales", "orders", "orders_x"))
                .index_size_threshold,
            mb(4)
        );
        assert_eq!(
            s.for_index(&subject("sales", "items", "items_x"))
                .index_size_threshold,
            mb(3)
        );
        assert_eq!(
            s.for_index(&subject("public", "items", "items_x"))
                .index_size_threshold,
            mb(2)
        );
        let other_db = IndexSubject {
            database: "other",
            ..subject("public", "t", "i")
        };
        assert_eq!(s.for_index(&other_db).index_size_threshold, mb(1));
    }

    #[test]
    fn wildcards_and_literal_tie_break() {
        let rows = [
            row(
                1,
                Scope {
                    table: Some("*".into()),
                    ..Default::default()
                },
                "index_rebuild_scale_factor",
                "3",
            ),
            row(
                2,
                Scope {
                    table: Some("order?_*".into()),
                    ..Default::default()
                },
                "index_rebuild_scale_factor",
                "4",
            ),
        ];
        let s = Settings::from_rows(&rows).unwrap();
        assert_eq!(
            s.for_index(&subject("public", "orders_2024", "i"))
                .rebuild_scale_factor,
            4.0
        );
        assert_eq!(
            s.for_index(&subject("public", "order_2024", "i"))
                .rebuild_scale_factor,
            3.0
        );
    }

    #[test]
    fn target_pattern_is_database_level() {
        let rows = [row(
            7,
            Scope {
                target: Some("ord*".into()),
                ..Default::default()
            },
            "skip",
            "true",
        )];
        let s = Settings::from_rows(&rows).unwrap();
        assert_eq!(
            s.for_index(&subject("public", "t", "i")).skip,
            Some(Origin::Row(7))
        );
        let other = IndexSubject {
            target: "billing",
            ..subject("public", "t", "i")
        };
        assert_eq!(s.for_index(&other).skip, None);
    }

    #[test]
    fn built_in_skips_and_their_override() {
        let s = Settings::from_rows(&[]).unwrap();
        assert!(s.for_index(&subject("repack", "log_1", "i")).skip.is_some());
        assert!(s
            .for_index(&subject("pgq", "event_1_0", "i"))
            .skip
            .is_some());
        assert!(s.for_index(&subject("pgq", "queue", "i")).skip.is_none());
        let rows = [row(
            9,
            Scope {
                schema: Some("repack".into()),
                ..Default::default()
            },
            "skip",
            "false",
        )];
        let s = Settings::from_rows(&rows).unwrap();
        assert!(s.for_index(&subject("repack", "log_1", "i")).skip.is_none());
    }

    #[test]
    fn bad_rows_name_the_row() {
        let err = Settings::from_rows(&[row(3, Scope::default(), "index_size_threshold", "big")])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("setting #3 (index_size_threshold)"),
            "{err}"
        );
        let err = Settings::from_rows(&[row(4, Scope::default(), "colour", "blue")]).unwrap_err();
        assert!(err.to_string().contains("unknown key \"colour\""), "{err}");
        assert!(Settings::from_rows(&[row(
            5,
            Scope::default(),
            "index_rebuild_scale_factor",
            "0.5"
        )])
        .is_err());
        assert!(Settings::from_rows(&[row(6, Scope::default(), "lock_timeout", "0s")]).is_err());
    }

    #[test]
    fn global_retention_ignores_scoped_rows() {
        let rows = [
            row(
                1,
                Scope::default(),
                "reindex_history_retention_period",
                "90 days",
            ),
            row(
                2,
                Scope {
                    schema: Some("x".into()),
                    ..Default::default()
                },
                "reindex_history_retention_period",
                "1 day",
            ),
        ];
        assert_eq!(
            Settings::from_rows(&rows).unwrap().history_retention(),
            "90 days"
        );
    }
}
