use super::*;
use crate::domain::hazard::StorageMetric;

const CONTROL: Option<&str> = Some("postgresql://pilot@127.0.0.1:5432/control");

#[test]
fn good_configuration() {
    let config = Config::from_values(
        CONTROL,
        None,
        Some(r#"[{"name": "dev", "url": "postgresql://app@127.0.0.1:5433/dev"},
                 {"name": "multi", "url": "postgresql://app@127.0.0.1/x", "databases": ["a", "b"]}]"#),
    )
    .unwrap();
    assert_eq!(config.targets.len(), 2);
    let multi = config.targets[1].spec.as_ref().unwrap();
    assert_eq!(
        multi.database_names(),
        [Some("a".to_owned()), Some("b".to_owned())]
    );
    assert_eq!(config.max_hops, 50);
    assert_eq!(config.shard_size, 25);
    assert_eq!(config.max_concurrent_rebuilds, 8);
    assert_eq!(config.parallel_targets, 8);
    assert_eq!(config.fallback_budget, Duration::from_secs(600));
    assert_eq!(config.progress_interval, Duration::from_secs(30));
}

#[test]
fn progress_interval_is_a_duration() {
    let env = |value: &str| Environment {
        control_url: CONTROL.map(str::to_owned),
        targets: Some(r#"[{"name": "dev", "url": "postgresql://app@h/dev"}]"#.into()),
        progress_interval: Some(value.into()),
        ..Environment::default()
    };
    let config = Config::from_environment(&env("200ms")).unwrap();
    assert_eq!(config.progress_interval, Duration::from_millis(200));
    let error = Config::from_environment(&env("often"))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("INDEX_PILOT_PROGRESS_INTERVAL:"),
        "{error}"
    );
    assert!(error.contains("not a duration"), "{error}");
    let error = Config::from_environment(&env("10ms"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("too short"), "{error}");
}

#[test]
fn passwords_are_refused_and_never_echoed() {
    let err = Config::from_values(
        Some("postgresql://pilot:hunter2@127.0.0.1/control"),
        None,
        Some("[]"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("carries a password"));
    assert!(!err.to_string().contains("hunter2"));
    let config = Config::from_values(
        CONTROL,
        None,
        Some(r#"[{"name": "t", "url": "postgresql://app:hunter2@127.0.0.1/dev"}]"#),
    )
    .unwrap();
    let problem = config.targets[0].spec.as_ref().unwrap_err();
    assert!(problem.contains("carries a password"), "{problem}");
    assert!(!problem.contains("hunter2"));
}

#[test]
fn bad_entries_are_per_target() {
    let config = Config::from_values(
        CONTROL,
        None,
        Some(
            r#"[{"name": "ok", "url": "postgresql://app@127.0.0.1/dev"},
                 {"url": "postgresql://app@127.0.0.1/dev"},
                 {"name": "both", "url": "postgresql://a@h/d", "secret": "s"},
                 {"name": "typo", "ulr": "postgresql://a@h/d"},
                 {"name": "bad", "url": "not a url at all"},
                 "just a string"]"#,
        ),
    )
    .unwrap();
    let problems: Vec<_> = config
        .targets
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.spec.as_ref().err().cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(problems[0], ("ok", String::new()));
    assert!(
        problems[1].1.contains("missing field `name`"),
        "{problems:?}"
    );
    assert!(
        problems[2].1.contains("both url and secret"),
        "{problems:?}"
    );
    assert!(
        problems[3].1.contains("unknown field `ulr`"),
        "{problems:?}"
    );
    assert!(
        problems[4].1.contains("not a valid PostgreSQL URL"),
        "{problems:?}"
    );
    assert_eq!(problems[5].0, "#5");
}

#[test]
fn a_name_given_twice_refuses_the_configuration() {
    for targets in [
        r#"[{"name": "orders", "url": "postgresql://app@127.0.0.1/a"},
            {"name": "orders", "url": "postgresql://app@127.0.0.1/b"}]"#,
        // Also when one of the two entries is malformed.
        r#"[{"name": "orders", "url": "postgresql://app@127.0.0.1/a"},
            {"name": "orders", "ulr": "postgresql://app@127.0.0.1/b"}]"#,
    ] {
        let error = Config::from_values(CONTROL, None, Some(targets)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "INDEX_PILOT_TARGETS names target \"orders\" twice: target names must be unique"
        );
    }
}

