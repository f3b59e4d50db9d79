//! TLS to the databases: verify-full against a cluster whose certificate the test
//! makes with its own CA; the wrong CA, and no TLS where the server demands it, give
//! clear errors.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{lambda_context, Cluster};
use index_pilot::config::{Config, Environment};
use index_pilot::continuation::InProcess;
use index_pilot::credentials::NoSecrets;
use index_pilot::handler::{handle, App};
use index_pilot::report::Status;
use lambda_runtime::LambdaEvent;
use serde_json::json;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=index-pilot test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            "-days",
            "2",
            "-subj",
            "/CN=some other CA",
        ],
    );
}

#[tokio::test]
async fn verify_full_with_the_right_ca_and_clear_errors_otherwise() {
    let cluster = Cluster::start();
    cluster.create_database("app").await;
    cluster.create_database("control").await;
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    // The server's key and certificate, owned by the server's user, key private.
    let owner = std::fs::metadata(&cluster.dir).unwrap();
    for file in ["server.crt", "server.key"] {
        let path = cluster.file(file);
        std::fs::copy(certs.path().join(file), &path).unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let admin = cluster.connect("postgres").await;
    for setting in [
        "ALTER SYSTEM SET ssl = on".to_owned(),
        format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            cluster.file("server.crt").display()
        ),
        format!(
            "ALTER SYSTEM SET ssl_key_file = '{}'",
            cluster.file("server.key").display()
        ),
    ] {
        admin.batch_execute(&setting).await.unwrap();
    }
    // Connections without TLS are refused from now on.
    let hba = cluster.file("data/pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("hostnossl all all 127.0.0.1/32 reject\n{rules}"),
    )
    .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

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
    let entry = |name: &str| report.targets.iter().find(|t| t.name == name).unwrap();
    assert_eq!(
        entry("verified").status,
        Status::Ok,
        "{:?}",
        entry("verified").reason
    );
    assert_eq!(
        entry("encrypted").status,
        Status::Ok,
        "{:?}",
        entry("encrypted").reason
    );
    let wrong = entry("wrong-ca");
    assert_eq!(wrong.status, Status::Error);
    let why = wrong.reason.clone().unwrap();
    assert!(why.contains("certificate verify failed"), "{why}");
    let plain = entry("plain");
    assert_eq!(plain.status, Status::Error);
    let why = plain.reason.clone().unwrap();
    // The server's own words: "no encryption" since 14, "SSL off" before.
    assert!(
        why.contains("pg_hba.conf rejects connection")
            && (why.contains("no encryption") || why.contains("SSL off")),
        "{why}"
    );
}
