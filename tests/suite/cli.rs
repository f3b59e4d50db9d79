//! The binary as a DBA meets it: `--version`, `--help`, usage errors, and a local
//! run printed for people while its JSON logs name the run on every line and never
//! the password.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use common::recorded::{recorded, Table::History};
use common::Cluster;
use index_pilot::domain::units::format_size;
use serde_json::{json, Value};
use tokio_postgres::Row;

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

/// The `INDEX_PILOT_*` names quoted in the function's source (tests aside).
fn variables_the_function_reads() -> std::collections::BTreeSet<String> {
    fn walk(dir: &std::path::Path, found: &mut std::collections::BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, found);
            } else if name.ends_with(".rs") && !name.starts_with("tests") {
                let source = std::fs::read_to_string(&path).unwrap();
                for piece in source.split("\"INDEX_PILOT_").skip(1) {
                    let rest: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if piece[rest.len()..].starts_with('"') && !rest.is_empty() {
                        found.insert(format!("INDEX_PILOT_{rest}"));
                    }
                }
            }
        }
    }
    let mut found = std::collections::BTreeSet::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

#[test]
fn help_and_readme_name_every_variable_the_function_reads() {
    let variables = variables_the_function_reads();
    assert!(variables.len() >= 10, "{variables:?}");
    let help = text(
        &index_pilot()
            .args(["invoke", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for var in &variables {
        assert!(
            help.contains(var.as_str()),
            "--help does not name {var}: {help}"
        );
        assert!(
            readme.contains(&format!("`{var}`")),
            "README does not name {var}"
        );
    }
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
    let row: Row = recorded(
        &control,
        History,
        "size_before, size_after",
        "WHERE status = 'completed'",
        &[],
    )
    .await;
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
