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
    pub(crate) fn connection(&self) -> tokio_postgres::Config {
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
    pub(crate) auth: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<Value>,
    pub(crate) user: Option<String>,
    pub(crate) database: Option<String>,
    pub(crate) region: Option<String>,
}

impl IamFields {
    /// The first IAM-only field given, for entries that are not IAM ones.
    pub(crate) fn stray(&self) -> Option<&'static str> {
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

    pub(crate) fn login(self, label: String) -> Result<IamLogin, String> {
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
    pub(crate) fn parse(json: &str, default_tls: &Tls) -> Result<(IamLogin, Tls), String> {
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
        let tls = iam_tls(raw.sslmode, raw.sslrootcert, default_tls)?;
        Ok((login, tls))
    }
}

/// IAM implies TLS: RDS refuses IAM logins without it, and a token is a password, so
/// the server it goes to must prove who it is. The entry's own sslmode, else
/// `verify-full`: the global `INDEX_PILOT_SSLMODE` (often `require`, for the other
/// endpoints) never lowers it.
pub(super) fn iam_tls(
    entry_mode: Option<SslMode>,
    root_cert: Option<PathBuf>,
    default_tls: &Tls,
) -> Result<Tls, String> {
    let mode = entry_mode.unwrap_or(SslMode::VerifyFull);
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

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError, Environment, Source};
    use crate::pg::SslMode;

