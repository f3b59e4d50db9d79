//! The real AWS SDK against moto_server on 127.0.0.1: credentials from Secrets
//! Manager (cache, rotation, bad secrets) and the self-invocation that continues a run.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::moto::Moto;
use common::steps::entry;
use common::{create_slow_indexes, lambda_context, shared_cluster, Fixture};
use index_pilot::aws::{LambdaReInvoker, Sdk, SecretsManager};
use index_pilot::config::{Config, Environment};
use index_pilot::invocation::continuation::InProcess;
use index_pilot::invocation::handler::{handle, App};
use index_pilot::login::secrets::NoSecrets;
use index_pilot::report::{Report, Status};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

/// Everything the code under test logs, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn rds_secret(user: &str, password: &str, port: u16, dbname: &str) -> String {
    json!({"engine": "postgres", "username": user, "password": password,
           "host": "127.0.0.1", "port": port, "dbname": dbname})
    .to_string()
}

fn secret_reads(moto: &Moto, secret_id: &str) -> usize {
    moto.requests()
        .iter()
        .filter(|r| {
            r["headers"]["X-Amz-Target"] == "secretsmanager.GetSecretValue"
                && r["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(&format!("\"{secret_id}\"")))
        })
        .count()
}

#[tokio::test]
async fn credentials_come_from_secrets_manager_and_never_show() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let passwords = [
        "first-app-pass-4711",
        "second-app-pass-0815",
        "control-pass-1234",
    ];

    let cluster = shared_cluster();
    cluster.create_database("sm_target").await;
    cluster.create_database("sm_control").await;
    cluster
        .require_password("app_user", passwords[0], "sm_target")
        .await;
    cluster
        .require_password("pilot", passwords[2], "sm_control")
        .await;
    cluster
        .connect("sm_target")
        .await
        .batch_execute(
            "CREATE TABLE t AS SELECT generate_series(1, 10000) AS id;
             CREATE INDEX t_id ON t (id);
             ALTER TABLE t OWNER TO app_user;",
        )
        .await
        .unwrap();

    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    for (id, value) in [
        (
            "db/app",
            rds_secret("app_user", passwords[0], cluster.port, "sm_target"),
        ),
        (
            "db/control",
            rds_secret("pilot", passwords[2], cluster.port, "sm_control"),
        ),
        ("db/not-json", "host=127.0.0.1 password=oops".to_owned()),
        (
            "db/no-password",
            json!({"username": "app_user", "host": "127.0.0.1"}).to_string(),
        ),
    ] {
        secrets
            .create_secret()
            .name(id)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let env = Environment {
        control_secret: Some("db/control".into()),
        targets: Some(
            json!([
                {"name": "app", "secret": "db/app"},
                {"name": "missing", "secret": "db/does-not-exist"},
                {"name": "not-json", "secret": "db/not-json"},
                {"name": "no-password", "secret": "db/no-password"},
            ])
            .to_string(),
        ),
        ..Environment::default()
    };
    let app = App::new(
        Config::from_environment(&env).unwrap(),
        SecretsManager::new(Sdk::from_config(sdk)),
        InProcess::default(),
    );
    let invoke = || async {
        let report = handle(
            &app,
            LambdaEvent::new(
                json!({"mode": "dry_run"}),
                lambda_context(Duration::from_secs(60)),
            ),
        )
        .await
        .unwrap();
        let text = serde_json::to_string(&report).unwrap();
        for password in passwords {
            assert!(!text.contains(password), "a password in the report: {text}");
        }
        report
    };
    let reason = |report: &Report, name: &str| {
        let entry = entry(report, name);
        (entry.status, entry.reason.clone().unwrap_or_default())
    };

    let first = invoke().await;
    assert_eq!(reason(&first, "app").0, Status::Ok, "{first:?}");
    let (status, why) = reason(&first, "missing");
    assert_eq!(status, Status::Error);
    for name in ["missing", "not-json"] {
        let entry = entry(&first, name);
        assert_eq!(entry.error_class.map(|c| c.as_str()), Some("credentials"));
    }
    assert!(
        why.contains("secret \"db/does-not-exist\" does not exist"),
        "{why}"
    );
    let (_, why) = reason(&first, "not-json");
    assert!(
        why.contains("secret \"db/not-json\" is not a JSON object"),
        "{why}"
    );
    let (_, why) = reason(&first, "no-password");
    assert!(
        why.contains("secret \"db/no-password\" has no \"password\""),
        "{why}"
    );
    assert_eq!(secret_reads(&moto, "db/app"), 1);

    // Warm invocation: the cached secret serves.
    invoke().await;
    assert_eq!(secret_reads(&moto, "db/app"), 1, "the secret is cached");

    // Rotation: the password changes in the server and in the secret; the cached one
    // is refused, the secret is read again once, the login succeeds.
    cluster
        .connect("postgres")
        .await
        .batch_execute(&format!("ALTER ROLE app_user PASSWORD '{}'", passwords[1]))
        .await
        .unwrap();
    secrets
        .put_secret_value()
        .secret_id("db/app")
        .secret_string(rds_secret(
            "app_user",
            passwords[1],
            cluster.port,
            "sm_target",
        ))
        .send()
        .await
        .unwrap();
    let rotated = invoke().await;
    assert_eq!(reason(&rotated, "app").0, Status::Ok, "{rotated:?}");
    assert_eq!(
        secret_reads(&moto, "db/app"),
        2,
        "read again once after the refusal"
    );
    assert!(logs.text().contains("fetching the secret again"));

    let logged = logs.text();
    assert!(logged.len() > 1000, "the test captured the logs");
    for password in passwords {
        assert!(!logged.contains(password), "a password in the logs");
    }
}

