//! The function's configuration, read once from its environment: a missing or
//! malformed variable is an error (`ConfigError`), never a silent default.

use std::path::PathBuf;
use std::time::Duration;

use crate::domain::hazard::InstanceStorage;
use crate::domain::units::parse_duration;
use crate::pg::{SslMode, Tls};

mod free_storage;
mod iam;
mod targets;
#[cfg(test)]
mod tests;

pub use iam::IamLogin;
use iam::RawControlIam;
use targets::{parse_targets, password_free_url};

pub(crate) const CONTROL_URL_VAR: &str = "INDEX_PILOT_CONTROL_URL";
pub(crate) const CONTROL_SECRET_VAR: &str = "INDEX_PILOT_CONTROL_SECRET";
pub(crate) const CONTROL_IAM_VAR: &str = "INDEX_PILOT_CONTROL_IAM";
pub(crate) const TARGETS_VAR: &str = "INDEX_PILOT_TARGETS";
pub(crate) const BUDGET_VAR: &str = "INDEX_PILOT_BUDGET";
pub(crate) const SAFETY_MARGIN_VAR: &str = "INDEX_PILOT_SAFETY_MARGIN";
pub(crate) const MAX_HOPS_VAR: &str = "INDEX_PILOT_MAX_HOPS";
pub(crate) const SECRET_TTL_VAR: &str = "INDEX_PILOT_SECRET_TTL";
pub(crate) const SSLMODE_VAR: &str = "INDEX_PILOT_SSLMODE";
pub(crate) const SSL_ROOT_CERT_VAR: &str = "INDEX_PILOT_SSL_ROOT_CERT";
pub(crate) const SHARD_SIZE_VAR: &str = "INDEX_PILOT_SHARD_SIZE";
pub(crate) const MAX_CONCURRENT_REBUILDS_VAR: &str = "INDEX_PILOT_MAX_CONCURRENT_REBUILDS";
pub(crate) const PARALLEL_TARGETS_VAR: &str = "INDEX_PILOT_PARALLEL_TARGETS";
pub(crate) const PROGRESS_INTERVAL_VAR: &str = "INDEX_PILOT_PROGRESS_INTERVAL";

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("none of {CONTROL_URL_VAR}, {CONTROL_SECRET_VAR} and {CONTROL_IAM_VAR} is set: index-pilot needs a control database")]
    NoControlDatabase,
    #[error("more than one of {CONTROL_URL_VAR}, {CONTROL_SECRET_VAR} and {CONTROL_IAM_VAR} is set; give exactly one")]
    TwoControlDatabases,
    #[error("{CONTROL_URL_VAR} {0}")]
    ControlUrl(String),
    #[error("{CONTROL_IAM_VAR} {0}")]
    ControlIam(String),
    #[error("{TARGETS_VAR} is not set: it must be a JSON list of targets such as [{{\"name\": \"dev\", \"url\": \"postgresql://app@127.0.0.1:5432/dev\"}}]")]
    NoTargets,
    #[error("{TARGETS_VAR} is not valid JSON: {0}")]
    TargetsNotJson(String),
    #[error("{TARGETS_VAR} must be a JSON list of targets, not {0}")]
    TargetsNotAList(&'static str),
    #[error("{TARGETS_VAR} is an empty list: there is nothing to look after")]
    TargetsEmpty,
    #[error("{TARGETS_VAR} names target {0:?} twice: target names must be unique")]
    DuplicateTarget(String),
    #[error("{var}: {problem}")]
    BadValue { var: &'static str, problem: String },
}

/// Where a database's credentials come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A password-free URL (trust, peer, or a password file).
    Url(Box<tokio_postgres::Config>),
    /// A Secrets Manager secret in the RDS format.
    Secret(String),
    /// RDS IAM authentication: a token made for every connection.
    Iam(Box<IamLogin>),
}

/// How to reach a database server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub source: Source,
    pub tls: Tls,
}

/// A target that could be read from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct TargetSpec {
    pub(crate) endpoint: Endpoint,
    /// Databases to visit with the same credentials; empty means only the one named
    /// by the URL or the secret.
    pub(crate) databases: Vec<String>,
    /// Where its free storage is read (RDS, Aurora); `None`: disk is not checked.
    pub(crate) free_storage: Option<InstanceStorage>,
}

/// One entry of `INDEX_PILOT_TARGETS`: a bad entry is that target's error, and the
/// other targets carry on.
#[derive(Debug, Clone)]
pub struct TargetEntry {
    pub name: String,
    pub(crate) spec: Result<TargetSpec, String>,
}

