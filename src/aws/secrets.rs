//! Secrets Manager through the AWS SDK.

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_secretsmanager::Client;
use tokio::sync::OnceCell;

use super::Sdk;
use futures::future::BoxFuture;

use crate::login::secrets::{SecretError, SecretSource};

pub struct SecretsManager {
    sdk: Sdk,
    client: OnceCell<Client>,
}

impl SecretsManager {
    pub fn new(sdk: Sdk) -> Self {
        SecretsManager {
            sdk,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.sdk.client(&self.client, Client::new).await
    }
}

impl SecretSource for SecretsManager {
    fn fetch<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(self.secret_string(secret_id))
    }
}

impl SecretsManager {
    async fn secret_string(&self, secret_id: &str) -> Result<String, SecretError> {
        let output = self
            .client()
            .await
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|error| {
                let id = secret_id.to_owned();
                if error.code() == Some("ResourceNotFoundException") {
                    SecretError::NotFound { id }
                } else {
                    SecretError::Unavailable {
                        id,
                        reason: DisplayErrorContext(&error).to_string(),
                    }
                }
            })?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| SecretError::NotText {
                id: secret_id.to_owned(),
            })
    }
}
