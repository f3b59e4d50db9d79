//! The rules compiled once per run, so that finding the rules of one index costs a
//! few hash probes instead of a pattern match against every rule: a fleet has
//! hundreds of thousands of indexes and a DBA may write thousands of rules.

use std::collections::HashMap;

use wildmatch::WildMatch;

use super::rule::{names, Rule};
use super::IndexSubject;

/// Which scope fields a rule names, one bit per field of [`Rule::parts`].
type Shape = u8;

/// The positions of the rules of one shape, by the names they give (see [`push_key`]).
type ByNames = HashMap<Vec<u8>, Vec<usize>>;

/// Positions (in the rules sorted most specific first) of the rules that can match.
#[derive(Debug, Default)]
pub(super) struct RuleLookup {
    /// Rules whose named fields are all plain names: one map per shape, keyed by
    /// those names. A shape is one probe per index; a fleet's rules have a handful.
    literal: Vec<(Shape, ByNames)>,
    /// Rules with a `*` or `?` somewhere: few, each tried in turn.
    wildcard: Vec<WildcardRule>,
}

#[derive(Debug)]
struct WildcardRule {
    position: usize,
    /// The fields the rule names, plain names first: they reject most indexes cheaply.
    fields: Vec<(usize, Field)>,
}

#[derive(Debug)]
enum Field {
    Exact(String),
    Pattern {
        /// What comes before the first wildcard and after the last: matched as is.
        prefix: String,
        suffix: String,
        /// Bytes a name has at least: the plain characters', and one per `?`.
        min_len: usize,
        /// Needed only when the three tests above are not the whole answer, that is
        /// unless the pattern is one `*` between plain text.
        matcher: Option<WildMatch>,
    },
}

/// Byte by byte: for names this short, a call to libc's `memcmp` (what `==` and
/// `starts_with` on strings become) can cost more than the comparison. Measured with
/// `cargo bench --bench settings` on the machine of BENCHMARKS.md: the lookup took
/// 227 ms through `memcmp`, 61 ms without.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn starts_with(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| same(head, prefix.as_bytes()))
}

fn ends_with(name: &str, suffix: &str) -> bool {
    name.len()
        .checked_sub(suffix.len())
        .and_then(|start| name.as_bytes().get(start..))
        .is_some_and(|tail| same(tail, suffix.as_bytes()))
}

impl Field {
    fn new(part: &str) -> Field {
        let is_wildcard = |c: char| c == '*' || c == '?';
        let (Some(first), Some(last)) = (part.find(is_wildcard), part.rfind(is_wildcard)) else {
            return Field::Exact(part.to_owned());
        };
        let stars = part.matches('*').count();
        let questions = part.matches('?').count();
        Field::Pattern {
            prefix: part[..first].to_owned(),
            // A wildcard is one byte long.
            suffix: part[last + 1..].to_owned(),
            min_len: part.len() - stars,
            matcher: (stars != 1 || questions != 0).then(|| WildMatch::new(part)),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Field::Exact(part) => same(part.as_bytes(), name.as_bytes()),
            Field::Pattern {
                prefix,
                suffix,
                min_len,
                matcher,
            } => {
                name.len() >= *min_len
                    && starts_with(name, prefix)
                    && ends_with(name, suffix)
                    && matcher.as_ref().is_none_or(|m| m.matches(name))
            }
        }
    }
}

fn shape_of(rule: &Rule) -> Shape {
    rule.parts
        .iter()
        .enumerate()
        .filter(|(_, part)| part.is_some())
        .fold(0, |shape, (field, _)| shape | 1 << field)
}

/// Appends the names a shape keys on, each after its length: no two lists of names
/// give the same key, whatever characters the names hold.
fn push_key<'a>(key: &mut Vec<u8>, shape: Shape, names: impl IntoIterator<Item = &'a str>) {
    for (field, name) in names.into_iter().enumerate() {
        if shape & 1 << field != 0 {
            key.extend_from_slice(&name.len().to_le_bytes());
            key.extend_from_slice(name.as_bytes());
        }
    }
}

impl RuleLookup {
    /// `rules` sorted most specific first; positions refer to that order.
    pub(super) fn new(rules: &[Rule]) -> RuleLookup {
        let mut lookup = RuleLookup::default();
        for (position, rule) in rules.iter().enumerate() {
            if !rule.is_literal() {
                let mut fields: Vec<(usize, Field)> = rule
                    .parts
                    .iter()
                    .enumerate()
                    .filter_map(|(field, part)| Some((field, Field::new(part.as_deref()?))))
                    .collect();
                fields.sort_by_key(|(_, field)| matches!(field, Field::Pattern { .. }));
                lookup.wildcard.push(WildcardRule { position, fields });
                continue;
            }
            let shape = shape_of(rule);
            let mut key = Vec::new();
            push_key(
                &mut key,
                shape,
                rule.parts.iter().map(|part| part.as_deref().unwrap_or("")),
            );
            let by_names = match lookup.literal.iter().position(|(s, _)| *s == shape) {
                Some(i) => &mut lookup.literal[i].1,
                None => {
                    lookup.literal.push((shape, ByNames::default()));
                    let last = lookup.literal.len() - 1;
                    &mut lookup.literal[last].1
                }
            };
            by_names.entry(key).or_default().push(position);
        }
        lookup
    }

    /// The positions of every rule that matches the subject, in no particular order.
    pub(super) fn matching(&self, subject: &IndexSubject<'_>) -> Vec<usize> {
        let names = names(subject);
        let mut found = Vec::with_capacity(16);
        let mut key = Vec::with_capacity(64);
        for (shape, by_names) in &self.literal {
            key.clear();
            push_key(&mut key, *shape, names);
            if let Some(positions) = by_names.get(key.as_slice()) {
                found.extend_from_slice(positions);
            }
        }
        for rule in &self.wildcard {
            let matches = |(field, pattern): &(usize, Field)| pattern.matches(names[*field]);
            if rule.fields.iter().all(matches) {
                found.push(rule.position);
            }
        }
        found
    }
}
