//! Targets in error as an SRE meets them: `invoke`'s exit status, the EMF documents a
//! real run prints, and the control database's `targets` view.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::Cluster;
use serde_json::{json, Value};

const PASSWORD: &str = "s3cret-correct-horse";

fn index_pilot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_index-pilot"));
    for var in [
        "AWS_LAMBDA_LOG_FORMAT",
        "AWS_LAMBDA_LOG_LEVEL",
        "RUST_LOG",
        "AWS_LAMBDA_FUNCTION_NAME",
    ] {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start index-pilot");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Five targets, four of them broken as a rotated password, a dropped database, a
/// closed port and a revoked CONNECT break them: the report is printed in full, `invoke` exits 3, the
/// EMF documents count each error by class, and `index_pilot.targets` says why in
/// the error's own words, and later that a removed target is no longer configured.
#[tokio::test]
async fn broken_targets_exit_non_zero_count_in_metrics_and_say_why() {
    let cluster = Cluster::start();
    for db in ["app", "control", "locked"] {
        cluster.create_database(db).await;
    }
    cluster.require_password("pilot", PASSWORD, "locked").await;
    cluster.create_database("private").await;
    cluster
        .connect("postgres")
        .await
        .batch_execute("CREATE ROLE visitor LOGIN; REVOKE CONNECT ON DATABASE private FROM PUBLIC;")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    std::fs::write(
        &passfile,
        format!("127.0.0.1:{}:locked:pilot:an-old-password\n", cluster.port),
    )
    .unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let closed = common::free_port();
    let targets = json!([
        {"name": "fine", "url": cluster.url("app")},
        {"name": "rotated", "url": cluster.url_as("pilot", "locked")},
        {"name": "dropped", "url": cluster.url("gone")},
        {"name": "closed", "url": format!("postgresql://postgres@127.0.0.1:{closed}/app")},
        {"name": "denied", "url": cluster.url_as("visitor", "private")},
    ]);
    let invoke_event = |targets: &Value, format: &str, event: Value| {
        run(
            index_pilot()
                .args(["invoke", "--event", "-", "--format", format])
                .env("INDEX_PILOT_CONTROL_URL", cluster.url("control"))
                .env("INDEX_PILOT_TARGETS", targets.to_string())
                .env("INDEX_PILOT_METRICS", "emf")
                .env("PGPASSFILE", &passfile),
            &event.to_string(),
        )
    };
    let invoke =
        |targets: &Value, format: &str| invoke_event(targets, format, json!({"mode": "run"}));
    let out = invoke(&targets, "json");
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    // The EMF lines, then the report in full.
    let (emf, report): (Vec<&str>, Vec<&str>) = stdout
        .lines()
        .partition(|l| l.starts_with('{') && l.contains(r#""_aws":"#));
    let report: Value = serde_json::from_str(&report.join("\n"))
        .unwrap_or_else(|e| panic!("the report ({e}):\n{stdout}"));
    let class_of = |name: &str| {
        let t = report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"));
        (t["status"].clone(), t["error_class"].clone())
    };
    assert_eq!(class_of("fine"), (json!("ok"), Value::Null));
    assert_eq!(class_of("rotated"), (json!("error"), json!("login")));
    assert_eq!(class_of("dropped"), (json!("error"), json!("database")));
    assert_eq!(class_of("closed"), (json!("error"), json!("connect")));
    assert_eq!(class_of("denied"), (json!("error"), json!("permission")));
    let docs: Vec<Value> = emf
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let invocation = docs
        .iter()
        .find(|d| d["Mode"] == "run" && d.get("ErrorClass").is_none() && d.get("Reason").is_none())
        .expect("the invocation's document");
    assert_eq!(invocation["TargetErrors"], 4.0, "{invocation}");
    let mut by_class: Vec<(String, String, f64)> = docs
        .iter()
        .filter(|d| d.get("ErrorClass").is_some())
        .map(|d| {
            let scope = d["Target"]
                .as_str()
                .or(d["Mode"].as_str())
                .unwrap()
                .to_owned();
            let class = d["ErrorClass"].as_str().unwrap().to_owned();
            (scope, class, d["TargetErrors"].as_f64().unwrap())
        })
        .collect();
    by_class.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let row = |s: &str, c: &str, n: f64| (s.to_owned(), c.to_owned(), n);
    assert_eq!(
        by_class,
        [
            row("closed", "connect", 1.0),
            row("denied", "permission", 1.0),
            row("dropped", "database", 1.0),
            row("rotated", "login", 1.0),
            row("run", "connect", 1.0),
            row("run", "database", 1.0),
            row("run", "login", 1.0),
            row("run", "permission", 1.0),
        ]
    );

    let control = cluster.connect("control").await;
    let views = control
        .query(
            "SELECT target, configured, state, error_class, reason, last_success_at IS NOT NULL
             FROM index_pilot.targets ORDER BY target",
            &[],
        )
        .await
        .unwrap();
    // One line per target: configured, state, class, reason, served successfully.
    let line = |name: &str| {
        let r = views
            .iter()
            .find(|r| r.get::<_, String>(0) == name)
            .unwrap_or_else(|| panic!("{name} in the view"));
        let (configured, state): (Option<bool>, String) = (r.get(1), r.get(2));
        let (class, reason): (Option<String>, Option<String>) = (r.get(3), r.get(4));
        (
            configured,
            state,
            class,
            reason.unwrap_or_default(),
            r.get::<_, bool>(5),
        )
    };
    assert_eq!(views.len(), 5);
    let fine = line("fine");
    assert_eq!(
        (fine.0, fine.1.as_str(), fine.2, fine.4),
        (Some(true), "done", None, true)
    );
    let dropped = line("dropped");
    assert_eq!(
        (dropped.1.as_str(), dropped.2.as_deref(), dropped.4),
        ("error", Some("database"), false)
    );
    assert!(
        dropped.3.contains("database \"gone\" does not exist") && dropped.3.contains("3D000"),
        "{}",
        dropped.3
    );
    let rotated = line("rotated").3;
    assert!(rotated.contains("28P01"), "{rotated}");

    // An order for an index the database has not got is the target's error.
    let order = json!({"mode": "reindex", "targets": ["fine"], "index": "public.nope"});
    let out = invoke_event(&targets, "text", order);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(
        shown.contains("fine: error (order)")
            && shown.contains("index public.nope, which does not exist in database app"),
        "{shown}"
    );

    // The broken targets removed: they stay in the view, no longer configured.
    let out = invoke(&json!([targets[0].clone()]), "text");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let configured: Vec<(String, Option<bool>)> = control
        .query(
            "SELECT target, configured FROM index_pilot.targets ORDER BY target",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        configured,
        [
            ("closed".to_owned(), Some(false)),
            ("denied".to_owned(), Some(false)),
            ("dropped".to_owned(), Some(false)),
            ("fine".to_owned(), Some(true)),
            ("rotated".to_owned(), Some(false)),
        ]
    );
}