#[test]
fn a_budget_of_zero_is_refused_in_any_unit() {
    for zero in ["0s", "0ms", "0min", "0.0h"] {
        let env = Environment {
            control_url: CONTROL.map(str::to_owned),
            targets: Some(r#"[{"name": "a", "url": "postgresql://app@h/db"}]"#.into()),
            budget: Some(zero.to_owned()),
            ..Environment::default()
        };
        let error = Config::from_environment(&env).unwrap_err().to_string();
        assert_eq!(
            error,
            format!("INDEX_PILOT_BUDGET: {zero:?} is no time at all: give a duration above zero, such as 10m")
        );
    }
}

#[test]
fn secrets_tls_and_durations() {
    let env = Environment {
        control_secret: Some("prod/index-pilot/control".into()),
        targets: Some(r#"[{"name": "a", "secret": "prod/a", "sslmode": "verify-full", "sslrootcert": "/ca.pem"},
                          {"name": "b", "url": "postgresql://app@h/db"}]"#.into()),
        budget: Some("5m".into()),
        safety_margin: Some("30s".into()),
        sslmode: Some("require".into()),
        ..Environment::default()
    };
    let config = Config::from_environment(&env).unwrap();
    assert!(
        matches!(&config.control.source, Source::Secret(id) if id == "prod/index-pilot/control")
    );
    let a = &config.targets[0].spec.as_ref().unwrap().endpoint;
    assert_eq!(a.tls.mode, SslMode::VerifyFull);
    assert_eq!(
        a.tls.root_cert.as_deref(),
        Some(std::path::Path::new("/ca.pem"))
    );
    let b = &config.targets[1].spec.as_ref().unwrap().endpoint;
    assert_eq!(b.tls.mode, SslMode::Require);
    assert_eq!(config.fallback_budget, Duration::from_secs(300));
    let bad = Environment {
        budget: Some("soon".into()),
        ..env.clone()
    };
    assert!(Config::from_environment(&bad)
        .unwrap_err()
        .to_string()
        .starts_with("INDEX_PILOT_BUDGET:"));
    let bad = Environment {
        sslmode: Some("maybe".into()),
        ..env.clone()
    };
    assert!(Config::from_environment(&bad)
        .unwrap_err()
        .to_string()
        .contains("not an sslmode"));
    let both = Environment {
        control_url: Some("postgresql://a@h/d".into()),
        ..env
    };
    assert_eq!(
        Config::from_environment(&both).unwrap_err(),
        ConfigError::TwoControlDatabases
    );
}

#[test]
fn whole_configuration_errors() {
    assert_eq!(
        Config::from_values(None, None, Some("[]")).unwrap_err(),
        ConfigError::NoControlDatabase
    );
    assert_eq!(
        Config::from_values(CONTROL, None, None).unwrap_err(),
        ConfigError::NoTargets
    );
    assert_eq!(
        Config::from_values(CONTROL, None, Some("[]")).unwrap_err(),
        ConfigError::TargetsEmpty
    );
    assert!(matches!(
        Config::from_values(CONTROL, None, Some("[{")).unwrap_err(),
        ConfigError::TargetsNotJson(_)
    ));
    assert_eq!(
        Config::from_values(CONTROL, None, Some("{}")).unwrap_err(),
        ConfigError::TargetsNotAList("an object")
    );
}

#[test]
fn an_empty_database_name_is_refused_whatever_the_login() {
    let config = Config::from_values(
        CONTROL,
        None,
        Some(
            r#"[{"name": "url", "url": "postgresql://app@h/x", "databases": ["a", ""]},
                {"name": "iam", "auth": "iam", "host": "h", "user": "u", "database": "d",
                 "databases": [""]}]"#,
        ),
    )
    .unwrap();
    let problems: Vec<&str> = config
        .targets
        .iter()
        .map(|t| t.spec.as_ref().err().map_or("", String::as_str))
        .collect();
    assert_eq!(
        problems,
        [
            "target \"url\" in INDEX_PILOT_TARGETS databases[1] is an empty name",
            "target \"iam\" in INDEX_PILOT_TARGETS databases[0] is an empty name",
        ]
    );
}

