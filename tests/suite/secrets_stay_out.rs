//! Errors that quote row values stay out of every output. A rebuild that fails on a
//! data exception (class 22), an integrity violation (class 23) or a PL/pgSQL raise
//! (class P0) has a message, detail and hint that may quote a card number: the report,
//! the logs and the control database keep only the SQLSTATE and the object. So do the
//! NOTICE and WARNING a function raises while a rebuild that succeeds evaluates it.

use std::process::Command;

use common::steps::batch;
use common::Fixture;

const SECRET: &str = "4111111111111111";

/// Three indexes whose expressions fail in sessions where `pilot.secret` is on, each
/// in one class, each quoting the secret in what the server says.
async fn indexes_that_quote_a_secret(fx: &Fixture) {
    batch(
        &fx.target().await,
        &format!(
            "CREATE FUNCTION raising(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 IF current_setting('pilot.secret', true) = 'on' THEN
                     RAISE EXCEPTION 'card {SECRET} of row %', v
                         USING DETAIL = 'detail {SECRET}', HINT = 'hint {SECRET}';
                 END IF;
                 RETURN v;
             END $$;
             CREATE FUNCTION casting(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 IF current_setting('pilot.secret', true) = 'on' THEN
                     RETURN ('{SECRET}x' || v)::int;
                 END IF;
                 RETURN v;
             END $$;
             CREATE FUNCTION same(v int) RETURNS bigint IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 IF current_setting('pilot.secret', true) = 'on' THEN
                     RETURN {SECRET};
                 END IF;
                 RETURN v;
             END $$;
             CREATE FUNCTION noticing(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
             BEGIN
                 IF current_setting('pilot.secret', true) = 'on' AND v = 1 THEN
                     RAISE NOTICE 'card {SECRET} of row %', v USING DETAIL = 'detail {SECRET}';
                     RAISE WARNING 'card {SECRET} again';
                 END IF;
                 RETURN v;
             END $$;
             CREATE TABLE noticed (id int);
             INSERT INTO noticed SELECT generate_series(1, 100000);
             CREATE INDEX noticed_notice ON noticed (noticing(id));
             CREATE TABLE raised (id int);
             CREATE TABLE cast_to (id int);
             CREATE TABLE twins (id int);
             INSERT INTO raised SELECT generate_series(1, 100000);
             INSERT INTO cast_to SELECT generate_series(1, 100000);
             INSERT INTO twins SELECT generate_series(1, 100000);
             CREATE INDEX raised_p0 ON raised (raising(id));
             CREATE INDEX cast_to_22 ON cast_to (casting(id));
             CREATE UNIQUE INDEX twins_23 ON twins (same(id));"
        ),
    )
    .await;
    for table in ["raised", "cast_to", "twins", "noticed"] {
        fx.vacuum(table).await;
    }
    batch(
        &fx.target().await,
        &format!(
            "ALTER DATABASE \"{}\" SET pilot.secret = 'on'",
            fx.target_db
        ),
    )
    .await;
}

#[tokio::test]
async fn row_values_quoted_by_errors_stay_out_of_reports_logs_and_the_control_database() {
    let fx = Fixture::new("secret_rows").await;
    indexes_that_quote_a_secret(&fx).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    let targets = serde_json::json!([{"name": "main", "url": fx.url_as_role("postgres")}]);
    let out = Command::new(env!("CARGO_BIN_EXE_index-pilot"))
        .args(["invoke", "--event", "-", "--format", "json"])
        .env("INDEX_PILOT_CONTROL_URL", fx.cluster.url(&fx.control_db))
        .env("INDEX_PILOT_TARGETS", targets.to_string())
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("RUST_LOG", "debug")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(br#"{"mode": "run"}"#)?;
            child.wait_with_output()
        })
        .expect("index-pilot runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    // Each class failed, and says so by its SQLSTATE.
    for sqlstate in ["SQLSTATE P0001", "SQLSTATE 22", "SQLSTATE 23505"] {
        assert!(stdout.contains(sqlstate), "{sqlstate}: {stdout}\n{stderr}");
    }
    // The rebuild that evaluated the noticing function succeeded, and its entry says
    // a function raised something, without the text.
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    let noticed = report["targets"][0]["reindexed"]
        .as_array()
        .and_then(|r| r.iter().find(|e| e["index"] == "public.noticed_notice"))
        .unwrap_or_else(|| panic!("noticed_notice was not rebuilt: {stdout}"));
    let codes: Vec<&str> = noticed["server_messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["code"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        codes.contains(&"00000") && codes.contains(&"01000"),
        "{noticed:#}"
    );
    assert!(!stdout.contains(SECRET), "the report quotes it:\n{stdout}");
    assert!(!stderr.contains(SECRET), "the logs quote it:\n{stderr}");

    let control = fx.control().await;
    for table in [
        "index_pilot.reindex_history",
        "index_pilot.quarantine",
        "index_pilot.target_progress",
    ] {
        let rows = control
            .query(&format!("SELECT t::text FROM {table} t"), &[])
            .await
            .unwrap();
        for row in rows {
            let text: String = row.get(0);
            assert!(!text.contains(SECRET), "{table} quotes it: {text}");
        }
    }
    let quarantined: i64 = control
        .query_one("SELECT count(*) FROM index_pilot.quarantined", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(quarantined, 3, "{stdout}");
}
