//! Preflight: mode `check` and the start of `dry_run` look at each target's setup
//! (login, rights on the tables, pg_read_all_stats, pgstattuple, the rows that name
//! it) and change nothing. The refused login of a wrong password is in
//! tests/password_file.rs: it sets PGPASSFILE for the whole process.

use common::recorded::{recorded, Table::IndexState};
use common::steps::{batch, finding_kinds};
use common::{json, Fixture};
use serde_json::json;
use tokio_postgres::Row;

/// The usual RDS mistake: a role that owns none of the tables, without
/// pg_read_all_stats, in a database without pgstattuple; and rows of the control
/// database that name a target, a database and a schema that do not exist.
#[tokio::test]
async fn check_and_dry_run_say_what_the_role_lacks_and_which_rows_name_nothing() {
    let fx = Fixture::new("preflight_lacks").await;
    fx.create_table("owned", 100_000).await;
    batch(
        &fx.target().await,
        "CREATE ROLE pf_lowly LOGIN; CREATE ROLE pf_owner; ALTER TABLE owned OWNER TO pf_owner;",
    )
    .await;
    let lowly = fx.url_as_role("pf_lowly");
    let fx = fx.with_targets(json!([{"name": "main", "url": lowly}]));
    fx.set(&[], "index_size_threshold", "1MB").await;
    batch(
        &fx.control().await,
        "INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at)
             VALUES ('mian', '01:00', '02:00');
         INSERT INTO index_pilot.settings (target, schema_name, key, value)
             VALUES ('main', 'pubic', 'skip', 'true');
         INSERT INTO index_pilot.settings (target, database_name, key, value)
             VALUES ('main', 'nope', 'skip', 'true');
         INSERT INTO index_pilot.settings (target, schema_name, table_name, key, value)
             VALUES ('main', 'public', 'own*', 'index_rebuild_scale_factor', '3');
         INSERT INTO index_pilot.settings (target, schema_name, table_name, key, value)
             VALUES ('main', 'public', 'ownd', 'skip', 'true');
         INSERT INTO index_pilot.settings (target, key, value)
             VALUES ('mainn', 'skip', 'true');
         INSERT INTO index_pilot.settings (schema_name, key, value)
             VALUES ('archiv', 'skip', 'true'), ('public', 'quarantine_after', '5');",
    )
    .await;
    let ids = |sql: &str| {
        let sql = sql.to_owned();
        let fx = &fx;
        async move {
            let row = fx.control().await.query_one(&sql, &[]).await.unwrap();
            row.get::<_, i64>(0)
        }
    };
    let schema_row = ids("SELECT id FROM index_pilot.settings WHERE schema_name = 'pubic'").await;
    let database_row =
        ids("SELECT id FROM index_pilot.settings WHERE database_name = 'nope'").await;

    let report = json(&fx.invoke(json!({"mode": "check"})).await);
    let main = &report["targets"][0];
    assert_eq!(main["status"], "error", "{main}");
    assert_eq!(main["preflight"]["role"], "pf_lowly");
    assert_eq!(
        finding_kinds(main),
        [
            "no_rebuild_right",
            "no_read_all_stats",
            "pgstattuple",
            "names_nothing",
            "names_nothing",
            "names_nothing"
        ],
        "{main}"
    );
    let findings = &main["preflight"]["findings"];
    assert_eq!(findings[0]["severity"], "blocking");
    assert_eq!(findings[0]["examples"], json!(["public.owned"]));
    let grant = findings[0]["grant"].as_str().unwrap().to_owned();
    let major: u32 = main["server_version"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let expected = if major >= 17 {
        "GRANT pg_maintain TO pf_lowly"
    } else {
        "GRANT pf_owner TO pf_lowly"
    };
    assert!(grant.starts_with(expected), "{grant}");
    assert_eq!(findings[2]["access"], "not_installed");
    assert_eq!(
        (
            &findings[3]["id"],
            &findings[3]["field"],
            &findings[3]["name"]
        ),
        (&json!(database_row), &json!("database"), &json!("nope"))
    );
    assert_eq!(
        (
            &findings[4]["id"],
            &findings[4]["field"],
            &findings[4]["name"]
        ),
        (&json!(schema_row), &json!("schema"), &json!("pubic"))
    );
    assert_eq!(
        (&findings[5]["field"], &findings[5]["name"]),
        (&json!("table"), &json!("ownd"))
    );
    // The misspelled targets: the window restricts nothing, the setting changes
    // nothing, and the report says so.
    let configuration = &report["configuration"];
    assert_eq!(configuration[0]["row"], "setting", "{report}");
    assert_eq!(configuration[0]["name"], "mainn");
    assert_eq!(configuration[1]["row"], "maintenance_window", "{report}");
    assert_eq!(configuration[1]["name"], "mian");
    // A row for any target whose schema no database has.
    assert_eq!(
        (&configuration[2]["field"], &configuration[2]["name"]),
        (&json!("schema"), &json!("archiv")),
        "{report}"
    );
    assert_eq!(configuration.as_array().unwrap().len(), 3, "{report}");
    assert_eq!(main["scanned"], 0, "check scans nothing");

    // A dry run no longer offers to rebuild what this role may not rebuild.
    let report = json(&fx.invoke(json!({"mode": "dry_run"})).await);
    let main = &report["targets"][0];
    assert_eq!(main["plan"], json!([]), "{main}");
    let deferred = &main["deferred"][0];
    assert_eq!(deferred["index"], "public.owned_id", "{main}");
    assert_eq!(deferred["kind"], "permission");
    assert!(
        deferred["reason"]
            .as_str()
            .unwrap()
            .contains("role pf_lowly may not rebuild it"),
        "{deferred}"
    );
    assert_eq!(main["status"], "error");
    assert_eq!(finding_kinds(main)[0], "no_rebuild_right");

    // The grant the finding gives is the one that fixes it.
    batch(&fx.target().await, expected).await;
    let report = json(&fx.invoke(json!({"mode": "dry_run"})).await);
    let main = &report["targets"][0];
    assert_eq!(main["status"], "ok", "{main}");
    assert_eq!(main["plan"][0]["index"], "public.owned_id", "{main}");
    assert!(
        !finding_kinds(main).contains(&"no_rebuild_right".to_owned()),
        "{main}"
    );
}

/// A role that owns the tables (here the superuser), pgstattuple installed: nothing
/// to report, and a check writes nothing to the target.
#[tokio::test]
async fn a_well_set_up_target_checks_clean_and_unchanged() {
    let fx = Fixture::new("preflight_clean").await;
    fx.create_table("mine", 10_000).await;
    batch(&fx.target().await, "CREATE EXTENSION pgstattuple;").await;
    let writes =
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int8 FROM pg_stat_user_tables";
    let before: i64 = fx
        .target()
        .await
        .query_one(writes, &[])
        .await
        .unwrap()
        .get(0);
    let report = json(&fx.invoke(json!({"mode": "check"})).await);
    let main = &report["targets"][0];
    assert_eq!(main["status"], "ok", "{main}");
    assert_eq!(main["preflight"]["findings"], json!([]), "{main}");
    assert_eq!(main["preflight"]["role"], "postgres");
    let after: i64 = fx
        .target()
        .await
        .query_one(writes, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after);
    let states: i64 = recorded::<Row>(&fx.control().await, IndexState, "count(*)", "", &[])
        .await
        .get(0);
    assert_eq!(states, 0, "check writes nothing to the control database");
}

/// A settings row or a window that cannot be read stops what it applies to and
/// nothing else: a row for target `other` does not stop `main`, and a row naming a
/// table of `main` holds back that table's indexes only.
#[tokio::test]
async fn a_bad_row_stops_only_what_it_applies_to() {
    let fx = Fixture::new("preflight_bad_rows").await;
    fx.create_table("kept", 100_000).await;
    fx.create_table("held", 100_000).await;
    let url = fx.url_as_role("postgres");
    let fx = fx.with_targets(json!([
        {"name": "main", "url": url},
        {"name": "other", "url": url},
        {"name": "third", "url": url}
    ]));
    fx.set(&[], "index_size_threshold", "1MB").await;
    let control = fx.control().await;
    // A row stored before values were checked where they are inserted.
    batch(
        &control,
        "ALTER TABLE index_pilot.settings DROP CONSTRAINT IF EXISTS settings_value_check;
         INSERT INTO index_pilot.settings (target, key, value)
             VALUES ('other', 'index_size_threshold', 'big');
         INSERT INTO index_pilot.settings (target, table_name, key, value)
             VALUES ('main', 'held', 'lock_timeout', 'soon');
         INSERT INTO index_pilot.maintenance_windows (target, starts_at, ends_at, time_zone)
             VALUES ('third', '01:00', '02:00', 'Mars/Olympus');",
    )
    .await;
    let report = json(&fx.invoke(json!({"mode": "dry_run"})).await);
    let by_name = |name: &str| {
        report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    let main = by_name("main");
    assert_eq!(main["status"], "ok", "{main}");
    assert_eq!(main["plan"].as_array().unwrap().len(), 1, "{main}");
    assert_eq!(main["plan"][0]["index"], "public.kept_id", "{main}");
    // The table's own index and its TOAST index (whose settings are its table's).
    let deferred = main["deferred"].as_array().unwrap();
    assert!(
        deferred.iter().all(|d| d["kind"] == "configuration"),
        "{main}"
    );
    let held = deferred
        .iter()
        .find(|d| d["index"] == "public.held_id")
        .expect("held_id deferred");
    assert!(
        held["reason"].as_str().unwrap().contains("\"soon\""),
        "{held}"
    );
    let other = by_name("other");
    assert_eq!(other["status"], "error");
    let reason = other["reason"].as_str().unwrap();
    assert!(
        reason.contains("index_pilot.settings: setting #") && reason.contains("\"big\""),
        "{reason}"
    );
    let third = by_name("third");
    assert_eq!(third["status"], "error");
    assert!(
        third["reason"].as_str().unwrap().contains("Mars/Olympus"),
        "{third}"
    );
    assert_eq!(third["plan"], json!([]));
}
