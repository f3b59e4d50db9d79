//! A connection that fails says where it went (host, port, database, user), never
//! with which password.

use index_pilot::control::ControlStore;
use index_pilot::pg::Tls;
use index_pilot::target_db::TargetDb;

fn refused() -> (tokio_postgres::Config, u16) {
    // Nothing listens on a port just freed.
    let port = common::free_port();
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user("app")
        .password("hunter2-secret")
        .dbname("index_pilot_control");
    (config, port)
}

#[tokio::test]
async fn control_database_errors_name_host_port_database_and_user() {
    let (config, port) = refused();
    let error = ControlStore::open(&config, &Tls::default())
        .await
        .err()
        .expect("nothing listens there")
        .to_string();
    let place = format!(
        "cannot connect to the control database at 127.0.0.1:{port}, database index_pilot_control, user app: "
    );
    assert!(error.starts_with(&place), "{error}");
    assert!(error.contains("refused"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}

#[tokio::test]
async fn target_errors_name_host_port_database_and_user() {
    let (mut config, port) = refused();
    config.dbname("orders");
    let error = TargetDb::open(&config, &Tls::default())
        .await
        .err()
        .expect("nothing listens there")
        .to_string();
    let place = format!("cannot connect at 127.0.0.1:{port}, database orders, user app: ");
    assert!(error.starts_with(&place), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}
