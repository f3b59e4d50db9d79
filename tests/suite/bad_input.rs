//! Bad input of every kind, end to end: a target that is down or refuses the login,
//! malformed events, and the binary given what it cannot read.

use common::steps::{entry, rebuilt};
use common::Fixture;
use index_pilot::report::Status;
use serde_json::json;

#[tokio::test]
async fn a_target_that_is_down_or_refuses_the_login_does_not_stop_the_others() {
    let fx = Fixture::new("fleet").await;
    fx.create_table("bloated", 50_000).await;
    fx.set(&[], "index_size_threshold", "0").await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let targets = json!([
        {"name": "down", "url": format!("postgresql://postgres@127.0.0.1:{closed_port}/x")},
        {"name": "refusing", "url": fx.cluster.url_as("no_such_role", &fx.target_db)},
        {"name": "main", "url": fx.cluster.url(&fx.target_db)},
        {"name": "broken", "url": "postgresql://app:secret@127.0.0.1/x"},
    ]);
    let fx = fx.with_targets(targets);
    let report = fx.invoke(json!({"mode": "run"})).await;
    let by_name = |name: &str| entry(&report, name);
    let down = by_name("down");
    assert_eq!(down.status, Status::Error);
    let class = |name: &str| by_name(name).error_class.map(|c| c.as_str());
    assert_eq!(class("down"), Some("connect"));
    assert_eq!(class("refusing"), Some("login"));
    assert_eq!(class("broken"), Some("configuration"));
    assert_eq!(class("main"), None);
    assert!(
        down.reason.as_ref().unwrap().contains("Connection refused"),
        "{:?}",
        down.reason
    );
    let refusing = by_name("refusing");
    assert_eq!(refusing.status, Status::Error);
    assert!(
        refusing
            .reason
            .as_ref()
            .unwrap()
            .contains("role \"no_such_role\" does not exist"),
        "{:?}",
        refusing.reason
    );
    let broken = by_name("broken");
    assert!(broken
        .reason
        .as_ref()
        .unwrap()
        .contains("carries a password"));
    assert!(!serde_json::to_string(&report).unwrap().contains("secret"));
    let main = by_name("main");
    assert_eq!(main.status, Status::Ok);
    assert_eq!(rebuilt(main), ["public.bloated_id"]);
}

#[tokio::test]
async fn malformed_events_get_a_clear_error() {
    let fx = Fixture::new("malformed").await;
    let error = fx.try_invoke(json!({"mode": "explode"})).await.unwrap_err();
    assert!(error.to_string().starts_with("invalid event:"), "{error}");
    assert!(
        error
            .to_string()
            .contains("unknown mode \"explode\": the modes are \"run\", \"dry_run\""),
        "{error}"
    );
    let error = fx
        .try_invoke(json!({"targets": ["nope"]}))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("target \"nope\", which is not configured"),
        "{error}"
    );
    let error = fx.try_invoke(json!([])).await.unwrap_err();
    assert!(
        error.to_string().contains("must be a JSON object"),
        "{error}"
    );
}

#[tokio::test]
async fn the_binary_reports_bad_input_without_panicking() {
    let fx = Fixture::new("binary").await;
    let dir = tempfile::tempdir().unwrap();
    let run = |event: &str, targets: &str| {
        let path = dir.path().join("event.json");
        std::fs::write(&path, event).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_index-pilot"))
            .args(["invoke", "--event"])
            .arg(&path)
            .env("INDEX_PILOT_CONTROL_URL", fx.cluster.url(&fx.control_db))
            .env("INDEX_PILOT_TARGETS", targets)
            .env_remove("INDEX_PILOT_CONTROL_SECRET")
            .output()
            .unwrap()
    };
    let good_targets = json!([{"name": "main", "url": fx.cluster.url(&fx.target_db)}]).to_string();
    let cases = [
        ("{not json", good_targets.as_str(), "is not valid JSON"),
        ("{\"mode\": 3}", good_targets.as_str(), "invalid event"),
        (
            "{}",
            "{\"name\": \"x\"}",
            "INDEX_PILOT_TARGETS must be a JSON list",
        ),
        (
            "{}",
            "[{\"name\": ",
            "INDEX_PILOT_TARGETS is not valid JSON",
        ),
    ];
    for (event, targets, expected) in cases {
        let output = run(event, targets);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{event}: {stderr}");
        assert!(stderr.contains(expected), "{event}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = run("{\"mode\": \"dry_run\"}", &good_targets);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["mode"], "dry_run");
    assert_eq!(report["targets"][0]["status"], "ok");
}
