//! AWS adapters: Secrets Manager as a [`crate::login::secrets::SecretSource`], Lambda
//! as a [`crate::invocation::continuation::ReInvoker`] and CloudWatch as a
//! [`crate::engine::free_storage::FreeStorageSource`]. Each loads the SDK configuration on
//! first use, so an invocation that needs none never looks for AWS credentials or a
//! region (which, outside AWS, would mean probing the instance metadata service).

mod cloudwatch;
pub mod iam_token;
mod lambda;
mod secrets;
mod signer;

use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

pub use cloudwatch::CloudWatch;
pub use lambda::LambdaReInvoker;
pub use secrets::SecretsManager;
pub use signer::SdkSigner;

/// The SDK configuration, loaded from the environment when first asked for.
#[derive(Clone, Default)]
pub struct Sdk {
    config: Arc<OnceCell<SdkConfig>>,
}

impl Sdk {
    /// Loads the standard chain (environment, profile, container or instance role)
    /// on first use.
    pub fn from_environment() -> Sdk {
        Sdk::default()
    }

    /// A configuration made by the caller (tests point it at a local endpoint).
    pub fn from_config(config: SdkConfig) -> Sdk {
        Sdk {
            config: Arc::new(OnceCell::new_with(Some(config))),
        }
    }

    pub(crate) async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| aws_config::load_defaults(aws_config::BehaviorVersion::latest()))
            .await
    }

    /// A service client kept in `cell`, made from the configuration on first use.
    async fn client<'c, C>(
        &self,
        cell: &'c OnceCell<C>,
        make: impl FnOnce(&SdkConfig) -> C,
    ) -> &'c C {
        cell.get_or_init(|| async { make(self.config().await) })
            .await
    }
}
