//! Which row applies: the most specific level wins, then literal over wildcard;
//! built-in skips and global-only keys.

use super::*;

#[test]
fn most_specific_level_wins() {
    let rows = [
        row(1, Scope::default(), "index_size_threshold", "1MB"),
        row(
            2,
            Scope {
                database: Some("app".into()),
                ..Default::default()
            },
            "index_size_threshold",
            "2MB",
        ),
        row(
            3,
            Scope {
                schema: Some("sales".into()),
                ..Default::default()
            },
            "index_size_threshold",
            "3MB",
        ),
        row(
            4,
            Scope {
                schema: Some("sales".into()),
                table: Some("orders".into()),
                ..Default::default()
            },
            "index_size_threshold",
            "4MB",
        ),
        row(
            5,
            Scope {
                index: Some("orders_pkey".into()),
                ..Default::default()
            },
            "index_size_threshold",
            "5MB",
        ),
    ];
    let s = Settings::from_rows(&rows).unwrap();
    let mb = |n: u64| n * 1024 * 1024;
    assert_eq!(
        s.for_index(&subject("sales", "orders", "orders_pkey"))
            .index_size_threshold,
        mb(5)
    );
    assert_eq!(
        s.for_index(&subject("sales", "orders", "orders_x"))
            .index_size_threshold,
        mb(4)
    );
    assert_eq!(
        s.for_index(&subject("sales", "items", "items_x"))
            .index_size_threshold,
        mb(3)
    );
    assert_eq!(
        s.for_index(&subject("public", "items", "items_x"))
            .index_size_threshold,
        mb(2)
    );
    let other_db = IndexSubject {
        database: "other",
        ..subject("public", "t", "i")
    };
    assert_eq!(s.for_index(&other_db).index_size_threshold, mb(1));
}

#[test]
fn wildcards_and_literal_tie_break() {
    let rows = [
        row(
            1,
            Scope {
                table: Some("*".into()),
                ..Default::default()
            },
            "index_rebuild_scale_factor",
            "3",
        ),
        row(
            2,
            Scope {
                table: Some("order?_*".into()),
                ..Default::default()
            },
            "index_rebuild_scale_factor",
            "4",
        ),
    ];
    let s = Settings::from_rows(&rows).unwrap();
    assert_eq!(
        s.for_index(&subject("public", "orders_2024", "i"))
            .rebuild_scale_factor,
        4.0
    );
    assert_eq!(
        s.for_index(&subject("public", "order_2024", "i"))
            .rebuild_scale_factor,
        3.0
    );
}

#[test]
fn target_pattern_is_database_level() {
    let rows = [row(
        7,
        Scope {
            target: Some("ord*".into()),
            ..Default::default()
        },
        "skip",
        "true",
    )];
    let s = Settings::from_rows(&rows).unwrap();
    assert_eq!(
        s.for_index(&subject("public", "t", "i")).skip,
        Some(Origin::Row(7))
    );
    let other = IndexSubject {
        target: "billing",
        ..subject("public", "t", "i")
    };
    assert_eq!(s.for_index(&other).skip, None);
}

#[test]
fn built_in_skips_and_their_override() {
    let s = Settings::from_rows(&[]).unwrap();
    assert!(s.for_index(&subject("repack", "log_1", "i")).skip.is_some());
    assert!(s
        .for_index(&subject("pgq", "event_1_0", "i"))
        .skip
        .is_some());
    assert!(s.for_index(&subject("pgq", "queue", "i")).skip.is_none());
    let rows = [row(
        9,
        Scope {
            schema: Some("repack".into()),
            ..Default::default()
        },
        "skip",
        "false",
    )];
    let s = Settings::from_rows(&rows).unwrap();
    assert!(s.for_index(&subject("repack", "log_1", "i")).skip.is_none());
}

#[test]
fn global_retention_ignores_scoped_rows() {
    let rows = [
        row(
            1,
            Scope::default(),
            "reindex_history_retention_period",
            "90 days",
        ),
        row(
            2,
            Scope {
                schema: Some("x".into()),
                ..Default::default()
            },
            "reindex_history_retention_period",
            "1 day",
        ),
    ];
    assert_eq!(
        Settings::from_rows(&rows).unwrap().history_retention(),
        "90 days"
    );
}

mod compiled_matches_scanning {
    use super::*;
    use proptest::prelude::*;

    /// Few characters (one of them two bytes long), so that rules and names collide
    /// often; `*` and `?` also in names, which PostgreSQL allows (`"order?_*"`).
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[abé*?]{0,4}",
            1 => prop::sample::select(vec!["repack", "pgq", "event_1", "event_*", "a"])
                .prop_map(str::to_owned),
        ]
    }

    fn scope() -> impl Strategy<Value = Scope> {
        [(); 5]
            .map(|_| prop::option::weighted(0.4, name()))
            .prop_map(|[target, database, schema, table, index]| Scope {
                target,
                database,
                schema,
                table,
                index,
            })
    }

    /// Valid values only: resolution is what is compared, not parsing.
    fn setting() -> impl Strategy<Value = (&'static str, &'static str)> {
        prop::sample::select(vec![
            ("skip", "true"),
            ("skip", "false"),
            ("index_size_threshold", "1MB"),
            ("index_size_threshold", "2MB"),
            ("index_rebuild_scale_factor", "3"),
            ("lock_timeout", "10s"),
            ("reindex_history_retention_period", "1 day"),
        ])
    }

    /// Row ids from a small range: equal ids make rules of equal rank, which the
    /// first row wins.
    fn rows() -> impl Strategy<Value = Vec<SettingRow>> {
        prop::collection::vec((0i64..8, scope(), setting()), 0..40).prop_map(|rows| {
            rows.into_iter()
                .map(|(id, scope, (key, value))| row(id, scope, key, value))
                .collect()
        })
    }

    fn names() -> impl Strategy<Value = [String; 5]> {
        [(); 5].map(|_| name())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn same_settings_for_every_index(rows in rows(), subjects in prop::collection::vec(names(), 1..20)) {
            let settings = Settings::from_rows(&rows).unwrap();
            for [target, database, schema, table, index] in &subjects {
                let subject = IndexSubject { target, database, schema, table, index };
                prop_assert_eq!(
                    settings.for_index(&subject),
                    settings.for_index_scanning_every_rule(&subject),
                    "{:?}", subject
                );
            }
        }
    }
}
