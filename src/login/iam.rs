//! The port that makes RDS IAM tokens ([`TokenSigner`]), and a signer with fixed
//! credentials and a fixed clock for tests and tools. The AWS adapter, with the SDK's
//! credential chain and the real clock, is [`crate::aws::SdkSigner`].

use std::time::SystemTime;

use aws_credential_types::Credentials;
use futures::future::BoxFuture;

use crate::aws::iam_token::{auth_token, TokenRequest};
use crate::config::IamLogin;

/// Makes the token for one connection. Errors say what failed, never with which
/// credentials; the caller adds where the login was going.
pub trait TokenSigner: Send + Sync {
    fn token<'a>(&'a self, login: &'a IamLogin) -> BoxFuture<'a, Result<String, String>>;
}

/// Signs with the same credentials at the same instant every time.
pub struct StaticSigner {
    pub credentials: Credentials,
    pub time: SystemTime,
    /// For logins that name no region.
    pub region: String,
}

impl StaticSigner {
    pub fn sign(&self, login: &IamLogin) -> Result<String, String> {
        let request = TokenRequest {
            host: &login.host,
            port: login.port,
            user: &login.user,
            region: login.region.as_deref().unwrap_or(&self.region),
        };
        auth_token(&request, &self.credentials, self.time).map_err(|e| e.to_string())
    }
}

impl TokenSigner for StaticSigner {
    fn token<'a>(&'a self, login: &'a IamLogin) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move { self.sign(login) })
    }
}
