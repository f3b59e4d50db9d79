//! What a value may be: defaults, each key's parsing, and a bad row named and
//! kept to what it applies to.

use super::*;

#[test]
fn defaults_parse() {
    let rows: Vec<SettingRow> = SettingKey::ALL
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let value = key.default_value()?;
            Some(row(i as i64, Scope::default(), key.name(), value))
        })
        .collect();
    let from_rows = Settings::from_rows(&rows).unwrap();
    assert_eq!(
        from_rows.for_index(&subject("public", "t", "t_pkey")),
        IndexSettings::default()
    );
    let settings = Settings::from_rows(&[]).unwrap();
    let resolved = settings.for_index(&subject("public", "t", "t_pkey"));
    assert_eq!(resolved.index_size_threshold, 10 * 1024 * 1024);
    assert_eq!(resolved.rebuild_scale_factor, 2.0);
    assert_eq!(resolved.minimum_reliable_index_size, 128 * 1024);
    assert_eq!(resolved.lock_timeout, Duration::from_secs(60));
    assert_eq!(resolved.skip, None);
    assert_eq!(settings.history_retention(), "10 years");
}

#[test]
fn bad_rows_name_the_row() {
    let err = Settings::from_rows(&[row(3, Scope::default(), "index_size_threshold", "big")])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("setting #3 (index_size_threshold)"),
        "{err}"
    );
    let err = Settings::from_rows(&[row(4, Scope::default(), "colour", "blue")]).unwrap_err();
    assert!(err.to_string().contains("unknown key \"colour\""), "{err}");
    assert!(Settings::from_rows(&[row(
        5,
        Scope::default(),
        "index_rebuild_scale_factor",
        "0.5"
    )])
    .is_err());
    assert!(Settings::from_rows(&[row(6, Scope::default(), "lock_timeout", "0s")]).is_err());
}

