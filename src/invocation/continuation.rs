//! Continuing a run in another invocation: Lambda invokes itself asynchronously
//! ([`crate::aws::LambdaReInvoker`]); outside Lambda the next hop runs in the same
//! process ([`InProcess`]).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;

use serde_json::Value;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("cannot invoke {function} for the next hop: {reason}")]
pub struct ReInvokeError {
    pub function: String,
    pub reason: String,
}

pub trait ReInvoker: Send + Sync {
    /// Hands `event` to a new invocation of `function_arn` and returns at once.
    fn reinvoke(
        &self,
        function_arn: &str,
        event: &Value,
    ) -> impl Future<Output = Result<(), ReInvokeError>> + Send;
}

/// Outside Lambda: the next hops wait here and the caller runs them in turn.
#[derive(Default)]
pub struct InProcess {
    queue: Mutex<VecDeque<Value>>,
}

impl InProcess {
    pub fn next_event(&self) -> Option<Value> {
        self.queue.lock().ok()?.pop_front()
    }
}

impl ReInvoker for InProcess {
    async fn reinvoke(&self, _function_arn: &str, event: &Value) -> Result<(), ReInvokeError> {
        self.queue
            .lock()
            .map_err(|_| ReInvokeError {
                function: "this process".to_owned(),
                reason: "the continuation queue is poisoned".to_owned(),
            })?
            .push_back(event.clone());
        Ok(())
    }
}
