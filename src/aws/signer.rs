//! [`TokenSigner`] with the SDK's credential chain (the Lambda role's keys) and the
//! real clock: a token per call, never kept.

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use futures::future::BoxFuture;

use super::iam_token::{auth_token, TokenRequest};
use super::Sdk;
use crate::config::IamLogin;
use crate::iam_auth::TokenSigner;

pub struct SdkSigner {
    sdk: Sdk,
}

impl SdkSigner {
    pub fn new(sdk: Sdk) -> Self {
        SdkSigner { sdk }
    }

    async fn sign(&self, login: &IamLogin) -> Result<String, String> {
        let config = self.sdk.config().await;
        let region = match (&login.region, config.region()) {
            (Some(region), _) => region.clone(),
            (None, Some(region)) => region.as_ref().to_owned(),
            (None, None) => {
                return Err("no AWS region: give \"region\" or set AWS_REGION".to_owned())
            }
        };
        let provider = config
            .credentials_provider()
            .ok_or("the AWS configuration has no credentials provider")?;
        // The provider caches and refreshes the role's keys; the token is new each time.
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials: {e}"))?;
        let request = TokenRequest {
            host: &login.host,
            port: login.port,
            user: &login.user,
            region: &region,
        };
        auth_token(&request, &credentials, SystemTime::now()).map_err(|e| e.to_string())
    }
}

impl TokenSigner for SdkSigner {
    fn token<'a>(&'a self, login: &'a IamLogin) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(self.sign(login))
    }
}
