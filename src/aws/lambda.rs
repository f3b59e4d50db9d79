//! The self-invocation that continues a run: asynchronous (`Event`), to the very
//! function version or alias this invocation was called as.

use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_lambda::Client;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::Sdk;
use crate::invocation::continuation::{ReInvokeError, ReInvoker};

pub struct LambdaReInvoker {
    sdk: Sdk,
    client: OnceCell<Client>,
}

impl LambdaReInvoker {
    pub fn new(sdk: Sdk) -> Self {
        LambdaReInvoker {
            sdk,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.sdk.client(&self.client, Client::new).await
    }
}

impl ReInvoker for LambdaReInvoker {
    async fn reinvoke(&self, function_arn: &str, event: &Value) -> Result<(), ReInvokeError> {
        let fail = |reason: String| ReInvokeError {
            function: function_arn.to_owned(),
            reason,
        };
        if function_arn.is_empty() {
            return Err(fail(
                "the invocation did not say which function it is".to_owned(),
            ));
        }
        let payload = serde_json::to_vec(event).map_err(|e| fail(e.to_string()))?;
        let output = self
            .client()
            .await
            .invoke()
            .function_name(function_arn)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
        match output.status_code() {
            202 => Ok(()),
            status => Err(fail(format!("Lambda answered {status}, not 202 Accepted"))),
        }
    }
}
