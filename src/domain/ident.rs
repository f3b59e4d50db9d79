//! PostgreSQL identifiers: quoting for SQL text and the `schema.name` form used in
//! events and reports.

use std::fmt;
use std::str::FromStr;

/// Quotes an identifier for SQL text, always: `Weird "Name"` → `"Weird ""Name"""`.
/// Names come from the catalog or from events; quoting every one of them means no
/// name can change the meaning of a statement.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// True when the name reads back unchanged without quotes (lower case, digits,
/// underscores, not starting with a digit).
fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
}

/// A schema-qualified relation name, as the catalog spells it (no case folding).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub(crate) schema: String,
    pub(crate) name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// `"schema"."name"`, for SQL text.
    pub(crate) fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// The readable form: each part quoted only when it needs it, so `public.orders_pkey`
/// stays plain while `"My Schema"."idx ""x"""` round-trips through [`FromStr`].
impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |p: &str| {
            if is_plain(p) {
                p.to_owned()
            } else {
                quote_ident(p)
            }
        };
        write!(f, "{}.{}", part(&self.schema), part(&self.name))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("index name {input:?} is not of the form schema.name: {problem}")]
pub struct NameParseError {
    pub(crate) input: String,
    pub(crate) problem: &'static str,
}

impl FromStr for QualifiedName {
    type Err = NameParseError;

    /// Parses `schema.name`; either part may be double-quoted (with `""` for a quote
    /// inside). Unquoted parts are taken exactly as written: no case folding.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |problem| NameParseError {
            input: input.to_owned(),
            problem,
        };
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut chars = input.chars().peekable();
        let mut quoted_part = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if current.is_empty() && !quoted_part => {
                    quoted_part = true;
                    loop {
                        match chars.next() {
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                current.push('"');
                            }
                            Some('"') => break,
                            Some(other) => current.push(other),
                            None => return Err(fail("unterminated double quote")),
                        }
                    }
                    if !matches!(chars.peek(), None | Some('.')) {
                        return Err(fail("text after a closing double quote"));
                    }
                }
                '.' => {
                    parts.push(std::mem::take(&mut current));
                    quoted_part = false;
                }
                '"' => return Err(fail("a double quote inside an unquoted name")),
                other => current.push(other),
            }
        }
        parts.push(current);
        match parts.as_slice() {
            [schema, name] if !schema.is_empty() && !name.is_empty() => {
                Ok(QualifiedName::new(schema.clone(), name.clone()))
            }
            [_] => Err(fail("the schema is missing")),
            [_, _] => Err(fail("an empty part")),
            _ => Err(fail("more than one dot outside double quotes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_every_identifier() {
        assert_eq!(quote_ident("orders"), "\"orders\"");
        assert_eq!(quote_ident("Weird \"Name\""), "\"Weird \"\"Name\"\"\"");
    }

    #[test]
    fn displays_plain_names_plainly() {
        assert_eq!(
            QualifiedName::new("public", "orders_pkey").to_string(),
            "public.orders_pkey"
        );
        assert_eq!(
            QualifiedName::new("My Schema", "a.b").to_string(),
            "\"My Schema\".\"a.b\""
        );
    }

    #[test]
    fn parses_quoted_and_plain_parts() {
        let parsed: QualifiedName = "\"My \"\"S\"\"\".Idx".parse().unwrap();
        assert_eq!(parsed, QualifiedName::new("My \"S\"", "Idx"));
        assert!("nodot".parse::<QualifiedName>().is_err());
        assert!("a.b.c".parse::<QualifiedName>().is_err());
        assert!("\"open.b".parse::<QualifiedName>().is_err());
        assert!("a.".parse::<QualifiedName>().is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(schema in "\\PC{1,20}", name in "\\PC{1,20}") {
            let original = QualifiedName::new(schema, name);
            let parsed: QualifiedName = original.to_string().parse().unwrap();
            prop_assert_eq!(parsed, original);
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,40}") {
            let _ = input.parse::<QualifiedName>();
        }
    }
}
