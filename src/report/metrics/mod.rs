//! The report as CloudWatch Embedded Metric Format documents: one for the
//! invocation, one per target. Pure (no I/O): the handler prints the lines.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{Deferred, Report, Status, TargetReport};
use crate::domain::deferral::DeferralKind;
use crate::domain::target_error::TargetErrorClass;

/// Environment variable naming the CloudWatch namespace.
pub(crate) const NAMESPACE_VAR: &str = "INDEX_PILOT_METRICS_NAMESPACE";
pub(crate) const DEFAULT_NAMESPACE: &str = "IndexPilot";

/// Every metric a document may carry, with its unit: the names the README,
/// the alarms and the dashboard use.
pub(crate) const METRICS: &[(&str, &str)] = &[
    ("IndexesScanned", "Count"),
    ("Candidates", "Count"),
    ("Rebuilt", "Count"),
    ("Failed", "Count"),
    ("Deferred", "Count"),
    ("Quarantined", "Count"),
    ("UnknownBloat", "Count"),
    ("BytesReclaimed", "Bytes"),
    ("LargestEstimatedBloat", "None"),
    ("RebuildSeconds", "Seconds"),
    ("BlockedSeconds", "Seconds"),
    ("TargetErrors", "Count"),
    ("Hop", "Count"),
];

/// Dimension sets: the invocation document, the target document (the documents
/// spell them out; the tests hold them to these).
#[cfg(test)]
pub(crate) const INVOCATION_DIMENSIONS: &[&str] = &["Mode"];
#[cfg(test)]
pub(crate) const TARGET_DIMENSIONS: &[&str] = &["Target", "Database"];
/// Added to either set in the documents that count `Deferred` by kind.
pub(crate) const REASON_DIMENSION: &str = "Reason";
/// Added to either set in the documents that count `TargetErrors` by class.
pub(crate) const ERROR_CLASS_DIMENSION: &str = "ErrorClass";

fn unit(name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("None", |(_, u)| u)
}

fn document(
    namespace: &str,
    timestamp_ms: u64,
    dimensions: &[(&str, String)],
    values: &[(&str, f64)],
) -> Value {
    let mut doc = Map::new();
    let dimension_names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
    let metrics: Vec<Value> = values
        .iter()
        .map(|(n, _)| json!({"Name": n, "Unit": unit(n)}))
        .collect();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimension_names],
                "Metrics": metrics,
            }],
        }),
    );
    for (name, value) in dimensions {
        doc.insert((*name).into(), Value::String(value.clone()));
    }
    for (name, value) in values {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc)
}

fn target_values(t: &TargetReport) -> Vec<(&'static str, f64)> {
    let reclaimed: u64 = t
        .reindexed
        .iter()
        .map(|r| r.size_before.saturating_sub(r.size_after))
        .sum();
    let rebuild_ms: u64 = t.reindexed.iter().map(|r| r.duration_ms).sum();
    // Our rebuilds' time waiting for other sessions, however they ended.
    let blocked_ms: u64 = t
        .reindexed
        .iter()
        .map(|r| r.blocked_ms)
        .chain(t.failed.iter().map(|f| f.blocked_ms))
        .chain(t.in_progress.iter().map(|p| p.blocked_ms))
        .sum();
    let largest = t
        .plan
        .iter()
        .filter_map(|p| p.estimated_bloat)
        .chain(t.left_alone.iter().filter_map(|e| e.estimated_bloat))
        .fold(0.0_f64, f64::max);
    vec![
        ("IndexesScanned", t.scanned as f64),
        ("Candidates", t.candidates as f64),
        ("Rebuilt", t.reindexed.len() as f64),
        ("Failed", t.failed.len() as f64),
        ("Deferred", t.deferred.len() as f64),
        ("Quarantined", t.quarantined.len() as f64),
        // Baselines no estimate backs: a count that should fall to 0 as they are
        // rebuilt or accepted.
        ("UnknownBloat", t.unknown_bloat.len() as f64),
        ("BytesReclaimed", reclaimed as f64),
        ("LargestEstimatedBloat", largest),
        ("RebuildSeconds", rebuild_ms as f64 / 1000.0),
        ("BlockedSeconds", blocked_ms as f64 / 1000.0),
        (
            "TargetErrors",
            if t.status == Status::Error { 1.0 } else { 0.0 },
        ),
    ]
}

