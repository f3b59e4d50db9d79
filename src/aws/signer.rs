//! [`TokenSigner`] with the SDK's credential chain (the Lambda role's keys) and the
//! SDK's clock (the real one unless the configuration sets another): a token per
//! call, never kept.

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use futures::future::BoxFuture;

use super::iam_token::{auth_token, TokenRequest};
use super::Sdk;
use crate::config::IamLogin;
use crate::login::iam::TokenSigner;

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
        let now = config
            .time_source()
            .map_or_else(SystemTime::now, |clock| clock.now());
        auth_token(&request, &credentials, now).map_err(|e| e.to_string())
    }
}

impl TokenSigner for SdkSigner {
    fn token<'a>(&'a self, login: &'a IamLogin) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(self.sign(login))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;
    use aws_smithy_async::time::StaticTimeSource;

    use super::*;
    use crate::login::iam::StaticSigner;

    const AT: Duration = Duration::from_secs(1_796_292_000);

    fn credentials() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
    }

    fn sdk(region: Option<&str>, with_credentials: bool) -> Sdk {
        let mut config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .time_source(StaticTimeSource::new(SystemTime::UNIX_EPOCH + AT));
        if let Some(region) = region {
            config = config.region(Region::new(region.to_owned()));
        }
        if with_credentials {
            config = config.credentials_provider(SharedCredentialsProvider::new(credentials()));
        }
        Sdk::from_config(config.build())
    }

    fn login(region: Option<&str>) -> IamLogin {
        IamLogin {
            label: "target \"orders\"".to_owned(),
            host: "orders.abc.eu-west-1.rds.amazonaws.com".to_owned(),
            port: 5432,
            user: "pilot".to_owned(),
            database: "orders".to_owned(),
            region: region.map(str::to_owned),
        }
    }

    fn expected(region: &str) -> String {
        let fixed = StaticSigner {
            credentials: credentials(),
            time: SystemTime::UNIX_EPOCH + AT,
            region: region.to_owned(),
        };
        fixed.sign(&login(None)).expect("a token")
    }

    #[tokio::test]
    async fn signs_with_the_sdk_credentials_clock_and_region() {
        let signer = SdkSigner::new(sdk(Some("eu-west-1"), true));
        assert_eq!(signer.token(&login(None)).await, Ok(expected("eu-west-1")));
    }

    #[tokio::test]
    async fn the_login_region_goes_before_the_sdk_region() {
        let signer = SdkSigner::new(sdk(Some("eu-west-1"), true));
        let token = signer.token(&login(Some("us-east-2"))).await;
        assert_eq!(token, Ok(expected("us-east-2")));
    }

    #[tokio::test]
    async fn no_region_or_no_credentials_say_so() {
        let no_region = SdkSigner::new(sdk(None, true)).token(&login(None)).await;
        assert_eq!(
            no_region,
            Err("no AWS region: give \"region\" or set AWS_REGION".to_owned())
        );
        let no_keys = SdkSigner::new(sdk(Some("eu-west-1"), false))
            .token(&login(None))
            .await;
        assert_eq!(
            no_keys,
            Err("the AWS configuration has no credentials provider".to_owned())
        );
    }
}
