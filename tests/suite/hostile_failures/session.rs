//! The rebuild's own session: timeouts reset, settings applied, and row values in
//! its errors kept out of reports and history.

use super::*;

/// The rebuild session as the server sees it during REINDEX: statement, idle-session,
/// idle-in-transaction and (17+) transaction timeouts off even where the database
/// sets them, client_connection_check_interval off, the lock timeout,
/// maintenance_work_mem and max_parallel_maintenance_workers from the settings.
#[tokio::test]
async fn the_rebuild_session_resets_timeouts_and_applies_settings() {
    let fx = Fixture::new("session").await;
    batch(
        &fx.target().await,
        "CREATE FUNCTION tell(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
         BEGIN
             IF current_setting('pilot.tell', true) = 'on' THEN
                 -- feature_not_supported: a class whose message is kept (a raise's
                 -- own, P0001, may quote row values and is left out).
                 RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = 'session: ' || concat_ws(',',
                     current_setting('statement_timeout'),
                     current_setting('idle_session_timeout', true),
                     current_setting('idle_in_transaction_session_timeout'),
                     coalesce(current_setting('transaction_timeout', true), 'none'),
                     coalesce(current_setting('client_connection_check_interval', true), 'none'),
                     current_setting('lock_timeout'),
                     current_setting('maintenance_work_mem'),
                     current_setting('max_parallel_maintenance_workers'));
             END IF;
             RETURN v;
         END $$;
         CREATE TABLE told (id int);
         INSERT INTO told SELECT generate_series(1, 100000);
         CREATE INDEX told_tell ON told (tell(id));",
    )
    .await;
    fx.vacuum("told").await;
    let server: i32 = fx
        .target()
        .await
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    let mut database_settings = vec![
        "pilot.tell = 'on'",
        "statement_timeout = '1min'",
        "idle_in_transaction_session_timeout = '1min'",
        "lock_timeout = '1min'",
        "maintenance_work_mem = '64MB'",
    ];
    if server >= 140000 {
        database_settings.push("idle_session_timeout = '1min'");
    }
    if server >= 170000 {
        database_settings.push("transaction_timeout = '1min'");
    }
    for setting in database_settings {
        batch(
            &fx.target().await,
            &format!("ALTER DATABASE \"{}\" SET {setting}", fx.target_db),
        )
        .await;
    }
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "lock_timeout", "7s").await;
    let idle_session = if server >= 140000 { "0," } else { "" };
    let transaction = if server >= 170000 { "0" } else { "none" };
    let check_interval = if server >= 140000 { "0" } else { "none" };
    // concat_ws leaves out a NULL: before 14 there is no idle_session_timeout.
    let timeouts = format!("0,{idle_session}0,{transaction},{check_interval},7s");

    // First with the server's maintenance settings (the database's 64MB)...
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(told(&report), format!("{timeouts},64MB,2"));
    // ...then with index-pilot's (after releasing the quarantine the failure caused).
    batch(
        &fx.control().await,
        "UPDATE index_pilot.quarantine SET released_at = now() WHERE released_at IS NULL",
    )
    .await;
    fx.set(&[], "maintenance_work_mem", "123MB").await;
    fx.set(&[], "max_parallel_maintenance_workers", "1").await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(told(&report), format!("{timeouts},123MB,1"));
}

/// What `tell` said in the rebuild session.
fn told(report: &index_pilot::report::TargetReport) -> String {
    let error = &report
        .failed
        .first()
        .unwrap_or_else(|| panic!("{report:?}"))
        .error;
    error
        .split("session: ")
        .nth(1)
        .and_then(|rest| rest.split(" (SQLSTATE").next())
        .unwrap_or_else(|| panic!("{report:?}"))
        .to_owned()
}

/// An error whose detail quotes row values (here a unique violation, as a corrupt
/// unique index would raise) keeps its SQLSTATE and kind in the report and the
/// history, never the values.
#[tokio::test]
async fn row_values_in_an_error_stay_out_of_reports_and_history() {
    let fx = Fixture::new("rowvalues").await;
    batch(
        &fx.target().await,
        "CREATE FUNCTION clash(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
         BEGIN
             IF current_setting('pilot.clash', true) = 'on' THEN
                 RAISE EXCEPTION USING ERRCODE = '23505',
                     MESSAGE = 'could not create unique index',
                     DETAIL = 'Key (email)=(someone@example.com) is duplicated.';
             END IF;
             RETURN v;
         END $$;
         CREATE TABLE people (id int);
         INSERT INTO people SELECT generate_series(1, 100000);
         CREATE INDEX people_clash ON people (clash(id));",
    )
    .await;
    fx.vacuum("people").await;
    batch(
        &fx.target().await,
        &format!("ALTER DATABASE \"{}\" SET pilot.clash = 'on'", fx.target_db),
    )
    .await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let report = fx.invoke_main(json!({"mode": "run"})).await;
    let failed = json(&report.failed[0]);
    assert_eq!(failed["sqlstate"], "23505", "{report:?}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("integrity constraint violation"),
        "{failed}"
    );
    assert!(!serde_json::to_string(&report)
        .unwrap()
        .contains("someone@example.com"));
    let stored: String = recorded::<Row>(
        &fx.control().await,
        History,
        "concat_ws(' ', error, (SELECT string_agg(error, ' ') FROM index_pilot.quarantine))",
        "",
        &[],
    )
    .await
    .get(0);
    assert!(
        stored.contains("integrity constraint violation"),
        "{stored}"
    );
    assert!(!stored.contains("someone@example.com"), "{stored}");
}
