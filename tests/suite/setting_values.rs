//! Setting values are checked when they are inserted into `index_pilot.settings`, as
//! keys are: the control database's check and index-pilot's parser (the source of
//! truth) agree on every key and a table of sample values.

use common::Fixture;
use index_pilot::control::ControlStore;
use index_pilot::domain::settings::{Scope, SettingKey, SettingRow, Settings};

const SAMPLES: &[&str] = &[
    "",
    " ",
    "0",
    "1",
    "+5",
    "-1",
    "2",
    "1.5",
    "0.5",
    "1e1",
    "2.",
    ".5",
    "inf",
    "nan",
    "64",
    "65",
    "1000",
    "1001",
    "1024",
    "1025",
    "2000000000",
    "2000000001",
    "99999999999",
    "true",
    "FALSE",
    "on",
    "Off",
    "yes",
    "no",
    "maybe",
    "none",
    "off ",
    "estimate",
    "Current",
    "rebuild",
    "guess",
    "10MB",
    "10 mb",
    "128kB",
    "1023kB",
    "1MB",
    "1.5GB",
    "1TB",
    "2TB",
    "4096",
    "1 bytes",
    "10 parsecs",
    "5.5.5MB",
    "big",
    "90s",
    "0s",
    "0ms",
    "250ms",
    "10min",
    "10m",
    "2h",
    "1d",
    "24d",
    "25d",
    "3 days",
    "1 second",
    "10",
    "soon",
    "10 years",
    "1 year",
    " 7 days ",
];

fn rust_accepts(key: &str, value: &str) -> bool {
    let row = SettingRow {
        id: 1,
        scope: Scope::default(),
        key: key.to_owned(),
        value: value.to_owned(),
    };
    Settings::from_rows(&[row]).is_ok()
}

#[tokio::test]
async fn the_control_database_refuses_what_index_pilot_refuses() {
    let fx = Fixture::bare("setting_values").await;
    ControlStore::open(&fx.control_config(), &fx.app.config.control.tls)
        .await
        .expect("control schema");
    let control = fx.control().await;
    let mut disagreements = Vec::new();
    for key in SettingKey::ALL.iter().map(|k| k.name()) {
        for value in SAMPLES {
            let problem: Option<String> = control
                .query_one(
                    "SELECT index_pilot.setting_value_problem($1, $2)",
                    &[&key, value],
                )
                .await
                .unwrap_or_else(|e| panic!("{key} = {value:?}: {e}"))
                .get(0);
            if problem.is_none() != rust_accepts(key, value) {
                disagreements.push(format!("{key} = {value:?}: SQL says {problem:?}"));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");

    // The constraint itself: a bad value is refused with the row's check.
    let refused = control
        .execute(
            "INSERT INTO index_pilot.settings (key, value) VALUES ('index_size_threshold', 'big')",
            &[],
        )
        .await
        .expect_err("a bad size");
    assert_eq!(
        refused.code().map(|c| c.code()),
        Some("23514"),
        "{refused:?}"
    );
    assert!(format!("{refused:?}").contains("settings_value_check"));
    control
        .execute(
            "INSERT INTO index_pilot.settings (key, value) VALUES ('index_size_threshold', '20MB')",
            &[],
        )
        .await
        .expect("a good size");
}
