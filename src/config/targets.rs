//! `INDEX_PILOT_TARGETS`: the list of targets, each entry read on its own so that a
//! bad one names itself and the others still run.

use std::path::PathBuf;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;

use super::free_storage::parse_free_storage;
use super::iam::{iam_tls, IamFields};
use super::{ConfigError, Endpoint, Source, TargetEntry, TargetSpec, TARGETS_VAR};
use crate::pg::{SslMode, Tls};

/// Reads a password-free URL. The URL itself never goes into an error: it may hold
/// the very password it must not.
pub(super) fn password_free_url(url: &str) -> Result<tokio_postgres::Config, String> {
    let config = tokio_postgres::Config::from_str(url)
        .map_err(|e| format!("is not a valid PostgreSQL URL: {e}"))?;
    if config.get_password().is_some() {
        return Err("carries a password; passwords belong in Secrets Manager, never in configuration (locally, use trust or peer authentication)".to_owned());
    }
    if config.get_user().is_none() {
        return Err("names no user (postgresql://USER@host:port/database)".to_owned());
    }
    Ok(config)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    url: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    databases: Vec<String>,
    sslmode: Option<SslMode>,
    sslrootcert: Option<PathBuf>,
    auth: Option<String>,
    host: Option<String>,
    port: Option<Value>,
    user: Option<String>,
    database: Option<String>,
    region: Option<String>,
    free_storage: Option<Value>,
}

fn parse_target(raw: RawTarget, default_tls: &Tls) -> Result<TargetSpec, String> {
    let iam = IamFields {
        auth: raw.auth,
        host: raw.host,
        port: raw.port,
        user: raw.user,
        database: raw.database,
        region: raw.region,
    };
    if let Some(empty) = raw.databases.iter().position(|d| d.is_empty()) {
        return Err(format!("databases[{empty}] is an empty name"));
    }
    let free_storage = raw.free_storage.map(parse_free_storage).transpose()?;
    if iam.auth.is_some() {
        if raw.url.is_some() || raw.secret.is_some() {
            return Err("has auth and also url or secret; give one".to_owned());
        }
        let login = iam.login(format!("target {:?}", raw.name))?;
        let tls = iam_tls(raw.sslmode, raw.sslrootcert, default_tls)?;
        return Ok(TargetSpec {
            endpoint: Endpoint {
                source: Source::Iam(Box::new(login)),
                tls,
            },
            databases: raw.databases,
            free_storage,
        });
    }
    if let Some(field) = iam.stray() {
        return Err(format!(
            "has {field}, which only an entry with \"auth\": \"iam\" takes (a url or a secret says where to connect)"
        ));
    }
    let source = match (raw.url, raw.secret) {
        (Some(url), None) => Source::Url(Box::new(
            password_free_url(&url).map_err(|e| format!("its url {e}"))?,
        )),
        (None, Some(secret)) if !secret.is_empty() => Source::Secret(secret),
        (None, Some(_)) => return Err("has an empty secret id".to_owned()),
        (Some(_), Some(_)) => return Err("has both url and secret; give one".to_owned()),
        (None, None) => return Err("has neither url nor secret".to_owned()),
    };
    let tls = Tls {
        mode: raw.sslmode.unwrap_or(default_tls.mode),
        root_cert: raw.sslrootcert.or_else(|| default_tls.root_cert.clone()),
    };
    Ok(TargetSpec {
        endpoint: Endpoint { source, tls },
        databases: raw.databases,
        free_storage,
    })
}

pub(super) fn parse_targets(
    json: &str,
    default_tls: &Tls,
) -> Result<Vec<TargetEntry>, ConfigError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| ConfigError::TargetsNotJson(e.to_string()))?;
    let entries = match value {
        Value::Array(entries) if entries.is_empty() => return Err(ConfigError::TargetsEmpty),
        Value::Array(entries) => entries,
        Value::Object(_) => return Err(ConfigError::TargetsNotAList("an object")),
        _ => return Err(ConfigError::TargetsNotAList("a scalar")),
    };
    let mut targets: Vec<TargetEntry> = Vec::new();
    for (position, entry) in entries.into_iter().enumerate() {
        let fallback_name = entry
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .map_or_else(|| format!("#{position}"), str::to_owned);
        // Two entries of one name would share one lease, one progress row and one
        // line of metrics: the configuration is refused as a whole.
        if targets.iter().any(|t| t.name == fallback_name) {
            return Err(ConfigError::DuplicateTarget(fallback_name));
        }
        let spec = match serde_json::from_value::<RawTarget>(entry) {
            Err(e) => Err(format!("is not a valid target entry: {e}")),
            Ok(raw) if raw.name.is_empty() => Err("has an empty name".to_owned()),
            Ok(raw) => parse_target(raw, default_tls),
        };
        targets.push(TargetEntry {
            spec: spec
                .map_err(|problem| format!("target {fallback_name:?} in {TARGETS_VAR} {problem}")),
            name: fallback_name,
        });
    }
    Ok(targets)
}
