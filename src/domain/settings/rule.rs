//! One rule: a parsed setting, the scope it applies to, and how specific it is.

use wildmatch::WildMatch;

use super::keys::{Origin, Setting};
use super::{IndexSubject, Scope};

#[derive(Debug)]
pub(super) struct Rule {
    pub(super) origin: Origin,
    pub(super) setting: Setting,
    /// The scope's fields in the order of [`names`]: target, database, schema, table,
    /// index.
    pub(super) parts: [Option<String>; 5],
    matchers: [Option<WildMatch>; 5],
    /// 4 index, 3 table, 2 schema, 1 database or target, 0 global.
    pub(super) level: u8,
    /// Characters that are not wildcards: `orders_*` beats `*` at the same level.
    literal_chars: usize,
}

/// A subject's names in the order of [`Rule::parts`].
pub(super) fn names<'a>(subject: &IndexSubject<'a>) -> [&'a str; 5] {
    [
        subject.target,
        subject.database,
        subject.schema,
        subject.table,
        subject.index,
    ]
}

fn is_pattern(part: &str) -> bool {
    part.contains(['*', '?'])
}

impl Rule {
    pub(super) fn new(origin: Origin, scope: &Scope, setting: Setting) -> Rule {
        let parts = [
            scope.target.clone(),
            scope.database.clone(),
            scope.schema.clone(),
            scope.table.clone(),
            scope.index.clone(),
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
        let matchers = parts.each_ref().map(|p| p.as_deref().map(WildMatch::new));
        Rule {
            origin,
            setting,
            parts,
            matchers,
            level,
            literal_chars,
        }
    }

    /// Whether every field the scope names is a plain name, which only that exact
    /// name matches (`wildmatch` knows no wildcard but `*` and `?`, and no escapes).
    pub(super) fn is_literal(&self) -> bool {
        self.parts.iter().flatten().all(|part| !is_pattern(part))
    }

    /// The plain definition of a match, which the compiled lookup must agree with.
    pub(super) fn matches(&self, subject: &IndexSubject<'_>) -> bool {
        self.matchers
            .iter()
            .zip(names(subject))
            .all(|(matcher, name)| matcher.as_ref().is_none_or(|m| m.matches(name)))
    }

    /// Larger is more specific; among equals a DBA's row beats a built-in, a newer row
    /// an older.
    pub(super) fn rank(&self) -> (u8, usize, i64) {
        let row_id = match self.origin {
            Origin::Row(id) => id,
            Origin::BuiltIn(_) => i64::MIN,
        };
        (self.level, self.literal_chars, row_id)
    }
}
