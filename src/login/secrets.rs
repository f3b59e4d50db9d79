//! Database credentials from a secret store: the port ([`SecretSource`]), the RDS
//! secret format, and an in-process cache that survives warm invocations.
//!
//! Secret values never enter an error message: errors name the secret and the field.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::Value;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("secret {id:?} does not exist (or this function may not read it)")]
    NotFound { id: String },
    #[error("cannot read secret {id:?}: {reason}")]
    Unavailable { id: String, reason: String },
    #[error("secret {id:?} holds no text (binary secrets are not supported)")]
    NotText { id: String },
    #[error("secret {id:?} is not a JSON object in the RDS format {{\"username\", \"password\", \"host\", \"port\", \"dbname\"}}")]
    NotJson { id: String },
    #[error("secret {id:?} has no {field:?}")]
    MissingField { id: String, field: &'static str },
    #[error("secret {id:?}: field {field:?} {problem}")]
    BadField {
        id: String,
        field: &'static str,
        problem: &'static str,
    },
    #[error("reading secrets needs Secrets Manager, which this invocation has not got (no AWS configuration)")]
    NoSecretStore,
    /// The token is a password: only where the login was going is named.
    #[error("cannot make an IAM token for {label} ({host}:{port}, user {user}): {reason}")]
    IamToken {
        label: String,
        host: String,
        port: u16,
        user: String,
        reason: String,
    },
}

/// Where secret strings come from (Secrets Manager in Lambda). A boxed future, so
/// that the cache holds any source without a type parameter: one allocation per
/// fetch, and a fetch is a network round trip.
pub trait SecretSource: Send + Sync {
    fn fetch<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, SecretError>>;
}

/// For local runs with password-free URLs only.
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn fetch<'a>(&'a self, _secret_id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async { Err(SecretError::NoSecretStore) })
    }
}

/// A database secret in the format RDS and Secrets Manager rotation use.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct DbSecret {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) dbname: Option<String>,
}

/// The password stays out of every `{:?}`.
impl std::fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSecret")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .finish()
    }
}

impl DbSecret {
    pub(crate) fn parse(id: &str, text: &str) -> Result<DbSecret, SecretError> {
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
            return Err(SecretError::NotJson { id: id.to_owned() });
        };
        let text_field = |field: &'static str| -> Result<Option<String>, SecretError> {
            match fields.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(Value::String(_)) => Err(SecretError::BadField {
                    id: id.to_owned(),
                    field,
                    problem: "is empty",
                }),
                Some(_) => Err(SecretError::BadField {
                    id: id.to_owned(),
                    field,
                    problem: "is not a string",
                }),
            }
        };
        let required = |field: &'static str| {
            text_field(field)?.ok_or(SecretError::MissingField {
                id: id.to_owned(),
                field,
            })
        };
        let bad_port = SecretError::BadField {
            id: id.to_owned(),
            field: "port",
            problem: "is not a port number",
        };
        let port = match fields.get("port") {
            None | Some(Value::Null) => 5432,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or(bad_port)?,
            Some(Value::String(s)) => s.trim().parse().map_err(|_| bad_port)?,
            Some(_) => return Err(bad_port),
        };
        Ok(DbSecret {
            username: required("username")?,
            password: required("password")?,
            host: required("host")?,
            port,
            dbname: text_field("dbname")?,
        })
    }

    /// Connection settings for this secret; `database` overrides the secret's dbname.
    pub(crate) fn connection(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .user(&self.username)
            .password(&self.password)
            .host(&self.host)
            .port(self.port)
            .dbname(self.dbname.as_deref().unwrap_or("postgres"));
        config
    }
}

/// Secrets by id, kept for `ttl` across warm invocations; [`SecretCache::refresh`]
/// fetches again (after a failed login: the password may have been rotated).
pub struct SecretCache {
    source: Box<dyn SecretSource>,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<DbSecret>)>>,
}

impl SecretCache {
    pub(crate) fn new(source: impl SecretSource + 'static, ttl: Duration) -> Self {
        SecretCache {
            source: Box::new(source),
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, id: &str) -> Option<Arc<DbSecret>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .filter(|(fetched, _)| fetched.elapsed() < self.ttl)
            .map(|(_, secret)| Arc::clone(secret))
    }

    pub(crate) async fn get(&self, id: &str) -> Result<Arc<DbSecret>, SecretError> {
        match self.cached(id) {
            Some(secret) => Ok(secret),
            None => self.refresh(id).await,
        }
    }

    pub(crate) async fn refresh(&self, id: &str) -> Result<Arc<DbSecret>, SecretError> {
        let text = self.source.fetch(id).await?;
        let secret = Arc::new(DbSecret::parse(id, &text)?);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(id.to_owned(), (Instant::now(), Arc::clone(&secret)));
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const GOOD: &str = r#"{"username": "pilot", "password": "hunter2", "engine": "postgres",
        "host": "db.example.com", "port": 5432, "dbname": "orders"}"#;

    #[test]
    fn parses_the_rds_format() {
        let secret = DbSecret::parse("s", GOOD).unwrap();
        assert_eq!(secret.port, 5432);
        assert_eq!(secret.dbname.as_deref(), Some("orders"));
        assert!(!format!("{secret:?}").contains("hunter2"));
        let config = secret.connection();
        assert_eq!(config.get_user(), Some("pilot"));
        let string_port = DbSecret::parse(
            "s",
            r#"{"username":"u","password":"p","host":"h","port":"6432"}"#,
        )
        .unwrap();
        assert_eq!(string_port.port, 6432);
    }

    #[test]
    fn bad_secrets_name_the_problem_and_never_the_value() {
        let cases = [
            ("not json", "is not a JSON object"),
            ("[1]", "is not a JSON object"),
            (r#"{"username":"u","host":"h"}"#, "has no \"password\""),
            (
                r#"{"username":"u","password":"hunter2"}"#,
                "has no \"host\"",
            ),
            (
                r#"{"username":"u","password":"hunter2","host":"h","port":"hunter2"}"#,
                "\"port\" is not a port number",
            ),
            (
                r#"{"username":"u","password":"hunter2","host":"h","port":70000}"#,
                "\"port\" is not a port number",
            ),
            (
                r#"{"username":7,"password":"hunter2","host":"h"}"#,
                "\"username\" is not a string",
            ),
        ];
        for (text, expected) in cases {
            let error = DbSecret::parse("prod/db", text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("\"prod/db\""), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    struct Counting(AtomicUsize);

    impl SecretSource for Counting {
        fn fetch<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                Ok(format!(
                    r#"{{"username":"u","password":"p{n}","host":"h"}}"#
                ))
            })
        }
    }

    #[tokio::test]
    async fn cache_keeps_secrets_until_refreshed_or_expired() {
        let cache = SecretCache::new(Counting(AtomicUsize::new(0)), Duration::from_secs(60));
        assert_eq!(cache.get("a").await.unwrap().password, "p0");
        assert_eq!(cache.get("a").await.unwrap().password, "p0");
        assert_eq!(cache.refresh("a").await.unwrap().password, "p1");
        assert_eq!(cache.get("a").await.unwrap().password, "p1");
        let expired = SecretCache::new(Counting(AtomicUsize::new(0)), Duration::ZERO);
        expired.get("a").await.unwrap();
        assert_eq!(expired.get("a").await.unwrap().password, "p1");
    }
}