/// One document per class present, each counting `TargetErrors` of that class.
fn error_documents(
    namespace: &str,
    timestamp_ms: u64,
    dimensions: &[(&str, String)],
    counts: &BTreeMap<TargetErrorClass, usize>,
) -> Vec<Value> {
    counts
        .iter()
        .map(|(class, count)| {
            let mut dims = dimensions.to_vec();
            dims.push((ERROR_CLASS_DIMENSION, class.as_str().to_owned()));
            document(
                namespace,
                timestamp_ms,
                &dims,
                &[("TargetErrors", *count as f64)],
            )
        })
        .collect()
}

fn deferred_by_kind(deferred: &[Deferred]) -> BTreeMap<DeferralKind, usize> {
    let mut counts = BTreeMap::new();
    for d in deferred {
        *counts.entry(d.kind).or_insert(0) += 1;
    }
    counts
}

/// One document per kind present: a document holds one value per metric name.
fn deferred_documents(
    namespace: &str,
    timestamp_ms: u64,
    dimensions: &[(&str, String)],
    counts: &BTreeMap<DeferralKind, usize>,
) -> Vec<Value> {
    counts
        .iter()
        .map(|(kind, count)| {
            let mut dims = dimensions.to_vec();
            dims.push((REASON_DIMENSION, kind.as_str().to_owned()));
            document(
                namespace,
                timestamp_ms,
                &dims,
                &[("Deferred", *count as f64)],
            )
        })
        .collect()
}

/// The EMF documents for one finished invocation: the invocation's (dimension
/// `Mode`), then per target its own (`Target`, `Database`) followed by its
/// deferrals by kind (`Target`, `Database`, `Reason`) and its error by class
/// (`Target`, `Database`, `ErrorClass`), last the invocation's deferrals by kind
/// (`Mode`, `Reason`) and target errors by class (`Mode`, `ErrorClass`).
pub fn emf_documents(report: &Report, namespace: &str, timestamp_ms: u64) -> Vec<Value> {
    let mode = report.mode.as_str().to_owned();
    let mut totals: Vec<(&'static str, f64)> = Vec::new();
    let mut docs = Vec::new();
    let mut deferred: BTreeMap<DeferralKind, usize> = BTreeMap::new();
    let mut errors: BTreeMap<TargetErrorClass, usize> = BTreeMap::new();
    for t in &report.targets {
        let values = target_values(t);
        for (name, value) in &values {
            match totals.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) if *name == "LargestEstimatedBloat" => *total = total.max(*value),
                Some((_, total)) => *total += value,
                None => totals.push((name, *value)),
            }
        }
        let database = t.database.clone().unwrap_or_else(|| t.name.clone());
        let dimensions = [("Target", t.name.clone()), ("Database", database)];
        docs.push(document(namespace, timestamp_ms, &dimensions, &values));
        let by_kind = deferred_by_kind(&t.deferred);
        for (kind, count) in &by_kind {
            *deferred.entry(*kind).or_insert(0) += count;
        }
        docs.extend(deferred_documents(
            namespace,
            timestamp_ms,
            &dimensions,
            &by_kind,
        ));
        if let (Status::Error, Some(class)) = (t.status, t.error_class) {
            *errors.entry(class).or_insert(0) += 1;
            let one = BTreeMap::from([(class, 1)]);
            docs.extend(error_documents(namespace, timestamp_ms, &dimensions, &one));
        }
    }
    totals.push(("Hop", f64::from(report.hop)));
    let invocation = [("Mode", mode)];
    docs.insert(0, document(namespace, timestamp_ms, &invocation, &totals));
    docs.extend(deferred_documents(
        namespace,
        timestamp_ms,
        &invocation,
        &deferred,
    ));
    docs.extend(error_documents(
        namespace,
        timestamp_ms,
        &invocation,
        &errors,
    ));
    docs
}

/// The namespace from the environment, or the default.
pub(crate) fn namespace_from_env() -> String {
    std::env::var(NAMESPACE_VAR)
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// The metrics of the whole report, and the report bounded for the response: every
/// entry is counted before the lists are cut short.
pub(crate) fn measure_then_bound(
    report: Report,
    namespace: &str,
    timestamp_ms: u64,
) -> (Vec<Value>, Report) {
    let docs = emf_documents(&report, namespace, timestamp_ms);
    (docs, report.bounded())
}

/// Whether the documents go out: under the Lambda runtime (CloudWatch extracts them
/// from the log group) or when asked for, so that the local `invoke` keeps stdout
/// for the report.
pub(crate) fn enabled() -> bool {
    std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
        || std::env::var("INDEX_PILOT_METRICS").is_ok_and(|v| v == "emf")
}

/// Prints the documents on stdout, one line each.
pub(crate) fn print(docs: &[Value]) {
    for doc in docs {
        println!("{doc}");
    }
}

#[cfg(test)]
mod tests;
