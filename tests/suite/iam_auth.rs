//! RDS IAM authentication through the real connection path: a TLS cluster whose role's
//! password is the token a fixed clock and fixed credentials give. The right signer
//! logs in, to a target and to the control database; another clock or other keys are
//! refused, and the error says where without the token or the keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use common::{lambda_context, Cluster};
use futures::future::BoxFuture;
use index_pilot::config::{Config, Environment, IamLogin};
use index_pilot::invocation::continuation::InProcess;
use index_pilot::invocation::handler::{handle, App, HandlerError};
use index_pilot::login::iam::{StaticSigner, TokenSigner};
use index_pilot::login::secrets::NoSecrets;
use index_pilot::report::{Report, Status};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const ROLE: &str = "pilot_iam";

fn signer(secret_key: &str, seconds: u64) -> StaticSigner {
    StaticSigner {
        credentials: Credentials::new(KEY_ID, secret_key, None, None, "test"),
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_292_000 + seconds),
        region: "eu-west-1".to_owned(),
    }
}

fn iam(cluster: &Cluster, database: &str) -> Value {
    json!({"auth": "iam", "host": "127.0.0.1", "port": cluster.port, "user": ROLE,
           "database": database, "region": "eu-west-1"})
}

fn target(cluster: &Cluster) -> Value {
    let mut entry = iam(cluster, "orders");
    entry["name"] = json!("orders");
    entry
}

async fn dry_run(app: &App<InProcess>) -> Result<Report, HandlerError> {
    handle(
        app,
        LambdaEvent::new(
            json!({"mode": "dry_run"}),
            lambda_context(Duration::from_secs(60)),
        ),
    )
    .await
}

struct Failing;

impl TokenSigner for Failing {
    fn token<'a>(&'a self, _login: &'a IamLogin) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async { Err("no AWS credentials: none in the environment".to_owned()) })
    }
}

/// A cluster with databases `orders` (owned by the IAM role) and `control`, whose
/// role's password is the token of `signer(SECRET_KEY, 0)`; the login and that token.
async fn iam_cluster() -> (Cluster, IamLogin, String) {
    let cluster = Cluster::start();
    cluster.create_database("orders").await;
    cluster.create_database("control").await;
    // The token names host, port and user only: one role serves every database.
    let login = IamLogin {
        label: "setup".to_owned(),
        host: "127.0.0.1".to_owned(),
        port: cluster.port,
        user: ROLE.to_owned(),
        database: "orders".to_owned(),
        region: Some("eu-west-1".to_owned()),
    };
    let token = signer(SECRET_KEY, 0).sign(&login).unwrap();
    cluster.require_password(ROLE, &token, "orders").await;
    (cluster, login, token)
}

