//! A target's `free_storage`: the RDS or Aurora instance whose CloudWatch metric
//! tells the free storage a rebuild needs, e.g. `{"instance": "orders-db-1",
//! "metric": "FreeLocalStorage", "region": "eu-west-1"}`.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::hazard::{InstanceStorage, StorageMetric};

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object such as {\"instance\": \"orders-db-1\", \"metric\": \"FreeStorageSpace\"}"
)]
struct RawFreeStorage {
    instance: Option<String>,
    metric: Option<String>,
    region: Option<String>,
}

/// The entry's `free_storage`; an error completes "target "x" in
/// INDEX_PILOT_TARGETS …" and names the field.
pub(super) fn parse_free_storage(value: Value) -> Result<InstanceStorage, String> {
    let raw: RawFreeStorage = serde_json::from_value(value)
        .map_err(|e| format!("has a free_storage that is not valid: {e}"))?;
    let instance = match raw.instance {
        Some(instance) if !instance.trim().is_empty() => instance,
        Some(_) => return Err("has a free_storage with an empty instance".to_owned()),
        None => {
            return Err(
                "has a free_storage without instance (the DB instance identifier whose free storage is read)"
                    .to_owned(),
            )
        }
    };
    let metric = match raw.metric {
        None => StorageMetric::default(),
        Some(text) => text
            .parse()
            .map_err(|problem| format!("has a free_storage whose metric {problem}"))?,
    };
    if raw.region.as_ref().is_some_and(|r| r.trim().is_empty()) {
        return Err(
            "has a free_storage with an empty region (leave it out to use AWS_REGION)".to_owned(),
        );
    }
    Ok(InstanceStorage {
        instance,
        metric,
        region: raw.region,
    })
}