/// Why an operator's order cannot tell which database of a target it means.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseChoiceError {
    #[error("the target lists several databases ({listed}): name one with \"database\"")]
    Ambiguous { listed: String },
    #[error("the target lists no database {wanted:?} (it lists {listed})")]
    NotListed { wanted: String, listed: String },
    #[error("the target has no \"databases\" list; leave \"database\" out to mean its own")]
    NoList,
}

impl TargetSpec {
    /// The databases to visit: `None` stands for the URL's or the secret's own.
    pub(crate) fn database_names(&self) -> Vec<Option<String>> {
        if self.databases.is_empty() {
            vec![None]
        } else {
            self.databases.iter().cloned().map(Some).collect()
        }
    }

    /// The one database an operator's order (mode `reindex`) reaches: a forced
    /// rebuild skips windows and size limits, so it never spreads over databases.
    pub(crate) fn database_of_order(
        &self,
        wanted: Option<&str>,
    ) -> Result<Option<String>, DatabaseChoiceError> {
        let listed = || self.databases.join(", ");
        match (wanted, self.databases.as_slice()) {
            (None, []) => Ok(None),
            (None, [only]) => Ok(Some(only.clone())),
            (None, _) => Err(DatabaseChoiceError::Ambiguous { listed: listed() }),
            (Some(_), []) => Err(DatabaseChoiceError::NoList),
            (Some(wanted), databases) if databases.iter().any(|d| d == wanted) => {
                Ok(Some(wanted.to_owned()))
            }
            (Some(wanted), _) => Err(DatabaseChoiceError::NotListed {
                wanted: wanted.to_owned(),
                listed: listed(),
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub control: Endpoint,
    pub targets: Vec<TargetEntry>,
    /// Time for work when the invocation's deadline is absent or absurd.
    pub fallback_budget: Duration,
    /// Kept free before the deadline: reporting, the hand-over to the next hop.
    pub safety_margin: Duration,
    /// Self-invocations a run may chain before it waits for the next schedule.
    pub(crate) max_hops: u32,
    /// How long a fetched secret is trusted before it is fetched again.
    pub(crate) secret_ttl: Duration,
    /// Above this many targets a scheduled run fans out: one invocation per shard.
    pub shard_size: usize,
    /// Rebuilds one invocation watches at once, over all its targets.
    pub max_concurrent_rebuilds: usize,
    /// Targets one invocation works on at the same time.
    pub(crate) parallel_targets: usize,
    /// How often a running rebuild's progress is logged.
    pub progress_interval: Duration,
}

/// The values of the environment variables (`None`: not set).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub control_url: Option<String>,
    pub control_secret: Option<String>,
    pub control_iam: Option<String>,
    pub targets: Option<String>,
    pub budget: Option<String>,
    pub safety_margin: Option<String>,
    pub max_hops: Option<String>,
    pub secret_ttl: Option<String>,
    pub sslmode: Option<String>,
    pub ssl_root_cert: Option<String>,
    pub shard_size: Option<String>,
    pub max_concurrent_rebuilds: Option<String>,
    pub parallel_targets: Option<String>,
    pub progress_interval: Option<String>,
}

impl Environment {
    pub(crate) fn from_process() -> Environment {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Environment {
            control_url: var(CONTROL_URL_VAR),
            control_secret: var(CONTROL_SECRET_VAR),
            control_iam: var(CONTROL_IAM_VAR),
            targets: var(TARGETS_VAR),
            budget: var(BUDGET_VAR),
            safety_margin: var(SAFETY_MARGIN_VAR),
            max_hops: var(MAX_HOPS_VAR),
            secret_ttl: var(SECRET_TTL_VAR),
            sslmode: var(SSLMODE_VAR),
            ssl_root_cert: var(SSL_ROOT_CERT_VAR),
            shard_size: var(SHARD_SIZE_VAR),
            max_concurrent_rebuilds: var(MAX_CONCURRENT_REBUILDS_VAR),
            parallel_targets: var(PARALLEL_TARGETS_VAR),
            progress_interval: var(PROGRESS_INTERVAL_VAR),
        }
    }
}

fn count_var(
    var: &'static str,
    value: Option<&str>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::BadValue {
            var,
            problem: format!(
                "{text:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}

fn duration_var(
    var: &'static str,
    value: Option<&str>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    value.map_or(Ok(default), |text| {
        parse_duration(text).map_err(|e| ConfigError::BadValue {
            var,
            problem: e.to_string(),
        })
    })
}

/// A budget of no time would start rebuilds it cannot watch: `0s` is refused as a
/// bare `0` is (a safety margin or a secret TTL of zero means something).
fn budget(value: Option<&str>) -> Result<Duration, ConfigError> {
    let budget = duration_var(BUDGET_VAR, value, Duration::from_secs(600))?;
    if budget.is_zero() {
        return Err(ConfigError::BadValue {
            var: BUDGET_VAR,
            problem: format!(
                "{:?} is no time at all: give a duration above zero, such as 10m",
                value.unwrap_or_default()
            ),
        });
    }
    Ok(budget)
}

/// At least the watch's own poll: lines cannot come more often than it looks.
fn progress_interval(value: Option<&str>) -> Result<Duration, ConfigError> {
    let interval = duration_var(PROGRESS_INTERVAL_VAR, value, Duration::from_secs(30))?;
    if interval < Duration::from_millis(100) {
        return Err(ConfigError::BadValue {
            var: PROGRESS_INTERVAL_VAR,
            problem: format!("{interval:?} is too short: give 100ms or more (e.g. 30s)"),
        });
    }
    Ok(interval)
}

impl Config {
    pub fn from_environment(env: &Environment) -> Result<Config, ConfigError> {
        let tls = default_tls(env)?;
        let control = control_endpoint(env, &tls)?;
        let targets = parse_targets(env.targets.as_deref().ok_or(ConfigError::NoTargets)?, &tls)?;
        let max_hops = count_var(MAX_HOPS_VAR, env.max_hops.as_deref(), 50, 0..=10_000)?;
        let shard_size = count_var(SHARD_SIZE_VAR, env.shard_size.as_deref(), 25, 1..=10_000)?;
        let max_concurrent_rebuilds = count_var(
            MAX_CONCURRENT_REBUILDS_VAR,
            env.max_concurrent_rebuilds.as_deref(),
            8,
            1..=256,
        )?;
        let parallel_targets = count_var(
            PARALLEL_TARGETS_VAR,
            env.parallel_targets.as_deref(),
            8,
            1..=256,
        )?;
        Ok(Config {
            control,
            targets,
            fallback_budget: budget(env.budget.as_deref())?,
            safety_margin: duration_var(
                SAFETY_MARGIN_VAR,
                env.safety_margin.as_deref(),
                Duration::from_secs(60),
            )?,
            max_hops,
            secret_ttl: duration_var(
                SECRET_TTL_VAR,
                env.secret_ttl.as_deref(),
                Duration::from_secs(300),
            )?,
            shard_size: shard_size as usize,
            max_concurrent_rebuilds: max_concurrent_rebuilds as usize,
            parallel_targets: parallel_targets as usize,
            progress_interval: progress_interval(env.progress_interval.as_deref())?,
        })
    }

    /// Shorthand for tests and tools: control URL or secret, and the targets' JSON.
    pub fn from_values(
        control_url: Option<&str>,
        control_secret: Option<&str>,
        targets: Option<&str>,
    ) -> Result<Config, ConfigError> {
        Config::from_environment(&Environment {
            control_url: control_url.map(str::to_owned),
            control_secret: control_secret.map(str::to_owned),
            targets: targets.map(str::to_owned),
            ..Environment::default()
        })
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_environment(&Environment::from_process())
    }
}

/// The TLS every endpoint starts from: IAM endpoints do not take it (see `iam_tls`);
/// the others default to prefer.
fn default_tls(env: &Environment) -> Result<Tls, ConfigError> {
    let env_mode: Option<SslMode> = env
        .sslmode
        .as_deref()
        .map(|text| {
            text.parse().map_err(|problem| ConfigError::BadValue {
                var: SSLMODE_VAR,
                problem,
            })
        })
        .transpose()?;
    Ok(Tls {
        mode: env_mode.unwrap_or(SslMode::Prefer),
        root_cert: env.ssl_root_cert.as_ref().map(PathBuf::from),
    })
}

/// The control database, named exactly once: by URL, by secret or by IAM login.
fn control_endpoint(env: &Environment, tls: &Tls) -> Result<Endpoint, ConfigError> {
    match (
        env.control_url.as_deref(),
        env.control_secret.as_deref(),
        env.control_iam.as_deref(),
    ) {
        (Some(url), None, None) => Ok(Endpoint {
            source: Source::Url(Box::new(
                password_free_url(url).map_err(ConfigError::ControlUrl)?,
            )),
            tls: tls.clone(),
        }),
        (None, Some(secret), None) => Ok(Endpoint {
            source: Source::Secret(secret.to_owned()),
            tls: tls.clone(),
        }),
        (None, None, Some(json)) => {
            let (login, tls) = RawControlIam::parse(json, tls).map_err(ConfigError::ControlIam)?;
            Ok(Endpoint {
                source: Source::Iam(Box::new(login)),
                tls,
            })
        }
        (None, None, None) => Err(ConfigError::NoControlDatabase),
        _ => Err(ConfigError::TwoControlDatabases),
    }
}
