//! Password-free URLs with a password file (PGPASSFILE), on a cluster of its own
//! whose pg_hba.conf asks one role for a password, and preflight's refused login
//! with a wrong one. Its own test binary: each test sets PGPASSFILE for the whole
//! process, so they take turns (`PGPASSFILE_IN_USE`).

use std::os::unix::fs::PermissionsExt;

use common::steps::finding_kinds;
use common::{json, Cluster, Fixture};
use index_pilot::config::Config;
use index_pilot::invocation::continuation::InProcess;
use index_pilot::invocation::handler::{handle, App};
use index_pilot::login::secrets::NoSecrets;
use index_pilot::report::Status;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use tokio::sync::Mutex;

/// Held by a test from setting PGPASSFILE to its last login: the tests of this
/// binary run side by side, and each needs the variable to name its own file.
static PGPASSFILE_IN_USE: Mutex<()> = Mutex::const_new(());

#[tokio::test]
async fn passwords_come_from_the_password_file_and_never_show() {
    let _turn = PGPASSFILE_IN_USE.lock().await;
    let cluster = Cluster::start();
    cluster.create_database("app").await;
    cluster.create_database("control").await;
    cluster
        .require_password("pw_user", "correct horse battery", "app")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    std::env::set_var("PGPASSFILE", &passfile);
    let config = Config::from_values(
        Some(&cluster.url("control")),
        None,
        Some(&json!([{"name": "app", "url": cluster.url_as("pw_user", "app")}]).to_string()),
    )
    .unwrap();
    let app = App::new(config, NoSecrets, InProcess::default());
    let invoke = || async {
        let report = handle(
            &app,
            LambdaEvent::new(json!({"mode": "dry_run"}), Context::default()),
        )
        .await
        .unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains("horse"), "a password in the report: {text}");
        report.targets.into_iter().next().unwrap()
    };
    let write = |password: &str| {
        std::fs::write(
            &passfile,
            format!("127.0.0.1:{}:app:pw_user:{password}\n", cluster.port),
        )
        .unwrap();
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    };

    write("correct horse battery");
    let ok = invoke().await;
    assert_eq!(ok.status, Status::Ok, "{:?}", ok.reason);

    write("wrong horse");
    let refused = invoke().await;
    assert_eq!(refused.status, Status::Error);
    let reason = refused.reason.unwrap();
    assert!(
        reason.contains("password authentication failed for user \"pw_user\""),
        "{reason}"
    );

    // A file others can read is ignored, as libpq does: then there is no password.
    write("correct horse battery");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ignored = invoke().await;
    assert_eq!(ignored.status, Status::Error);
    assert!(ignored.reason.unwrap().contains("password missing"));
}

/// A wrong password (a rotated secret): the login is refused, a blocking finding.
#[tokio::test]
async fn a_wrong_password_is_a_refused_login() {
    let _turn = PGPASSFILE_IN_USE.lock().await;
    let fx = Fixture::new("preflight_password").await;
    fx.cluster
        .require_password("pf_rotated", "the new one", &fx.target_db)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    std::fs::write(
        &passfile,
        format!(
            "127.0.0.1:{}:{}:pf_rotated:the old one\n",
            fx.target_port, fx.target_db
        ),
    )
    .unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::env::set_var("PGPASSFILE", &passfile);
    let url = fx.url_as_role("pf_rotated");
    let fx = fx.with_targets(json!([{"name": "main", "url": url}]));
    let report = json(&fx.invoke(json!({"mode": "check"})).await);
    let main = &report["targets"][0];
    assert_eq!(main["status"], "error", "{main}");
    assert_eq!(finding_kinds(main), ["login_refused"], "{main}");
    assert_eq!(main["preflight"]["findings"][0]["severity"], "blocking");
    assert!(!report.to_string().contains("the old one"));
}
