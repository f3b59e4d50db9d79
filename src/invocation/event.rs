//! The events an invocation accepts: the EventBridge rule envelope, EventBridge
//! Scheduler payloads (with `detail` as the string "{}" too), the custom JSON and
//! continuations. Anything else is refused with an error that names what is wrong.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::ident::QualifiedName;
use crate::domain::mode::Mode;

/// What one invocation is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub(crate) mode: Mode,
    /// Only these targets (by name); `None` means all.
    pub(crate) targets: Option<Vec<String>>,
    /// `reindex` mode: the index.
    pub(crate) index: Option<QualifiedName>,
    /// `reindex` mode: the database of a target that lists several.
    pub(crate) database: Option<String>,
    pub(crate) force: bool,
    /// `baseline` mode: seed every index again, not only those without a baseline.
    pub(crate) reseed: bool,
    /// A continuation's run.
    pub(crate) run_id: Option<Uuid>,
    /// A continuation's chain: the shard of the run it works through (0 when the
    /// run has a single chain).
    pub(crate) shard: u32,
    pub(crate) hop: u32,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the event must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("the event is not valid JSON: {0}")]
    NotJson(String),
    #[error("the event's detail is neither an object nor a JSON object in a string: {0}")]
    BadDetail(String),
    #[error("the event is not one index-pilot understands: {0}")]
    Invalid(String),
    #[error("unknown mode {given}: the modes are {valid}")]
    UnknownMode { given: String, valid: String },
    #[error("mode \"reindex\" needs \"index\": \"schema.name\"")]
    ReindexWithoutIndex,
    #[error("\"index\" is only for mode \"reindex\"")]
    IndexWithoutReindex,
    #[error("\"force\" is only for mode \"reindex\"")]
    ForceWithoutReindex,
    #[error("\"database\" is only for mode \"reindex\"")]
    DatabaseWithoutReindex,
    #[error(
        "mode \"reindex\" is an order for one index of one target: name exactly one target in \"targets\" (this event names {0})"
    )]
    ReindexTargets(usize),
    #[error("\"reseed\" is only for mode \"baseline\"")]
    ReseedWithoutBaseline,
    #[error("\"targets\" is an empty list; leave it out to mean all targets")]
    EmptyTargets,
    #[error("\"{0}\" belongs to a continuation, which also carries \"run_id\"")]
    ContinuationWithoutRunId(&'static str),
    #[error("\"run_id\" continues a run: mode must be \"run\", not \"{0}\"")]
    ContinuationNotRun(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomEvent {
    #[serde(default = "default_mode")]
    mode: Mode,
    targets: Option<Vec<String>>,
    index: Option<String>,
    database: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    reseed: bool,
    run_id: Option<Uuid>,
    shard: Option<u32>,
    hop: Option<u32>,
}

fn default_mode() -> Mode {
    Mode::Run
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An EventBridge envelope carries `detail-type` and `detail`; its detail may hold
/// a custom event (as an object, or as JSON in a string: Scheduler sends `"{}"`).
fn unwrap_envelope(value: &Value) -> Result<Value, EventError> {
    let Some(object) = value.as_object() else {
        return Err(EventError::NotAnObject(kind_of(value)));
    };
    if !object.contains_key("detail-type") {
        return Ok(value.clone());
    }
    let detail = match object.get("detail") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::String(text)) => {
            serde_json::from_str(text).map_err(|e| EventError::BadDetail(e.to_string()))?
        }
        Some(other) => other.clone(),
    };
    match detail {
        Value::Object(_) => Ok(detail),
        other => Err(EventError::BadDetail(format!("it is {}", kind_of(&other)))),
    }
}

/// A `mode` that names none of the modes, said with the list of those there are.
fn unknown_mode(event: &Value) -> Option<EventError> {
    let given = event.get("mode")?;
    if given
        .as_str()
        .is_some_and(|name| Mode::from_name(name).is_some())
    {
        return None;
    }
    let valid: Vec<String> = Mode::ALL
        .iter()
        .map(|m| format!("{:?}", m.as_str()))
        .collect();
    Some(EventError::UnknownMode {
        given: given.to_string(),
        valid: valid.join(", "),
    })
}

pub(crate) fn parse_event(value: &Value) -> Result<Request, EventError> {
    let event = unwrap_envelope(value)?;
    if let Some(error) = unknown_mode(&event) {
        return Err(error);
    }
    let custom: CustomEvent =
        serde_json::from_value(event).map_err(|e| EventError::Invalid(e.to_string()))?;
    let index = custom
        .index
        .as_deref()
        .map(str::parse::<QualifiedName>)
        .transpose()
        .map_err(|e| EventError::Invalid(e.to_string()))?;
    match (custom.mode, &index) {
        (Mode::Reindex, None) => return Err(EventError::ReindexWithoutIndex),
        (Mode::Reindex, Some(_)) => {
            // Force skips windows and size limits: it must never fan out over a fleet.
            let named = custom.targets.as_ref().map_or(0, Vec::len);
            if named != 1 {
                return Err(EventError::ReindexTargets(named));
            }
        }
        (_, Some(_)) => return Err(EventError::IndexWithoutReindex),
        _ if custom.force => return Err(EventError::ForceWithoutReindex),
        _ if custom.database.is_some() => return Err(EventError::DatabaseWithoutReindex),
        _ => {}
    }
    if custom.reseed && custom.mode != Mode::Baseline {
        return Err(EventError::ReseedWithoutBaseline);
    }
    if custom.targets.as_ref().is_some_and(Vec::is_empty) {
        return Err(EventError::EmptyTargets);
    }
    if custom.run_id.is_none() {
        if custom.hop.is_some() {
            return Err(EventError::ContinuationWithoutRunId("hop"));
        }
        if custom.shard.is_some() {
            return Err(EventError::ContinuationWithoutRunId("shard"));
        }
    } else if custom.mode != Mode::Run {
        return Err(EventError::ContinuationNotRun(
            custom.mode.as_str().to_owned(),
        ));
    }
    Ok(Request {
        mode: custom.mode,
        targets: custom.targets,
        index,
        database: custom.database,
        force: custom.force,
        reseed: custom.reseed,
        run_id: custom.run_id,
        shard: custom.shard.unwrap_or(0),
        hop: custom.hop.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw bytes (a file, stdin) as the binary reads them, then the request.
    fn parse_event_bytes(bytes: &[u8]) -> Result<(Value, Request), EventError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(e.to_string()))?;
        let request = parse_event(&value)?;
        Ok((value, request))
    }
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn scheduled_event_envelope_is_a_run() {
        let event = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
            "source": "aws.events", "detail": {}});
        assert_eq!(parse_event(&event).unwrap().mode, Mode::Run);
        let scheduler =
            json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"});
        assert_eq!(parse_event(&scheduler).unwrap().mode, Mode::Run);
    }

    #[test]
    fn custom_events() {
        assert_eq!(parse_event(&json!({})).unwrap().mode, Mode::Run);
        let request = parse_event(&json!({"mode": "reindex", "index": "public.orders_pkey",
            "force": true, "targets": ["orders"]}))
        .unwrap();
        assert_eq!(
            request.index,
            Some(QualifiedName::new("public", "orders_pkey"))
        );
        assert!(request.force);
        let reseed = parse_event(&json!({"mode": "baseline", "reseed": true})).unwrap();
        assert!(reseed.reseed && !parse_event(&json!({"mode": "baseline"})).unwrap().reseed);
        let continuation = parse_event(&json!({"mode": "run",
            "run_id": "5f0c6f8e-8d4b-4f7e-9a57-3c1f2b0c9d11", "hop": 2}))
        .unwrap();
        assert_eq!(continuation.hop, 2);
        let shard = parse_event(&json!({"mode": "run", "shard": 3, "hop": 0,
            "run_id": "5f0c6f8e-8d4b-4f7e-9a57-3c1f2b0c9d11", "targets": ["a", "b"]}))
        .unwrap();
        assert_eq!((shard.shard, shard.hop), (3, 0));
        assert_eq!(shard.targets, Some(vec!["a".to_owned(), "b".to_owned()]));
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        let cases = [
            (json!([1, 2]), "must be a JSON object, not a list"),
            (json!("run"), "not a string"),
            (
                json!({"mode": "vacuum"}),
                "unknown mode \"vacuum\": the modes are \"run\", \"dry_run\", \"baseline\", \"reindex\"",
            ),
            (json!({"mode": 3}), "unknown mode 3: the modes are \"run\""),
            (
                json!({"mode": "run", "colour": 1}),
                "unknown field `colour`",
            ),
            (json!({"mode": "reindex"}), "needs \"index\""),
            (
                json!({"mode": "run", "index": "a.b"}),
                "only for mode \"reindex\"",
            ),
            (json!({"mode": "run", "force": true}), "\"force\" is only"),
            (
                json!({"mode": "run", "database": "sales"}),
                "\"database\" is only for mode \"reindex\"",
            ),
            (
                json!({"mode": "reindex", "index": "public.orders_pkey", "force": true}),
                "name exactly one target in \"targets\" (this event names 0)",
            ),
            (
                json!({"mode": "reindex", "index": "public.orders_pkey",
                    "targets": ["orders", "billing"]}),
                "(this event names 2)",
            ),
            (
                json!({"mode": "run", "reseed": true}),
                "\"reseed\" is only for mode \"baseline\"",
            ),
            (
                json!({"mode": "reindex", "index": "nodot"}),
                "schema is missing",
            ),
            (json!({"targets": []}), "empty list"),
            (json!({"hop": 1}), "\"hop\" belongs to a continuation"),
            (json!({"shard": 1}), "\"shard\" belongs to a continuation"),
            (
                json!({"mode": "dry_run", "run_id": "5f0c6f8e-8d4b-4f7e-9a57-3c1f2b0c9d11"}),
                "mode must be \"run\", not \"dry_run\"",
            ),
            (json!({"run_id": "not-a-uuid"}), "invalid"),
            (
                json!({"detail-type": "Scheduled Event", "detail": "{oops"}),
                "detail",
            ),
            (
                json!({"detail-type": "Scheduled Event", "detail": [1]}),
                "detail",
            ),
        ];
        for (event, expected) in cases {
            let error = parse_event(&event).unwrap_err().to_string();
            assert!(error.contains(expected), "{event}: {error}");
        }
        assert!(parse_event_bytes(b"\xff\x00")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }

    #[test]
    fn every_sample_event_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            if let Err(e) = parse_event_bytes(&bytes) {
                panic!("{}: {e}", path.display());
            }
            seen += 1;
        }
        assert!(seen >= 6, "only {seen} sample events");
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "\\PC{0,12}".prop_map(Value::String),
            prop_oneof![
                Just("mode"),
                Just("run"),
                Just("reindex"),
                Just("index"),
                Just("detail"),
                Just("detail-type"),
                Just("force"),
                Just("hop"),
                Just("run_id"),
                Just("targets")
            ]
            .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("mode".to_owned()),
                        Just("index".to_owned()),
                        Just("detail".to_owned()),
                        Just("detail-type".to_owned()),
                        Just("force".to_owned()),
                        Just("targets".to_owned()),
                        "\\PC{0,6}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(value in arbitrary_json()) {
            let _ = parse_event(&value);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_event_bytes(&bytes);
        }
    }
}