    const CONTROL: &str = "postgresql://pilot@127.0.0.1:5432/control";
    const ORDERS: &str = r#"{"name": "orders", "auth": "iam", "host": "db.example.com",
        "user": "index_pilot", "database": "orders", "region": "eu-west-1"}"#;

    fn env(targets: &str) -> Environment {
        Environment {
            control_url: Some(CONTROL.into()),
            targets: Some(format!("[{targets}]")),
            ..Environment::default()
        }
    }

    fn problem(env: &Environment) -> String {
        Config::from_environment(env).unwrap().targets[0]
            .spec
            .as_ref()
            .unwrap_err()
            .clone()
    }

    #[test]
    fn an_iam_target_defaults_to_port_5432_and_verify_full() {
        let config = Config::from_environment(&env(ORDERS)).unwrap();
        let spec = config.targets[0].spec.as_ref().unwrap();
        let Source::Iam(login) = &spec.endpoint.source else {
            panic!("{:?}", spec.endpoint.source)
        };
        assert_eq!(login.label, "target \"orders\"");
        assert_eq!(
            (login.host.as_str(), login.port, login.user.as_str()),
            ("db.example.com", 5432, "index_pilot")
        );
        assert_eq!(login.database, "orders");
        assert_eq!(login.region.as_deref(), Some("eu-west-1"));
        assert_eq!(spec.endpoint.tls.mode, SslMode::VerifyFull);
        assert_eq!(spec.database_names(), [None]);
        let connection = login.connection();
        assert_eq!(connection.get_dbname(), Some("orders"));
        assert!(connection.get_password().is_none());
        // Other targets keep the old default.
        let mixed = env(&format!(
            r#"{ORDERS}, {{"name": "dev", "url": "postgresql://app@h/dev"}}"#
        ));
        let config = Config::from_environment(&mixed).unwrap();
        let dev = config.targets[1].spec.as_ref().unwrap();
        assert_eq!(dev.endpoint.tls.mode, SslMode::Prefer);
    }

    #[test]
    fn iam_targets_take_a_port_databases_and_the_region_of_the_environment() {
        let config = Config::from_environment(&env(
            r#"{"name": "o", "auth": "iam", "host": "h", "port": 6432, "user": "u",
                "database": "d", "databases": ["a", "b"]}"#,
        ))
        .unwrap();
        let spec = config.targets[0].spec.as_ref().unwrap();
        let Source::Iam(login) = &spec.endpoint.source else {
            panic!("not IAM")
        };
        assert_eq!((login.port, login.region.as_deref()), (6432, None));
        assert_eq!(spec.database_names().len(), 2);
    }

    #[test]
    fn bad_iam_entries_name_the_target_and_the_field() {
        let cases = [
            (
                r#""auth": "iam", "user": "u", "database": "d""#,
                "has no host",
            ),
            (
                r#""auth": "iam", "host": "h", "database": "d""#,
                "has no user",
            ),
            (
                r#""auth": "iam", "host": "h", "user": "u""#,
                "has no database",
            ),
            (
                r#""auth": "iam", "host": "", "user": "u", "database": "d""#,
                "has an empty host",
            ),
            (
                r#""auth": "iam", "host": "h", "port": 70000, "user": "u", "database": "d""#,
                "has port 70000, which is not a port number",
            ),
            (
                r#""auth": "iam", "host": "h", "port": "5432", "user": "u", "database": "d""#,
                "has port \"5432\", which is not a port number",
            ),
            (
                r#""auth": "password", "host": "h", "user": "u", "database": "d""#,
                "has auth \"password\"",
            ),
            (
                r#""auth": "iam", "secret": "s", "host": "h", "user": "u", "database": "d""#,
                "has auth and also url or secret",
            ),
            (
                r#""auth": "iam", "url": "postgresql://u@h/d", "host": "h", "user": "u", "database": "d""#,
                "has auth and also url or secret",
            ),
            (
                r#""url": "postgresql://u@h/d", "host": "h""#,
                "has host, which only",
            ),
            (
                r#""auth": "iam", "host": "h", "user": "u", "database": "d", "sslmode": "disable""#,
                "sslmode disable",
            ),
        ];
        for (fields, expected) in cases {
            let problem = problem(&env(&format!(r#"{{"name": "orders", {fields}}}"#)));
            assert!(
                problem.starts_with("target \"orders\" in INDEX_PILOT_TARGETS "),
                "{problem}"
            );
            assert!(problem.contains(expected), "{fields}: {problem}");
        }
    }

    #[test]
    fn the_global_sslmode_never_lowers_an_iam_endpoint() {
        let with_mode = |mode: &str| Environment {
            sslmode: Some(mode.into()),
            ..env(ORDERS)
        };
        // INDEX_PILOT_SSLMODE=require (the template's default) is for the other
        // endpoints: a token is a password, sent only to a server that proves its name.
        for global in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let config = Config::from_environment(&with_mode(global)).unwrap();
            let spec = config.targets[0].spec.as_ref().unwrap();
            assert_eq!(spec.endpoint.tls.mode, SslMode::VerifyFull, "{global}");
        }
        let config = Config::from_environment(&with_mode("require")).unwrap();
        // The control database follows the environment's sslmode when it is not IAM.
        assert_eq!(config.control.tls.mode, SslMode::Require);
        let iam_control = Environment {
            control_url: None,
            control_iam: Some(r#"{"host": "c", "user": "u", "database": "d"}"#.into()),
            ..with_mode("require")
        };
        let config = Config::from_environment(&iam_control).unwrap();
        assert_eq!(config.control.tls.mode, SslMode::VerifyFull);
        // The entry's own sslmode chooses, within TLS.
        let own = Config::from_environment(&env(
            r#"{"name": "o", "auth": "iam", "host": "h", "user": "u", "database": "d",
                "sslmode": "verify-ca"}"#,
        ))
        .unwrap();
        let spec = own.targets[0].spec.as_ref().unwrap();
        assert_eq!(spec.endpoint.tls.mode, SslMode::VerifyCa);
        for refused in ["disable", "prefer"] {
            let problem = problem(&env(&format!(
                r#"{{"name": "o", "auth": "iam", "host": "h", "user": "u", "database": "d",
                    "sslmode": "{refused}"}}"#
            )));
            assert!(
                problem.contains("RDS refuses IAM logins without TLS"),
                "{problem}"
            );
        }
    }

    #[test]
    fn the_control_database_through_iam() {
        let control = Environment {
            control_url: None,
            control_iam: Some(
                r#"{"host": "c.example.com", "port": 5433, "user": "pilot", "database": "control",
                    "sslrootcert": "/rds.pem"}"#
                    .into(),
            ),
            ..env(ORDERS)
        };
        let config = Config::from_environment(&control).unwrap();
        let Source::Iam(login) = &config.control.source else {
            panic!("not IAM")
        };
        assert_eq!(login.label, "the control database");
        assert_eq!((login.host.as_str(), login.port), ("c.example.com", 5433));
        assert_eq!(config.control.tls.mode, SslMode::VerifyFull);
        assert_eq!(
            config.control.tls.root_cert.as_deref(),
            Some(std::path::Path::new("/rds.pem"))
        );
        let error = |json: &str, others: Environment| {
            Config::from_environment(&Environment {
                control_iam: Some(json.into()),
                ..others
            })
            .unwrap_err()
        };
        let no_url = Environment {
            control_url: None,
            ..env(ORDERS)
        };
        let message = error(r#"{"host": "h", "user": "u"}"#, no_url.clone()).to_string();
        assert!(
            message.starts_with("INDEX_PILOT_CONTROL_IAM has no database"),
            "{message}"
        );
        let message = error(r#"{"name": "c"}"#, no_url.clone()).to_string();
        assert!(message.contains("unknown field `name`"), "{message}");
        let message = error(
            r#"{"auth": "md5", "host": "h", "user": "u", "database": "d"}"#,
            no_url,
        )
        .to_string();
        assert!(message.contains("has auth \"md5\""), "{message}");
        let both = error(
            r#"{"host": "h", "user": "u", "database": "d"}"#,
            env(ORDERS),
        );
        assert_eq!(both, ConfigError::TwoControlDatabases);
        assert!(both.to_string().contains("INDEX_PILOT_CONTROL_IAM"));
    }
}
