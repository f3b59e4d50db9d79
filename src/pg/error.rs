//! PostgreSQL errors as the server gave them: SQLSTATE, message and the object they
//! name, typed, so callers decide on the code and reports quote the server's words.

use std::fmt;

use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

/// What the server said about a failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub sqlstate: String,
    pub(crate) severity: String,
    /// For data exceptions (class 22), integrity violations (class 23) and PL/pgSQL
    /// raises (class P0) only the kind of error and the object it names: their
    /// message and detail quote row values (`invalid input syntax for type integer:
    /// "4111…"`, a RAISE text), which may be personal data or secrets.
    pub(crate) message: String,
    pub(crate) detail: Option<String>,
    pub(crate) schema: Option<String>,
    pub(crate) table: Option<String>,
    pub(crate) constraint: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (SQLSTATE {})",
            self.severity, self.message, self.sqlstate
        )?;
        if let Some(detail) = &self.detail {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    #[error("{0}")]
    Server(Box<ServerError>),
    /// No answer from the server: the connection could not be made or broke.
    #[error("{0}")]
    Connection(String),
    /// The server answered with something this code does not expect.
    #[error("column {column} holds an unexpected value: {problem}")]
    Column {
        column: &'static str,
        problem: String,
    },
}

impl PgError {
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Server(server) => Some(&server.sqlstate),
            _ => None,
        }
    }

    /// True when the connection is gone: the server may still be at work.
    pub(crate) fn is_connection_lost(&self) -> bool {
        matches!(self, PgError::Connection(_))
    }
}

/// What a message that may quote row values is replaced with: its kind, by class.
pub(super) fn withheld(sqlstate: &str) -> Option<&'static str> {
    match sqlstate.get(..2)? {
        "22" => Some("data exception"),
        "23" => Some("integrity constraint violation"),
        "P0" => Some("PL/pgSQL error"),
        _ => None,
    }
}

/// The object a withheld message was about, as the server named it in its fields.
pub(super) fn named_object(db: &tokio_postgres::error::DbError) -> String {
    let table = match (db.schema(), db.table()) {
        (Some(schema), Some(table)) => Some(format!("{schema}.{table}")),
        (None, Some(table)) => Some(table.to_owned()),
        _ => None,
    };
    [
        table.map(|t| format!("table {t}")),
        db.column().map(|c| format!("column {c}")),
        db.constraint().map(|c| format!("constraint {c}")),
        db.datatype().map(|d| format!("type {d}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

impl From<&tokio_postgres::Error> for PgError {
    fn from(error: &tokio_postgres::Error) -> Self {
        if let Some(db) = error.as_db_error() {
            let sqlstate = db.code().code().to_owned();
            let (message, detail) = match withheld(&sqlstate) {
                Some(kind) => {
                    let object = named_object(db);
                    let on = if object.is_empty() {
                        String::new()
                    } else {
                        format!(" on {object}")
                    };
                    (
                        format!("{kind}{on} (the server's message is left out: it may quote row values)"),
                        None,
                    )
                }
                None => (db.message().to_owned(), db.detail().map(str::to_owned)),
            };
            return PgError::Server(Box::new(ServerError {
                detail,
                sqlstate,
                severity: db.severity().to_owned(),
                message,
                schema: db.schema().map(str::to_owned),
                table: db.table().map(str::to_owned),
                constraint: db.constraint().map(str::to_owned),
            }));
        }
        // tokio-postgres' own Display says little ("error connecting to server");
        // the causes say what happened (connection refused, timed out, closed).
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(&format!(": {cause_text}"));
            }
            source = cause.source();
        }
        PgError::Connection(text)
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(error: tokio_postgres::Error) -> Self {
        PgError::from(&error)
    }
}

/// Reads one column, as a typed error instead of a panic when the server sends what
/// the code does not expect (a NULL from a relation dropped meanwhile, say).
pub(crate) fn column<'a, T: FromSql<'a>>(row: &'a Row, name: &'static str) -> Result<T, PgError> {
    row.try_get(name).map_err(|error| PgError::Column {
        column: name,
        problem: error
            .into_source()
            .map_or_else(|| "cannot be read".to_owned(), |e| e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(sqlstate: &str, detail: Option<&str>) -> PgError {
        PgError::Server(Box::new(ServerError {
            sqlstate: sqlstate.to_owned(),
            severity: "ERROR".to_owned(),
            message: "it failed".to_owned(),
            detail: detail.map(str::to_owned),
            schema: None,
            table: None,
            constraint: None,
        }))
    }

    #[test]
    fn shows_the_servers_words_and_code() {
        assert_eq!(
            server("55P03", Some("more")).to_string(),
            "ERROR: it failed (SQLSTATE 55P03); more"
        );
        assert_eq!(server("55P03", None).sqlstate(), Some("55P03"));
        assert!(PgError::Connection("closed".into()).is_connection_lost());
        assert!(!server("55P03", None).is_connection_lost());
    }

    #[test]
    fn row_values_stay_out() {
        assert_eq!(withheld("23505"), Some("integrity constraint violation"));
        assert_eq!(withheld("22P02"), Some("data exception"));
        assert_eq!(withheld("P0001"), Some("PL/pgSQL error"));
        assert_eq!(withheld("42501"), None);
        assert_eq!(withheld("5"), None);
    }
}