#[test]
fn free_storage_names_an_instance_and_a_metric_on_every_kind_of_entry() {
    let config = Config::from_values(
        CONTROL,
        None,
        Some(
            r#"[{"name": "url", "url": "postgresql://app@h/x",
                 "free_storage": {"instance": "orders-db-1"}},
                {"name": "secret", "secret": "prod/s",
                 "free_storage": {"instance": "aurora-w", "metric": "FreeLocalStorage", "region": "eu-west-1"}},
                {"name": "iam", "auth": "iam", "host": "h", "user": "u", "database": "d",
                 "free_storage": {"instance": "iam-db", "metric": "FreeStorageSpace"}},
                {"name": "none", "url": "postgresql://app@h/x"}]"#,
        ),
    )
    .unwrap();
    let storage: Vec<Option<InstanceStorage>> = config
        .targets
        .iter()
        .map(|t| t.spec.as_ref().unwrap().free_storage.clone())
        .collect();
    let instance = |name: &str, metric, region: Option<&str>| {
        Some(InstanceStorage {
            instance: name.to_owned(),
            metric,
            region: region.map(str::to_owned),
        })
    };
    assert_eq!(
        storage,
        [
            instance("orders-db-1", StorageMetric::FreeStorageSpace, None),
            instance(
                "aurora-w",
                StorageMetric::FreeLocalStorage,
                Some("eu-west-1")
            ),
            instance("iam-db", StorageMetric::FreeStorageSpace, None),
            None,
        ]
    );
}

#[test]
fn a_bad_free_storage_is_an_error_naming_the_target_and_the_field() {
    let entry = |name: &str, free_storage: &str| {
        format!(
            r#"{{"name": "{name}", "url": "postgresql://app@h/x", "free_storage": {free_storage}}}"#
        )
    };
    let targets = [
        entry("metric", r#"{"instance": "db-1", "metric": "FreeSpace"}"#),
        entry("empty", r#"{"instance": " "}"#),
        entry("missing", r#"{"metric": "FreeLocalStorage"}"#),
        entry("unknown", r#"{"instance": "db-1", "namespace": "AWS/RDS"}"#),
        entry("region", r#"{"instance": "db-1", "region": ""}"#),
        entry("string", r#""db-1""#),
    ];
    let config =
        Config::from_values(CONTROL, None, Some(&format!("[{}]", targets.join(",")))).unwrap();
    let problems: Vec<&str> = config
        .targets
        .iter()
        .map(|t| t.spec.as_ref().err().map_or("", String::as_str))
        .collect();
    assert_eq!(
        problems[..5],
        [
            "target \"metric\" in INDEX_PILOT_TARGETS has a free_storage whose metric \"FreeSpace\" is not FreeStorageSpace or FreeLocalStorage",
            "target \"empty\" in INDEX_PILOT_TARGETS has a free_storage with an empty instance",
            "target \"missing\" in INDEX_PILOT_TARGETS has a free_storage without instance (the DB instance identifier whose free storage is read)",
            "target \"unknown\" in INDEX_PILOT_TARGETS has a free_storage that is not valid: unknown field `namespace`, expected one of `instance`, `metric`, `region`",
            "target \"region\" in INDEX_PILOT_TARGETS has a free_storage with an empty region (leave it out to use AWS_REGION)",
        ]
    );
    assert!(
        problems[5].starts_with(
            "target \"string\" in INDEX_PILOT_TARGETS has a free_storage that is not valid: invalid type: string \"db-1\", expected an object"
        ),
        "{}",
        problems[5]
    );
}

#[test]
fn an_order_reaches_one_database_of_its_target() {
    let config = Config::from_values(
        CONTROL,
        None,
        Some(
            r#"[{"name": "own", "url": "postgresql://app@127.0.0.1/x"},
                 {"name": "one", "url": "postgresql://app@127.0.0.1/x", "databases": ["a"]},
                 {"name": "two", "url": "postgresql://app@127.0.0.1/x", "databases": ["a", "b"]}]"#,
        ),
    )
    .unwrap();
    let spec = |i: usize| config.targets[i].spec.as_ref().unwrap();
    assert_eq!(spec(0).database_of_order(None), Ok(None));
    assert_eq!(
        spec(0).database_of_order(Some("a")),
        Err(DatabaseChoiceError::NoList)
    );
    assert_eq!(spec(1).database_of_order(None), Ok(Some("a".to_owned())));
    let ambiguous = spec(2).database_of_order(None).unwrap_err();
    assert_eq!(
        ambiguous.to_string(),
        "the target lists several databases (a, b): name one with \"database\""
    );
    assert_eq!(
        spec(2).database_of_order(Some("b")),
        Ok(Some("b".to_owned()))
    );
    assert!(spec(2)
        .database_of_order(Some("c"))
        .unwrap_err()
        .to_string()
        .contains("lists no database \"c\" (it lists a, b)"));
}
