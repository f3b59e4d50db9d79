//! Opening PostgreSQL connections (with TLS as configured); their errors, typed.

mod answered;
mod error;
mod notices;
mod tls;

pub(crate) use answered::Answered;
pub(crate) use error::{column, PgError};
pub(crate) use notices::{Notices, ServerMessage};

use tls::SharedTls;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_postgres::config::SslMode as WireSslMode;
use tokio_postgres::{CancelToken, Client, Config, Connection, NoTls};

/// `application_name` of every connection, so DBAs see who is working.
pub(crate) const APPLICATION_NAME: &str = "index-pilot";

/// libpq's sslmode values that index-pilot supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, without verifying the server.
    Prefer,
    /// TLS always, without verifying the server.
    Require,
    /// TLS always; the server's certificate must chain to the CA bundle.
    VerifyCa,
    /// As verify-ca, and the certificate must name the host connected to.
    VerifyFull,
}

impl std::str::FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
            format!("{text:?} is not an sslmode (disable, prefer, require, verify-ca, verify-full)")
        })
    }
}

/// How to secure a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tls {
    pub(crate) mode: SslMode,
    /// PEM bundle of trusted CAs (e.g. the RDS global bundle); system roots otherwise.
    pub(crate) root_cert: Option<PathBuf>,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            mode: SslMode::Prefer,
            root_cert: None,
        }
    }
}

/// Where a connection went, for its errors: host, port, database and user, never
/// the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub host: String,
    pub port: u16,
    pub(crate) database: String,
    pub(crate) user: String,
}

impl Place {
    /// As the connection would resolve them (libpq's defaults where unset).
    pub(crate) fn of(config: &Config) -> Place {
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let user = config.get_user().unwrap_or_default().to_owned();
        Place {
            host,
            port: config.get_ports().first().copied().unwrap_or(5432),
            database: config
                .get_dbname()
                .map_or_else(|| user.clone(), str::to_owned),
            user,
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}, database {}, user {}",
            self.host, self.port, self.database, self.user
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("at {place}: {error}")]
    Postgres { place: Place, error: PgError },
    /// The server refused the credentials: a rotated password, perhaps.
    #[error("at {place}: {error}")]
    LoginRefused { place: Place, error: PgError },
    #[error("(TLS setup failed: {0})")]
    Tls(String),
}

impl ConnectError {
    /// The server's SQLSTATE, when it answered at all.
    pub(crate) fn sqlstate(&self) -> Option<&str> {
        match self {
            ConnectError::Postgres { error, .. } | ConnectError::LoginRefused { error, .. } => {
                error.sqlstate()
            }
            ConnectError::Tls(_) => None,
        }
    }
}

/// SQLSTATE class 28: invalid authorization (wrong password, unknown role, no
/// pg_hba.conf entry).
fn is_login_refusal(error: &PgError) -> bool {
    error.sqlstate().is_some_and(|code| code.starts_with("28"))
}

/// Opens a connection and drives it on the runtime. The connection task ends when
/// the client is dropped.
pub(crate) async fn connect(config: &Config, tls: &Tls) -> Result<Client, ConnectError> {
    open(config, tls, None).await
}

/// As [`connect`], keeping what the server says on the side (NOTICE, WARNING) in
/// `notices` instead of a log line that names nothing.
pub(crate) async fn connect_keeping_notices(
    config: &Config,
    tls: &Tls,
    notices: &Notices,
) -> Result<Client, ConnectError> {
    open(config, tls, Some(notices.clone())).await
}

async fn open(
    config: &Config,
    tls: &Tls,
    notices: Option<Notices>,
) -> Result<Client, ConnectError> {
    let mut config = config.clone();
    config.application_name(APPLICATION_NAME);
    crate::login::pgpass::apply(&mut config);
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    keep_alive(&mut config);
    let place = Place::of(&config);
    let failed = |error: tokio_postgres::Error| {
        let error = PgError::from(error);
        let place = place.clone();
        if is_login_refusal(&error) {
            ConnectError::LoginRefused { place, error }
        } else {
            ConnectError::Postgres { place, error }
        }
    };
    let client = if tls.mode == SslMode::Disable {
        config.ssl_mode(WireSslMode::Disable);
        let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
        spawn_driver(connection, notices);
        client
    } else {
        config.ssl_mode(match tls.mode {
            SslMode::Prefer => WireSslMode::Prefer,
            _ => WireSslMode::Require,
        });
        let (client, connection) = config.connect(SharedTls::new(tls)?).await.map_err(failed)?;
        spawn_driver(connection, notices);
        client
    };
    Ok(client)
}

fn spawn_driver<S, T>(connection: Connection<S, T>, notices: Option<Notices>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match notices {
        None => tokio::spawn(drive(connection)),
        Some(notices) => tokio::spawn(drive(notices::keeping(connection, notices))),
    };
}

/// A peer that vanished (a failover, a host gone, a network cut) is noticed within
/// about a minute instead of the system's two hours: TCP keepalives on an idle
/// connection (a rebuild's connection is idle for hours while the server builds), and
/// a bound on data sent and never acknowledged. A URL's own keepalive settings stay.
fn keep_alive(config: &mut Config) {
    use std::time::Duration;
    // tokio-postgres' defaults: on, after two hours of silence.
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(60));
    }
}

/// How many connections are open in this process.
fn open_connections() -> &'static watch::Sender<usize> {
    static OPEN: OnceLock<watch::Sender<usize>> = OnceLock::new();
    OPEN.get_or_init(|| watch::channel(0).0)
}

async fn drive<C: std::future::Future<Output = Result<(), tokio_postgres::Error>>>(connection: C) {
    open_connections().send_modify(|open| *open += 1);
    if let Err(error) = connection.await {
        tracing::debug!(error = %PgError::from(error), "connection closed with an error");
    }
    open_connections().send_modify(|open| *open = open.saturating_sub(1));
}

/// Waits, at most `patience`, until every connection whose client was dropped has
/// said goodbye to its server. A process about to exit calls it: a connection cut
/// without the protocol's Terminate message makes the server log "could not receive
/// data from client: Connection reset by peer".
pub async fn all_closed(patience: std::time::Duration) {
    let mut open = open_connections().subscribe();
    let _ = tokio::time::timeout(patience, open.wait_for(|open| *open == 0)).await;
}

/// Runs `sql` (simple protocol) and returns only once the server is done with it,
/// also when it fails. The server sends an error before it rolls the statement back
/// (releases its locks, clears its `pg_stat_progress_*` row), and tokio-postgres
/// returns at the error; a check made on another connection right then may still see
/// the failed statement at work. A second round trip on this connection is answered
/// only after the rollback.
pub async fn execute_to_the_end(client: &Client, sql: &str) -> Result<(), PgError> {
    let result = client.batch_execute(sql).await;
    if result.is_err() && !client.is_closed() {
        // An empty query: answered as soon as the server is idle again. Should this
        // fail, the connection is broken and the statement's error is the one to tell.
        let _idle = client.batch_execute("").await;
    }
    result.map_err(PgError::from)
}

/// Asks the server to cancel what the connection behind `token` runs now.
pub(crate) async fn cancel(token: &CancelToken, tls: &Tls) -> Result<(), PgError> {
    let sent = if tls.mode == SslMode::Disable {
        token.cancel_query(NoTls).await
    } else {
        let connector = SharedTls::new(tls).map_err(|e| PgError::Connection(e.to_string()))?;
        token.cancel_query(connector).await
    };
    sent.map_err(PgError::from)
}