#[test]
fn the_limit_per_server_is_one_number_per_server() {
    let for_target = |target: &str| Scope {
        target: Some(target.into()),
        ..Default::default()
    };
    let rows = [
        row(1, Scope::default(), "max_rebuilds_per_server", "2"),
        row(2, for_target("orders"), "max_rebuilds_per_server", "4"),
        row(3, for_target("ord*"), "max_rebuilds_per_server", "3"),
    ];
    let settings = Settings::from_rows(&rows).unwrap();
    assert_eq!(settings.max_rebuilds_per_server("orders"), 4);
    assert_eq!(settings.max_rebuilds_per_server("ordinal"), 3);
    assert_eq!(settings.max_rebuilds_per_server("billing"), 2);
    assert_eq!(
        Settings::from_rows(&[])
            .unwrap()
            .max_rebuilds_per_server("billing"),
        1
    );
    // A table, schema, database or index cannot have a limit of its own: the server
    // it shares with others has one.
    let for_table = Scope {
        table: Some("orders".into()),
        ..Default::default()
    };
    let error = Settings::from_rows(&[row(7, for_table, "max_rebuilds_per_server", "4")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "setting #7 (max_rebuilds_per_server): applies to a whole server, so it is set globally or for a target, not for a table"
    );
    let for_database = Scope {
        target: Some("orders".into()),
        database: Some("app".into()),
        ..Default::default()
    };
    assert!(Settings::from_rows(&[row(8, for_database, "max_rebuilds_per_server", "4")]).is_err());
}

#[test]
fn new_keys_parse_and_refuse_nonsense() {
    assert_eq!(
        Setting::parse(SettingKey::MaxBlockerAge, "90s"),
        Ok(Setting::MaxBlockerAge(Duration::from_secs(90)))
    );
    assert!(Setting::parse(SettingKey::MaxRebuildWait, "0s").is_err());
    assert_eq!(
        Setting::parse(SettingKey::QuarantineAfter, "5"),
        Ok(Setting::QuarantineAfter(5))
    );
    assert!(Setting::parse(SettingKey::QuarantineAfter, "0").is_err());
    assert!(Setting::parse(SettingKey::QuarantineAfter, "-1").is_err());
    assert_eq!(
        Setting::parse(SettingKey::MaintenanceWorkMem, "1GB"),
        Ok(Setting::MaintenanceWorkMem(1 << 30))
    );
    assert!(Setting::parse(SettingKey::MaintenanceWorkMem, "64kB").is_err());
    assert!(Setting::parse(SettingKey::MaxParallelMaintenanceWorkers, "two").is_err());
    assert_eq!(
        SettingKey::from_name("max_blocker_age"),
        Some(SettingKey::MaxBlockerAge)
    );
    assert!(SettingKey::known_names().contains("quarantine_after"));
    assert_eq!(
        Setting::parse(SettingKey::MaxAutomaticIndexSize, "50GB"),
        Ok(Setting::MaxAutomaticIndexSize(Some(50 << 30)))
    );
    assert_eq!(
        Setting::parse(SettingKey::MaxAutomaticIndexSize, "off"),
        Ok(Setting::MaxAutomaticIndexSize(None))
    );
    assert_eq!(
        Setting::parse(SettingKey::MaxReplicaLag, "30s"),
        Ok(Setting::MaxReplicaLag(Some(Duration::from_secs(30))))
    );
    assert_eq!(
        Setting::parse(SettingKey::MaxReplicaLag, "OFF"),
        Ok(Setting::MaxReplicaLag(None))
    );
    assert!(Setting::parse(SettingKey::MaxReplicaLag, "0s").is_err());
    assert_eq!(
        Setting::parse(SettingKey::MaxSlotRetainedWal, "20GB"),
        Ok(Setting::MaxSlotRetainedWal(Some(20 << 30)))
    );
    assert!(Setting::parse(SettingKey::MaxReplicaLagBytes, "a lot").is_err());
    assert_eq!(
        Setting::parse(SettingKey::WraparoundDangerAge, "1000000000"),
        Ok(Setting::WraparoundDangerAge(1_000_000_000))
    );
    assert!(Setting::parse(SettingKey::WraparoundDangerAge, "2147483647").is_err());
    assert!(Setting::parse(SettingKey::WraparoundDangerAge, "off").is_err());
    assert!(Setting::parse(SettingKey::MinFreeStorage, "off").is_err());
    assert!(Setting::parse(SettingKey::MaxRebuildsPerServer, "0").is_err());
    assert_eq!(
        Setting::parse(SettingKey::InitialBaseline, " Current "),
        Ok(Setting::InitialBaseline(InitialBaseline::Current))
    );
    assert!(Setting::parse(SettingKey::InitialBaseline, "guess")
        .unwrap_err()
        .contains("estimate, current or rebuild"));
    assert_eq!(
        Setting::parse(SettingKey::ConfirmSizeThreshold, "off"),
        Ok(Setting::ConfirmSizeThreshold(None))
    );
    assert_eq!(
        Setting::parse(SettingKey::ConfirmSizeThreshold, "1GB"),
        Ok(Setting::ConfirmSizeThreshold(Some(1 << 30)))
    );
    assert!(Setting::parse(SettingKey::AnalyzeBeforeRebuild, "maybe").is_err());
    assert_eq!(
        Setting::parse(SettingKey::MaxInspectSize, "1MB"),
        Ok(Setting::MaxInspectSize(1 << 20))
    );
    assert!(Setting::parse(SettingKey::MaxInspectSize, "huge").is_err());
    assert_eq!(
        Setting::parse(SettingKey::MaxInspectTime, "1ms"),
        Ok(Setting::MaxInspectTime(Duration::from_millis(1)))
    );
    assert!(Setting::parse(SettingKey::MaxInspectTime, "0s")
        .unwrap_err()
        .contains("without a time limit"));
}

/// The rebuild session sets lock_timeout (milliseconds) and maintenance_work_mem (kB)
/// with set_config: a value the server refuses (above its int4 maximum) would fail
/// every rebuild's preparation, so it is refused where it is read.
#[test]
fn values_the_rebuild_session_would_refuse_are_refused() {
    // 2147483647 ms is PostgreSQL's largest lock_timeout (24 days 20 h 31 min).
    assert!(Setting::parse(SettingKey::LockTimeout, "24d").is_ok());
    let err = Setting::parse(SettingKey::LockTimeout, "25d").unwrap_err();
    assert!(err.contains("2147483647 ms"), "{err}");
    assert!(Setting::parse(SettingKey::LockTimeout, "1000d").is_err());
    // 2147483647 kB is its largest maintenance_work_mem (2 TB less 1 kB).
    assert!(Setting::parse(SettingKey::MaintenanceWorkMem, "1TB").is_ok());
    let err = Setting::parse(SettingKey::MaintenanceWorkMem, "2TB").unwrap_err();
    assert!(err.contains("2147483647 kB"), "{err}");
    assert!(Setting::parse(SettingKey::MaintenanceWorkMem, "1023kB").is_err());
    // The cap an HNSW rebuild raises it to takes the same values.
    let cap = SettingKey::MaxRebuildMaintenanceWorkMem;
    assert!(Setting::parse(cap, "1MB").is_ok());
    assert!(Setting::parse(cap, "1TB").is_ok());
    assert!(Setting::parse(cap, "2TB").is_err());
    assert!(Setting::parse(cap, "1023kB").is_err());
    let settings = Settings::from_rows(&[row(1, Scope::default(), cap.name(), "256MB")]).unwrap();
    let resolved = settings.for_index(&subject("public", "t", "t_pkey"));
    assert_eq!(resolved.max_rebuild_maintenance_work_mem, 256 << 20);
    assert_eq!(
        IndexSettings::default().max_rebuild_maintenance_work_mem,
        1 << 30
    );
}

#[test]
fn a_bad_row_stops_only_the_target_database_or_indexes_it_applies_to() {
    let for_target = Scope {
        target: Some("orders".into()),
        ..Scope::default()
    };
    let for_database = Scope {
        target: Some("bill*".into()),
        database: Some("ledger".into()),
        schema: Some("archive".into()),
        ..Scope::default()
    };
    let settings = Settings::tolerant(&[
        row(1, Scope::default(), "index_size_threshold", "1MB"),
        row(2, for_target, "index_size_threshold", "big"),
        row(3, for_database, "skip", "maybe"),
    ]);
    assert!(settings.has_invalid_rows());
    let error = settings.invalid_for("orders", "any").expect("row 2");
    assert!(error.to_string().contains("setting #2"), "{error}");
    // Row 3 names a schema: it holds back that schema's indexes, not the database.
    assert!(settings.invalid_for("billing", "ledger").is_none());
    let archived = IndexSubject {
        target: "billing",
        database: "ledger",
        schema: "archive",
        table: "t",
        index: "i",
    };
    let held = settings.for_index(&archived);
    let (id, problem) = held.invalid_row.clone().expect("row 3");
    assert_eq!(id, 3);
    assert!(problem.contains("setting #3 (skip)"), "{problem}");
    assert_eq!(held, settings.for_index_scanning_every_rule(&archived));
    let current = IndexSubject {
        schema: "public",
        ..archived
    };
    assert_eq!(settings.for_index(&current).invalid_row, None);
    assert!(settings.invalid_for("billing", "other").is_none());
    assert!(settings.invalid_for("shop", "any").is_none());
    // The good rows still apply everywhere.
    let shop = IndexSubject {
        target: "shop",
        database: "any",
        schema: "public",
        table: "t",
        index: "i",
    };
    assert_eq!(settings.for_index(&shop).index_size_threshold, 1 << 20);
    // A global bad row reaches every database.
    let global = Settings::tolerant(&[row(4, Scope::default(), "skip", "maybe")]);
    assert!(global.invalid_for("shop", "any").is_some());
}
