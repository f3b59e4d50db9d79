//! Which targets an invocation works on. A scheduled run over more targets than a
//! shard holds fans out: one asynchronous invocation per shard, each its own chain
//! of hops. Every hop of a chain is claimed in the control database, so a duplicate
//! delivery does nothing; the targets themselves are leased one by one later.

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::control::{ControlError, ControlStore};
use crate::domain::fleet::shards;
use crate::invocation::continuation::ReInvoker;
use crate::invocation::event::Request;

/// What this invocation does.
pub(crate) enum Assignment {
    /// Work on these targets, as hop `hop` of the chain `shard` of the run.
    Work {
        run_id: Uuid,
        shard: u32,
        hop: u32,
        targets: Vec<String>,
    },
    /// Hand the run's targets to one invocation per shard.
    FanOut {
        run_id: Uuid,
        shards: Vec<Vec<String>>,
    },
    /// Nothing: a duplicate delivery of a hop already taken.
    Duplicate { run_id: Uuid, shard: u32, hop: u32 },
}

/// One shard handed to an invocation of its own, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ShardDispatch {
    pub shard: u32,
    pub targets: usize,
    pub(crate) first: String,
    pub(crate) last: String,
    /// Set when the invocation could not be made: the next schedule takes these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `selected`: the configured targets the event asks for, in configured order.
/// `run_id`: the event's, or the one this invocation made up for a new run.
pub(crate) async fn assign(
    control: &ControlStore,
    request: &Request,
    run_id: Uuid,
    selected: Vec<String>,
    shard_size: usize,
) -> Result<Assignment, ControlError> {
    if !request.mode.is_scheduled_run() {
        return Ok(Assignment::Work {
            run_id,
            shard: 0,
            hop: 0,
            targets: selected,
        });
    }
    let (shard, hop) = match request.run_id {
        Some(_) => (request.shard, request.hop),
        None => {
            let split = shards(&selected, shard_size);
            control
                .start_run(run_id, selected.len(), split.len())
                .await?;
            if split.len() > 1 {
                return Ok(Assignment::FanOut {
                    run_id,
                    shards: split,
                });
            }
            (0, 0)
        }
    };
    if !control.claim_hop(run_id, shard, hop).await? {
        return Ok(Assignment::Duplicate { run_id, shard, hop });
    }
    Ok(Assignment::Work {
        run_id,
        shard,
        hop,
        targets: selected,
    })
}

/// The event that starts or continues a chain.
pub(crate) fn chain_event(run_id: Uuid, shard: u32, hop: u32, targets: &[String]) -> Value {
    json!({"mode": "run", "run_id": run_id, "shard": shard, "hop": hop, "targets": targets})
}

/// Invokes the function once per shard; a shard whose invocation fails is reported
/// and left to the next schedule, the others go on.
pub(crate) async fn fan_out(
    reinvoker: &impl ReInvoker,
    function_arn: &str,
    run_id: Uuid,
    split: &[Vec<String>],
) -> Vec<ShardDispatch> {
    let mut dispatched = Vec::with_capacity(split.len());
    for (shard, targets) in (0u32..).zip(split) {
        let event = chain_event(run_id, shard, 0, targets);
        let error = reinvoker
            .reinvoke(function_arn, &event)
            .await
            .err()
            .map(|e| format!("{e}; the next schedule takes these targets"));
        if let Some(error) = &error {
            tracing::warn!(%run_id, shard, error = %error, "shard not dispatched");
        }
        dispatched.push(ShardDispatch {
            shard,
            targets: targets.len(),
            first: targets.first().cloned().unwrap_or_default(),
            last: targets.last().cloned().unwrap_or_default(),
            error,
        });
    }
    dispatched
}
