//! TLS to the databases: verify-full against a cluster whose certificate the test
//! makes with its own CA; the wrong CA, and no TLS where the server demands it, give
//! clear errors.

use std::time::Duration;

use common::steps::entry;
use common::{lambda_context, Cluster};
use index_pilot::config::{Config, Environment};
use index_pilot::invocation::continuation::InProcess;
use index_pilot::invocation::handler::{handle, App};
use index_pilot::login::secrets::NoSecrets;
use index_pilot::report::Status;
use lambda_runtime::LambdaEvent;
use serde_json::json;

#[tokio::test]
async fn verify_full_with_the_right_ca_and_clear_errors_otherwise() {
    let cluster = Cluster::start();
    cluster.create_database("app").await;
    cluster.create_database("control").await;
    let certs = tempfile::tempdir().unwrap();
    common::certs::require_tls(&cluster, certs.path()).await;

    let ca = certs.path().join("ca.crt");
    let other = certs.path().join("other.crt");
    let env = Environment {
        control_url: Some(cluster.url("control")),
        // The control database: verify-full with the right CA, from the environment.
        sslmode: Some("verify-full".into()),
        ssl_root_cert: Some(ca.display().to_string()),
        targets: Some(
            json!([
                {"name": "verified", "url": cluster.url("app")},
                {"name": "wrong-ca", "url": cluster.url("app"), "sslrootcert": other},
                {"name": "plain", "url": cluster.url("app"), "sslmode": "disable"},
                {"name": "encrypted", "url": cluster.url("app"), "sslmode": "require", "sslrootcert": null},
            ])
            .to_string(),
        ),
        ..Environment::default()
    };
    let app = App::new(
        Config::from_environment(&env).unwrap(),
        NoSecrets,
        InProcess::default(),
    );
    let report = handle(
        &app,
        LambdaEvent::new(
            json!({"mode": "dry_run"}),
            lambda_context(Duration::from_secs(60)),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        entry(&report, "verified").status,
        Status::Ok,
        "{:?}",
        entry(&report, "verified").reason
    );
    assert_eq!(
        entry(&report, "encrypted").status,
        Status::Ok,
        "{:?}",
        entry(&report, "encrypted").reason
    );
    let wrong = entry(&report, "wrong-ca");
    assert_eq!(wrong.status, Status::Error);
    let why = wrong.reason.clone().unwrap();
    assert!(why.contains("certificate verify failed"), "{why}");
    let plain = entry(&report, "plain");
    assert_eq!(plain.status, Status::Error);
    let why = plain.reason.clone().unwrap();
    // The server's own words: "no encryption" since 14, "SSL off" before.
    assert!(
        why.contains("pg_hba.conf rejects connection")
            && (why.contains("no encryption") || why.contains("SSL off")),
        "{why}"
    );
}
