//! The binary as a DBA meets it: `--version`, `--help`, usage errors, and a local
//! run printed for people while its JSON logs name the run on every line and never
//! the password.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::Cluster;
use index_pilot::domain::units::format_size;
use serde_json::{json, Value};

const PASSWORD: &str = "s3cret-correct-horse";

fn index_pilot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_index-pilot"));
    for var in ["AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"] {
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

#[test]
fn version_and_help_exit_zero_and_a_wrong_word_is_a_usage_error() {
    let version = index_pilot().arg("--version").output().unwrap();
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        text(&version.stdout).trim(),
        format!("index-pilot {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["--help"][..],
        &["invoke", "--help"],
        &["help", "invoke"],
        &["serve", "--help"],
    ] {
        let help = index_pilot().args(args).output().unwrap();
        assert!(help.status.success(), "{args:?}: {help:?}");
        let shown = text(&help.stdout);
        for var in [
            "INDEX_PILOT_CONTROL_URL",
            "INDEX_PILOT_TARGETS",
            "AWS_LAMBDA_LOG_FORMAT",
        ] {
            assert!(shown.contains(var), "{args:?} does not name {var}: {shown}");
        }
    }
    let wrong = index_pilot()
        .args(["invoke", "--evnet", "x"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    assert!(text(&wrong.stderr).contains("--event"), "{wrong:?}");
}

#[tokio::test]
async fn a_run_reads_well_and_its_logs_name_the_run_on_every_line() {
    let cluster = Cluster::start();
    cluster.create_database("app").await;
    cluster.create_database("control").await;
    cluster.require_password("pilot", PASSWORD, "app").await;
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    std::fs::write(
        &passfile,
        format!("127.0.0.1:{}:app:pilot:{PASSWORD}\n", cluster.port),
    )
    .unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let app = cluster.connect("app").await;
    app.batch_execute(
        "CREATE TABLE bloated (id int NOT NULL, payload text NOT NULL);
         INSERT INTO bloated SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
         CREATE INDEX bloated_id ON bloated (id);
         ALTER TABLE bloated OWNER TO pilot;",
    )
    .await
    .unwrap();
    app.batch_execute("VACUUM ANALYZE bloated").await.unwrap();

    let targets = json!([{"name": "app", "url": cluster.url_as("pilot", "app")}]).to_string();
    let invoke = |event: Value, format: &str| {
        run(
            index_pilot()
                .args(["invoke", "--event", "-", "--format", format])
                .env("INDEX_PILOT_CONTROL_URL", cluster.url("control"))
                .env("INDEX_PILOT_TARGETS", &targets)
                .env("PGPASSFILE", &passfile)
                .env("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            &event.to_string(),
        )
    };
    let baseline = invoke(json!({"mode": "baseline"}), "json");
    assert!(baseline.status.success(), "{baseline:?}");
    // Piped, with --format json: the report as the function returns it.
    let report: Value = serde_json::from_slice(&baseline.stdout).unwrap();
    assert_eq!(report["mode"], "baseline");

    let control = cluster.connect("control").await;
    control
        .batch_execute(
            "INSERT INTO index_pilot.settings (key, value) VALUES ('index_size_threshold', '1MB')",
        )
        .await
        .unwrap();
    app.batch_execute("DELETE FROM bloated WHERE id % 5 < 3")
        .await
        .unwrap();
    app.batch_execute("VACUUM ANALYZE bloated").await.unwrap();

    let out = invoke(json!({"mode": "run"}), "text");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row = control
        .query_one(
            "SELECT size_before, size_after FROM index_pilot.reindex_history
             WHERE status = 'completed'",
            &[],
        )
        .await
        .unwrap();
    let (before, after): (i64, i64) = (row.get(0), row.get(1));
    let rebuilt_line = stdout
        .lines()
        .find(|l| l.contains("public.bloated_id"))
        .unwrap_or_else(|| panic!("the rebuilt index is not shown:\n{stdout}"));
    for size in [before, after, before - after] {
        let shown = format_size(size as u64);
        assert!(
            rebuilt_line.contains(&shown),
            "{shown} not in {rebuilt_line:?}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("Rebuilt:") && stdout.contains("Totals"),
        "{stdout}"
    );
    assert!(stdout.contains("rebuilt 1 index:"), "{stdout}");

    // The heading: "index-pilot run · run <id> · hop 0 · …".
    let run_id = stdout
        .split(" · run ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the run id in the heading")
        .to_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{stderr}");
    let mut by_target = 0;
    for line in &lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let spans = entry["spans"]
            .as_array()
            .unwrap_or_else(|| panic!("no spans: {line}"));
        assert_eq!(spans[0]["run_id"], run_id.as_str(), "{line}");
        assert_eq!(spans[0]["hop"], 0, "{line}");
        if spans.iter().any(|s| s["target"] == "app") {
            by_target += 1;
        }
        assert!(
            entry["level"].is_string() && entry["message"].is_string(),
            "{line}"
        );
        // Typed values: numbers as numbers, absent as absent, never Rust's Debug.
        for (field, value) in entry.as_object().unwrap() {
            let debug = value
                .as_str()
                .is_some_and(|v| v == "None" || v.starts_with("Some(") || v.starts_with('['));
            assert!(!debug, "{field} is a Debug string: {line}");
        }
        if entry["message"] == "reindex started" {
            assert!(entry["estimated_bloat"].is_f64(), "{line}");
        }
    }
    assert!(by_target >= 1, "no line names the target:\n{stderr}");
    for shown in [
        &stdout,
        &stderr,
        &text(&baseline.stdout),
        &text(&baseline.stderr),
    ] {
        assert!(!shown.contains(PASSWORD), "the password shows:\n{shown}");
    }
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

/// At a terminal the text report is on the screen: the log line that ends the
/// invocation does not repeat the whole report as JSON beside it.
#[tokio::test]
async fn at_a_terminal_the_log_does_not_repeat_the_report() {
    let cluster = Cluster::start();
    cluster.create_database("app").await;
    cluster.create_database("control").await;
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"mode": "dry_run"}"#).unwrap();
    let targets = json!([{"name": "app", "url": cluster.url("app")}]).to_string();
    // `script` gives the command a terminal for standard output and error.
    let command = format!(
        "{} invoke --event {}",
        env!("CARGO_BIN_EXE_index-pilot"),
        event.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("INDEX_PILOT_CONTROL_URL", cluster.url("control"))
        .env("INDEX_PILOT_TARGETS", &targets)
        .env_remove("AWS_LAMBDA_LOG_FORMAT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs index-pilot at a terminal");
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("app: ok") && shown.contains("Totals"),
        "{shown}"
    );
    assert!(shown.contains("invocation finished"), "{shown}");
    assert!(
        !shown.contains(r#"{"run_id""#),
        "the report as JSON:\n{shown}"
    );
}
