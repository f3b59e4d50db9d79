//! TLS for PostgreSQL connections, set up once per process and only when needed.
//!
//! Building a native-tls connector loads the trusted roots: tens of milliseconds of
//! CPU, which an invocation used to spend on every connection (three per rebuild).
//! Here a connector is built once per TLS configuration and shared; with `prefer`
//! and no CA bundle it is built only when a server actually accepts TLS, so a fleet
//! without TLS never pays for it.

use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};

use native_tls::{Certificate, TlsConnector};
use postgres_native_tls::TlsStream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

use super::{ConnectError, SslMode, Tls};

type BoxError = Box<dyn Error + Send + Sync>;

/// Connectors already built, by configuration. A `TlsConnector` is a handle on a
/// shared context: cloning it is cheap.
fn built() -> &'static Mutex<HashMap<Tls, TlsConnector>> {
    static BUILT: OnceLock<Mutex<HashMap<Tls, TlsConnector>>> = OnceLock::new();
    BUILT.get_or_init(Mutex::default)
}

/// The connector for `tls`, built on first use.
fn shared_connector(tls: &Tls) -> Result<TlsConnector, ConnectError> {
    let cached = built()
        .lock()
        .map(|map| map.get(tls).cloned())
        .unwrap_or_default();
    if let Some(connector) = cached {
        return Ok(connector);
    }
    // Built outside the lock: two connections racing both build one, harmlessly.
    let connector = build_connector(tls)?;
    if let Ok(mut map) = built().lock() {
        map.insert(tls.clone(), connector.clone());
    }
    Ok(connector)
}

fn build_connector(tls: &Tls) -> Result<TlsConnector, ConnectError> {
    let mut builder = TlsConnector::builder();
    if let Some(path) = &tls.root_cert {
        let pem = std::fs::read(path).map_err(|e| {
            ConnectError::Tls(format!("cannot read the CA bundle {}: {e}", path.display()))
        })?;
        // A bundle holds many certificates; native-tls reads one PEM block at a time.
        let text = String::from_utf8_lossy(&pem);
        let mut added = 0;
        for block in text.split_inclusive("-----END CERTIFICATE-----") {
            if let Some(start) = block.find("-----BEGIN CERTIFICATE-----") {
                let cert = Certificate::from_pem(&block.as_bytes()[start..]).map_err(|e| {
                    ConnectError::Tls(format!("bad certificate in {}: {e}", path.display()))
                })?;
                builder.add_root_certificate(cert);
                added += 1;
            }
        }
        if added == 0 {
            return Err(ConnectError::Tls(format!(
                "no certificate in {}",
                path.display()
            )));
        }
        builder.disable_built_in_roots(true);
    }
    match tls.mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => {
            builder.danger_accept_invalid_certs(true);
            builder.danger_accept_invalid_hostnames(true);
        }
        SslMode::VerifyCa => {
            builder.danger_accept_invalid_hostnames(true);
        }
        SslMode::VerifyFull => {}
    }
    builder
        .build()
        .map_err(|e| ConnectError::Tls(e.to_string()))
}

/// What tokio-postgres asks for a TLS connection: the connector comes from the
/// shared ones when the server has said yes to TLS.
#[derive(Debug, Clone)]
pub(crate) struct SharedTls(Tls);

impl SharedTls {
    /// A configuration that will need its connector for certain (TLS required), or
    /// that names a CA bundle, is built now, so a bad bundle is told before any
    /// connection is tried; `prefer` without a bundle waits for a server that
    /// accepts TLS.
    pub(crate) fn new(tls: &Tls) -> Result<SharedTls, ConnectError> {
        if tls.mode != SslMode::Prefer || tls.root_cert.is_some() {
            shared_connector(tls)?;
        }
        Ok(SharedTls(tls.clone()))
    }
}

impl<S> MakeTlsConnect<S> for SharedTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type TlsConnect = SharedTlsConnect;
    type Error = BoxError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<SharedTlsConnect, BoxError> {
        Ok(SharedTlsConnect {
            tls: self.0.clone(),
            domain: domain.to_owned(),
        })
    }
}

/// One connection's TLS handshake, to `domain`.
pub(crate) struct SharedTlsConnect {
    tls: Tls,
    domain: String,
}

impl<S> TlsConnect<S> for SharedTlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsStream<S>, BoxError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let connector = shared_connector(&self.tls)?;
            let handshake = postgres_native_tls::TlsConnector::new(connector, &self.domain);
            Ok(handshake.connect(stream).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_without_a_bundle_builds_nothing_until_a_server_accepts_tls() {
        let tls = Tls {
            mode: SslMode::Prefer,
            root_cert: None,
        };
        built().lock().unwrap().remove(&tls);
        SharedTls::new(&tls).unwrap();
        assert!(!built().lock().unwrap().contains_key(&tls));
    }

    #[test]
    fn a_required_connector_is_built_once_and_shared() {
        let tls = Tls {
            mode: SslMode::Require,
            root_cert: None,
        };
        SharedTls::new(&tls).unwrap();
        assert!(built().lock().unwrap().contains_key(&tls));
    }

    #[test]
    fn a_missing_bundle_is_told_before_connecting() {
        let tls = Tls {
            mode: SslMode::Prefer,
            root_cert: Some("/nonexistent/ca.pem".into()),
        };
        let error = SharedTls::new(&tls).unwrap_err().to_string();
        assert!(
            error.contains("cannot read the CA bundle /nonexistent/ca.pem"),
            "{error}"
        );
    }
}