/// An app whose next hops and shards go to moto's Lambda, and the function's ARN.
async fn app_with_moto_lambda(config: Config, moto: &Moto) -> (App<LambdaReInvoker>, String) {
    let arn = moto.create_function("index-pilot");
    let app = App::new(
        config,
        NoSecrets,
        LambdaReInvoker::new(Sdk::from_config(moto.sdk().await)),
    );
    (app, arn)
}

/// The Invoke requests moto received.
fn invocations(moto: &Moto) -> Vec<Value> {
    moto.requests()
        .into_iter()
        .filter(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/invocations"))
        })
        .collect()
}

#[tokio::test]
async fn the_next_hop_is_an_asynchronous_invocation_of_this_function() {
    let fx = Fixture::new("reinvoke").await;
    create_slow_indexes(&fx, 3, Duration::from_secs(1)).await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;
    let moto = Moto::start();
    let (app, arn) = app_with_moto_lambda(fx.app.config.clone(), &moto).await;
    let mut context = lambda_context(Duration::from_millis(1500));
    context.invoked_function_arn = arn.clone();
    let report = handle(&app, LambdaEvent::new(json!({"mode": "run"}), context))
        .await
        .unwrap();
    assert!(!report.complete);
    assert!(report.notes.is_empty(), "{:?}", report.notes);

    let invocations = invocations(&moto);
    assert_eq!(invocations.len(), 1, "{invocations:?}");
    let invocation = &invocations[0];
    assert_eq!(invocation["method"], "POST");
    let url = invocation["url"].as_str().unwrap();
    assert!(url.contains("/2015-03-31/functions/"), "{url}");
    let encoded_arn = arn.replace(':', "%3A");
    assert!(
        url.contains(&encoded_arn) || url.contains(&arn),
        "{url} names {arn}"
    );
    assert_eq!(invocation["headers"]["X-Amz-Invocation-Type"], "Event");
    let payload: Value = serde_json::from_str(invocation["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload,
        json!({"mode": "run", "run_id": report.run_id, "shard": 0, "hop": 1, "targets": ["main"]})
    );
}

#[tokio::test]
async fn a_large_fleet_fans_out_one_asynchronous_invocation_per_shard() {
    let fx = Fixture::new("fan_out_moto").await;
    // The invocation that fans out connects to no target: these need not exist.
    let targets: Vec<Value> = (0..60)
        .map(|i| json!({"name": format!("db{i:02}"), "url": format!("postgresql://app@127.0.0.1:1/db{i:02}")}))
        .collect();
    let config = fx.with_targets(json!(targets)).app.config;
    let moto = Moto::start();
    let (app, arn) = app_with_moto_lambda(config, &moto).await;
    let mut context = lambda_context(Duration::from_secs(30));
    context.invoked_function_arn = arn.clone();
    let report = handle(&app, LambdaEvent::new(json!({"mode": "run"}), context))
        .await
        .unwrap();
    assert!(report.targets.is_empty(), "{report:?}");
    assert_eq!(report.shards.len(), 3, "{report:?}");

    let payloads: Vec<Value> = invocations(&moto)
        .into_iter()
        .map(|r| {
            assert_eq!(r["headers"]["X-Amz-Invocation-Type"], "Event");
            serde_json::from_str(r["body"].as_str().unwrap()).unwrap()
        })
        .collect();
    let expected: Vec<Value> = (0..3)
        .map(|shard| {
            let names: Vec<String> = (shard * 20..shard * 20 + 20)
                .map(|i| format!("db{i:02}"))
                .collect();
            json!({"mode": "run", "run_id": report.run_id, "shard": shard, "hop": 0,
                   "targets": names})
        })
        .collect();
    assert_eq!(payloads, expected);
}
