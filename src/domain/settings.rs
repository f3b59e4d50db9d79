//! Settings: defaults, built-in skips and the DBA's overrides from the control DB,
//! resolved most specific first (index → table → schema → database → global).
//! Resolution happens in memory: one load per run, no SQL per index.

use std::time::Duration;

use serde::Serialize;
use wildmatch::WildMatch;

use super::units::{parse_duration, parse_size};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    IndexSizeThreshold,
    IndexRebuildScaleFactor,
    MinimumReliableIndexSize,
    ReindexHistoryRetentionPeriod,
    Skip,
    LockTimeout,
}

impl SettingKey {
    pub const ALL: [SettingKey; 6] = [
        SettingKey::IndexSizeThreshold,
        SettingKey::IndexRebuildScaleFactor,
        SettingKey::MinimumReliableIndexSize,
        SettingKey::ReindexHistoryRetentionPeriod,
        SettingKey::Skip,
        SettingKey::LockTimeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SettingKey::IndexSizeThreshold => "index_size_threshold",
            SettingKey::IndexRebuildScaleFactor => "index_rebuild_scale_factor",
            SettingKey::MinimumReliableIndexSize => "minimum_reliable_index_size",
            SettingKey::ReindexHistoryRetentionPeriod => "reindex_history_retention_period",
            SettingKey::Skip => "skip",
            SettingKey::LockTimeout => "lock_timeout",
        }
    }

    fn from_name(name: &str) -> Option<SettingKey> {
        SettingKey::ALL.into_iter().find(|key| key.name() == name)
    }

    /// The value used when no rule matches.
    pub fn default_value(self) -> &'static str {
        match self {
            SettingKey::IndexSizeThreshold => "10MB",
            SettingKey::IndexRebuildScaleFactor => "2",
            SettingKey::MinimumReliableIndexSize => "128kB",
            SettingKey::ReindexHistoryRetentionPeriod => "10 years",
            SettingKey::Skip => "false",
            // Long enough that an ordinary report query does not make a finished build
            // fail at its last wait, short enough that a stuck lock is noticed.
            SettingKey::LockTimeout => "1min",
        }
    }
}

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
    pub fn new(
        location: super::plan::Location<'a>,
        index: &'a super::ident::QualifiedName,
        table: &'a str,
    ) -> Self {
        IndexSubject {
            target: location.target,
            database: location.database,
            schema: &index.schema,
            table,
            index: &index.name,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("setting #{id}: unknown key {key:?} (known: index_size_threshold, index_rebuild_scale_factor, minimum_reliable_index_size, reindex_history_retention_period, skip, lock_timeout)")]
    UnknownKey { id: i64, key: String },
    #[error("setting #{id} ({key}): {problem}")]
    BadValue {
        id: i64,
        key: &'static str,
        problem: String,
    },
}

/// A parsed setting: the key and its typed value.
#[derive(Debug, Clone, PartialEq)]
enum Setting {
    IndexSizeThreshold(u64),
    IndexRebuildScaleFactor(f64),
    MinimumReliableIndexSize(u64),
    ReindexHistoryRetentionPeriod(String),
    Skip(bool),
    LockTimeout(Duration),
}

impl Setting {
    fn parse(key: SettingKey, text: &str) -> Result<Setting, String> {
        Ok(match key {
            SettingKey::IndexSizeThreshold => {
                Setting::IndexSizeThreshold(parse_size(text).map_err(|e| e.to_string())?)
            }
            SettingKey::MinimumReliableIndexSize => {
                Setting::MinimumReliableIndexSize(parse_size(text).map_err(|e| e.to_string())?)
            }
            SettingKey::IndexRebuildScaleFactor => match text.trim().parse::<f64>() {
                Ok(factor) if factor.is_finite() && factor > 1.0 => {
                    Setting::IndexRebuildScaleFactor(factor)
                }
                _ => return Err(format!("{text:?} is not a factor greater than 1 (e.g. 2)")),
            },
            SettingKey::Skip => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => Setting::Skip(true),
                "false" | "off" | "no" | "0" => Setting::Skip(false),
                _ => return Err(format!("{text:?} is not a boolean (true or false)")),
            },
            SettingKey::LockTimeout => match parse_duration(text) {
                Ok(d) if !d.is_zero() => Setting::LockTimeout(d),
                Ok(_) => return Err("a lock_timeout of 0 would let a reindex wait forever".into()),
                Err(e) => return Err(e.to_string()),
            },
            // PostgreSQL parses intervals; it is checked where it is used.
            SettingKey::ReindexHistoryRetentionPeriod if text.trim().is_empty() => {
                return Err("an empty interval".into())
            }
            SettingKey::ReindexHistoryRetentionPeriod => {
                Setting::ReindexHistoryRetentionPeriod(text.trim().to_owned())
            }
        })
    }
}

/// Where a rule came from, for reports and tie-breaks.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Row(i64),
    BuiltIn(&'static str),
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

/// The resolved settings of one index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSettings {
    pub index_size_threshold: u64,
    pub rebuild_scale_factor: f64,
    pub minimum_reliable_index_size: u64,
    pub lock_timeout: Duration,
    /// `Some(origin)` when the index must never be touched.
    pub skip: Option<Origin>,
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
            match &rule.setting {
                Setting::IndexSizeThreshold(bytes) => resolved.index_size_threshold = *bytes,
                Setting::IndexRebuildScaleFactor(f) => resolved.rebuild_scale_factor = *f,
                Setting::MinimumReliableIndexSize(bytes) => {
                    resolved.minimum_reliable_index_size = *bytes
                }
                Setting::LockTimeout(d) => resolved.lock_timeout = *d,
                Setting::Skip(skip) => resolved.skip = skip.then(|| rule.origin.clone()),
                Setting::ReindexHistoryRetentionPeriod(_) => {}
            }
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
            .unwrap_or_else(|| {
                SettingKey::ReindexHistoryRetentionPeriod
                    .default_value()
                    .to_owned()
            })
    }
}

impl Default for IndexSettings {
    /// The defaults of DESIGN.md section 1; `defaults_parse` checks they match
    /// `SettingKey::default_value`.
    fn default() -> Self {
        IndexSettings {
            index_size_threshold: 10 << 20,
            rebuild_scale_factor: 2.0,
            minimum_reliable_index_size: 128 << 10,
            lock_timeout: Duration::from_secs(60),
            skip: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .map(|(i, key)| row(i as i64, Scope::default(), key.name(), key.default_value()))
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
