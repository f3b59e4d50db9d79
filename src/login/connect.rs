//! From a configured [`Endpoint`] to connection settings: a URL as it is, a secret
//! through the cache, fetched once more when the server refuses the login (the
//! password may have been rotated since it was cached), an IAM login with a token
//! made for this connection (never kept: it expires, and it is a password).

use std::future::Future;

use tokio_postgres::Config;

use crate::config::{Endpoint, IamLogin, Source};
use crate::login::iam::TokenSigner;
use crate::login::secrets::{SecretCache, SecretError};

/// An error that may mean "wrong credentials".
pub(crate) trait LoginRefusal {
    fn is_login_refusal(&self) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError<E> {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Open(E),
}

/// Where passwords come from: the secret cache, and the IAM token signer.
pub(crate) struct Logins<'a> {
    pub(crate) secrets: &'a SecretCache,
    pub(crate) signer: &'a dyn TokenSigner,
}

/// A token made now for one connection of an IAM login.
async fn iam_token(login: &IamLogin, signer: &dyn TokenSigner) -> Result<String, SecretError> {
    signer
        .token(login)
        .await
        .map_err(|reason| SecretError::IamToken {
            label: login.label.clone(),
            host: login.host.clone(),
            port: login.port,
            user: login.user.clone(),
            reason,
        })
}

/// The settings of one more connection like `opened` (settings that worked for this
/// endpoint): the same, except that an IAM login gets a token made now, for this
/// connection only (the one `opened` holds may have expired since).
pub(crate) async fn another_connection(
    endpoint: &Endpoint,
    opened: &Config,
    signer: &dyn TokenSigner,
) -> Result<Config, SecretError> {
    let mut config = opened.clone();
    if let Source::Iam(login) = &endpoint.source {
        config.password(iam_token(login, signer).await?);
    }
    Ok(config)
}

async fn settings(
    endpoint: &Endpoint,
    database: Option<&str>,
    logins: &Logins<'_>,
    refresh: bool,
) -> Result<Config, SecretError> {
    let secrets = logins.secrets;
    let mut config = match &endpoint.source {
        Source::Url(config) => (**config).clone(),
        Source::Secret(id) if refresh => secrets.refresh(id).await?.connection(),
        Source::Secret(id) => secrets.get(id).await?.connection(),
        Source::Iam(login) => {
            let mut config = login.connection();
            config.password(iam_token(login, logins.signer).await?);
            config
        }
    };
    if let Some(database) = database {
        config.dbname(database);
    }
    Ok(config)
}

/// Runs `open` with the endpoint's settings; when they come from a secret and the
/// login is refused, fetches the secret again and tries once more. Returns what
/// `open` made and the settings that worked.
pub(crate) async fn open_with_rotation<T, E, F, Fut>(
    endpoint: &Endpoint,
    database: Option<&str>,
    logins: &Logins<'_>,
    mut open: F,
) -> Result<(T, Config), OpenError<E>>
where
    E: LoginRefusal,
    F: FnMut(Config) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let config = settings(endpoint, database, logins, false).await?;
    match open(config.clone()).await {
        Ok(opened) => Ok((opened, config)),
        Err(error) if error.is_login_refusal() && matches!(endpoint.source, Source::Secret(_)) => {
            tracing::info!("login refused; fetching the secret again in case it was rotated");
            let config = settings(endpoint, database, logins, true).await?;
            match open(config.clone()).await {
                Ok(opened) => Ok((opened, config)),
                Err(error) => Err(OpenError::Open(error)),
            }
        }
        Err(error) => Err(OpenError::Open(error)),
    }
}