#[tokio::test]
async fn the_token_is_the_password_and_only_the_right_one_logs_in() {
    let (cluster, login, token) = iam_cluster().await;
    cluster
        .connect("postgres")
        .await
        .batch_execute(&format!("ALTER DATABASE \"control\" OWNER TO \"{ROLE}\""))
        .await
        .unwrap();
    // Last: from now on the test's own plain connections are refused too.
    let certs = tempfile::tempdir().unwrap();
    common::certs::require_tls(&cluster, certs.path()).await;
    let ca = certs.path().join("ca.crt").display().to_string();

    // Control database and target through IAM, verify-full with the test CA.
    let env = Environment {
        control_iam: Some(iam(&cluster, "control").to_string()),
        ssl_root_cert: Some(ca.clone()),
        targets: Some(json!([target(&cluster)]).to_string()),
        ..Environment::default()
    };
    let config = Config::from_environment(&env).unwrap();
    let app = App::new(config.clone(), NoSecrets, InProcess::default())
        .with_signer(signer(SECRET_KEY, 0));
    let report = dry_run(&app).await.unwrap();
    let orders = &report.targets[0];
    assert_eq!(orders.status, Status::Ok, "{:?}", orders.reason);

    // Another clock, other keys: refused, and the error says where, not with what.
    let place = format!("127.0.0.1:{}, database orders, user {ROLE}", cluster.port);
    let url_control = Environment {
        control_iam: None,
        control_url: Some(cluster.url("control")),
        ..env.clone()
    };
    for wrong in [signer(SECRET_KEY, 1), signer("someOtherSecretKey", 0)] {
        let wrong_token = wrong.sign(&login).unwrap();
        let app = App::new(
            Config::from_environment(&url_control).unwrap(),
            NoSecrets,
            InProcess::default(),
        )
        .with_signer(wrong);
        let report = dry_run(&app).await.unwrap();
        let orders = &report.targets[0];
        assert_eq!(orders.status, Status::Error);
        let why = orders.reason.clone().unwrap();
        assert!(why.contains(&place), "{why}");
        assert!(why.contains("password authentication failed"), "{why}");
        for secret in [wrong_token.as_str(), &token, SECRET_KEY, "X-Amz-Signature"] {
            assert!(!why.contains(secret), "{why}");
        }
    }

    // The control database with the wrong token: the invocation's error says where.
    let app = App::new(config.clone(), NoSecrets, InProcess::default())
        .with_signer(signer(SECRET_KEY, 1));
    let why = dry_run(&app).await.unwrap_err().to_string();
    let place = format!("127.0.0.1:{}, database control, user {ROLE}", cluster.port);
    assert!(why.contains(&place), "{why}");
    assert!(
        !why.contains("X-Amz-Signature") && !why.contains(SECRET_KEY),
        "{why}"
    );

    // No token at all: the error names the target and the login, not the keys.
    let app = App::new(
        Config::from_environment(&url_control).unwrap(),
        NoSecrets,
        InProcess::default(),
    )
    .with_signer(Failing);
    let report = dry_run(&app).await.unwrap();
    let why = report.targets[0].reason.clone().unwrap();
    assert!(
        why.contains(&format!(
            "cannot make an IAM token for target \"orders\" (127.0.0.1:{}, user {ROLE}): no AWS credentials",
            cluster.port
        )),
        "{why}"
    );
}

/// Counts the tokens it makes.
struct Counting {
    inner: StaticSigner,
    made: Arc<AtomicUsize>,
}

impl TokenSigner for Counting {
    fn token<'a>(&'a self, login: &'a IamLogin) -> BoxFuture<'a, Result<String, String>> {
        self.made.fetch_add(1, Ordering::SeqCst);
        self.inner.token(login)
    }
}

/// A token lives 15 minutes and is a password: the rebuild connection, opened after
/// the scan, logs in with a token made for it, not the one the scan's connection used.
#[tokio::test]
async fn the_rebuild_connection_logs_in_with_a_token_of_its_own() {
    let (cluster, ..) = iam_cluster().await;
    cluster
        .connect("orders")
        .await
        .batch_execute(&format!(
            "CREATE TABLE items (id int NOT NULL);
             INSERT INTO items SELECT generate_series(1, 20000);
             CREATE INDEX items_id ON items (id);
             ALTER TABLE items OWNER TO \"{ROLE}\";"
        ))
        .await
        .unwrap();
    let certs = tempfile::tempdir().unwrap();
    common::certs::require_tls(&cluster, certs.path()).await;
    let env = Environment {
        control_url: Some(cluster.url("control")),
        ssl_root_cert: Some(certs.path().join("ca.crt").display().to_string()),
        targets: Some(json!([target(&cluster)]).to_string()),
        safety_margin: Some("0s".to_owned()),
        ..Environment::default()
    };
    let made = Arc::new(AtomicUsize::new(0));
    let counting = Counting {
        inner: signer(SECRET_KEY, 0),
        made: Arc::clone(&made),
    };
    let app = App::new(
        Config::from_environment(&env).unwrap(),
        NoSecrets,
        InProcess::default(),
    )
    .with_signer(counting);
    let report = handle(
        &app,
        LambdaEvent::new(
            json!({"mode": "reindex", "targets": ["orders"], "index": "public.items_id", "force": true}),
            lambda_context(Duration::from_secs(60)),
        ),
    )
    .await
    .unwrap();
    let orders = &report.targets[0];
    assert_eq!(orders.status, Status::Ok, "{:?}", orders.reason);
    assert_eq!(orders.reindexed.len(), 1, "{orders:?}");
    // One for the scan's connection, one for the rebuild's.
    assert_eq!(made.load(Ordering::SeqCst), 2);
}
