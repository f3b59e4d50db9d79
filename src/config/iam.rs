//! IAM database authentication in the configuration: `"auth": "iam"` with the
//! endpoint, the user and the database named, and the TLS that IAM demands.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::pg::{SslMode, Tls};

/// A login with an RDS IAM token: a fresh token for every connection, as the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamLogin {
    /// What errors call it: `target "orders"` or `the control database`.
    pub label: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// `None`: the region of the AWS configuration (`AWS_REGION`, the profile).
    pub region: Option<String>,
}

impl IamLogin {
    /// Connection settings without the password (the token is added per connection).
    pub fn connection(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.database);
        config
    }
}

/// The fields an IAM entry has besides `name`, `databases` and TLS.
#[derive(Debug, Default, Deserialize)]
pub(super) struct IamFields {
    pub auth: Option<String>,
    pub host: Option<String>,
    pub port: Option<Value>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub region: Option<String>,
}

impl IamFields {
    /// The first IAM-only field given, for entries that are not IAM ones.
    pub fn stray(&self) -> Option<&'static str> {
        [
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("user", self.user.is_some()),
            ("database", self.database.is_some()),
            ("region", self.region.is_some()),
        ]
        .into_iter()
        .find_map(|(field, given)| given.then_some(field))
    }

    pub fn login(self, label: String) -> Result<IamLogin, String> {
        match self.auth.as_deref() {
            Some("iam") => {}
            Some(other) => {
                return Err(format!(
                    "has auth {other:?}; the only auth index-pilot knows is \"iam\""
                ))
            }
            None => return Err("has no auth (it must be \"iam\")".to_owned()),
        }
        let required = |field: &'static str, value: Option<String>| match value {
            Some(text) if !text.trim().is_empty() => Ok(text),
            Some(_) => Err(format!("has an empty {field}")),
            None => Err(format!(
                "has no {field} (IAM authentication needs host, user and database)"
            )),
        };
        let port = match self.port {
            None | Some(Value::Null) => 5432,
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("has port {n}, which is not a port number"))?,
            Some(other) => return Err(format!("has port {other}, which is not a port number")),
        };
        let region = match self.region {
            Some(region) if region.trim().is_empty() => {
                return Err("has an empty region (leave it out to use AWS_REGION)".to_owned())
            }
            region => region,
        };
        Ok(IamLogin {
            label,
            host: required("host", self.host)?,
            port,
            user: required("user", self.user)?,
            database: required("database", self.database)?,
            region,
        })
    }
}

/// `INDEX_PILOT_CONTROL_IAM`: a target entry's IAM form, without `name`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControlIam {
    auth: Option<String>,
    host: Option<String>,
    port: Option<Value>,
    user: Option<String>,
    database: Option<String>,
    region: Option<String>,
    sslmode: Option<SslMode>,
    sslrootcert: Option<PathBuf>,
}

impl RawControlIam {
    pub fn parse(
        json: &str,
        env_mode: Option<SslMode>,
        default_tls: &Tls,
    ) -> Result<(IamLogin, Tls), String> {
        let raw: RawControlIam = serde_json::from_str(json)
            .map_err(|e| format!("is not a valid IAM entry (a JSON object such as {{\"auth\": \"iam\", \"host\": ..., \"user\": ..., \"database\": ...}}): {e}"))?;
        let fields = IamFields {
            // The variable says IAM already; "auth" may be left out.
            auth: Some(raw.auth.unwrap_or_else(|| "iam".to_owned())),
            host: raw.host,
            port: raw.port,
            user: raw.user,
            database: raw.database,
            region: raw.region,
        };
        let login = fields.login("the control database".to_owned())?;
        let tls = iam_tls(raw.sslmode, env_mode, raw.sslrootcert, default_tls)?;
        Ok((login, tls))
    }
}

/// IAM implies TLS: RDS refuses IAM logins without it, and a token is a password.
/// The entry's sslmode, else `INDEX_PILOT_SSLMODE` when set, else `verify-full`.
pub(super) fn iam_tls(
    entry_mode: Option<SslMode>,
    env_mode: Option<SslMode>,
    root_cert: Option<PathBuf>,
    default_tls: &Tls,
) -> Result<Tls, String> {
    let mode = entry_mode.or(env_mode).unwrap_or(SslMode::VerifyFull);
    if let SslMode::Disable | SslMode::Prefer = mode {
        return Err(format!(
            "uses IAM authentication with sslmode {}, which may send the token without TLS (RDS refuses IAM logins without TLS): use verify-full, verify-ca or require",
            if mode == SslMode::Disable { "disable" } else { "prefer" }
        ));
    }
    Ok(Tls {
        mode,
        root_cert: root_cert.or_else(|| default_tls.root_cert.clone()),
    })
}
