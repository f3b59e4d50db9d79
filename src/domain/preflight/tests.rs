use super::rows::like_pattern;
use super::*;
use crate::domain::settings::{Scope, SettingRow};
use crate::domain::window::WindowRow;

fn facts() -> Facts {
    Facts {
        role: "pilot".to_owned(),
        server: ServerVersion(150004),
        in_recovery: false,
        read_all_stats: true,
        pgstattuple: PgstattupleAccess::Usable,
        tables: 3,
        not_rebuildable: Vec::new(),
        owners: Vec::new(),
        unmatched: Vec::new(),
        any_target: Vec::new(),
        pgvector: None,
    }
}

fn kinds(preflight: &Preflight) -> Vec<(Severity, &Finding)> {
    preflight
        .findings
        .iter()
        .map(|c| (c.severity, &c.finding))
        .collect()
}

#[test]
fn a_well_set_up_target_has_nothing_to_say() {
    let preflight = judge(&facts());
    assert_eq!(preflight.role.as_deref(), Some("pilot"));
    assert!(preflight.findings.is_empty());
    assert!(preflight.blocking().is_none());
}

#[test]
fn no_right_on_any_table_blocks_and_says_what_to_grant() {
    let mut f = facts();
    f.not_rebuildable = vec!["public.a".into(), "public.b".into(), "public.c".into()];
    f.owners = vec!["app_owner".into()];
    let preflight = judge(&f);
    let blocking = preflight.blocking().expect("blocking");
    assert!(
        blocking
            .message
            .contains("3 of 3 tables (public.a, public.b, public.c)"),
        "{}",
        blocking.message
    );
    assert!(blocking.message.contains("GRANT app_owner TO pilot"));
    // On 17+ the role pg_maintain is the simplest grant.
    f.server = ServerVersion(170002);
    assert!(judge(&f).findings[0]
        .message
        .contains("GRANT pg_maintain TO pilot"));
}

#[test]
fn no_right_on_some_tables_is_a_warning_naming_a_few() {
    let mut f = facts();
    f.tables = 40;
    f.not_rebuildable = (0..7).map(|i| format!("public.t{i}")).collect();
    f.owners = vec!["a".into(), "b".into()];
    let preflight = judge(&f);
    assert!(preflight.blocking().is_none());
    let Finding::NoRebuildRight {
        cannot, examples, ..
    } = &preflight.findings[0].finding
    else {
        panic!("{preflight:?}")
    };
    assert_eq!((*cannot, examples.len()), (7, 5));
    assert!(preflight.findings[0].message.contains("public.t4, …"));
    assert!(preflight.findings[0]
        .message
        .contains("GRANT a, b TO pilot"));
}

#[test]
fn version_standby_stats_and_pgstattuple() {
    let mut f = facts();
    f.server = ServerVersion(140003);
    f.in_recovery = true;
    f.read_all_stats = false;
    f.pgstattuple = PgstattupleAccess::NotInstalled;
    let preflight = judge(&f);
    let found = kinds(&preflight);
    assert!(matches!(
        found[0],
        (Severity::Blocking, Finding::ServerRefused { .. })
    ));
    assert!(preflight.findings[0].message.contains("17485"));
    assert_eq!(found[1], (Severity::Blocking, &Finding::Standby));
    assert!(matches!(
        found[2],
        (Severity::Warning, Finding::NoReadAllStats { .. })
    ));
    assert!(preflight.findings[2]
        .message
        .contains("GRANT pg_read_all_stats TO pilot"));
    assert!(preflight.findings[3]
        .message
        .contains("CREATE EXTENSION pgstattuple"));
    f.pgstattuple = PgstattupleAccess::NotGranted;
    assert!(judge(&f).findings[3]
        .message
        .contains("GRANT pg_stat_scan_tables TO pilot"));
}

#[test]
fn an_unreachable_target_says_whether_the_login_was_refused() {
    let refused = Preflight::unreachable(true, "password authentication failed".into());
    assert!(matches!(
        refused.blocking().unwrap().finding,
        Finding::LoginRefused { .. }
    ));
    let json = serde_json::to_value(&refused).unwrap();
    assert_eq!(json["findings"][0]["kind"], "login_refused");
    assert_eq!(json["findings"][0]["severity"], "blocking");
    let down = Preflight::unreachable(false, "connection refused".into());
    assert!(matches!(
        down.findings[0].finding,
        Finding::CannotConnect { .. }
    ));
}

fn setting(
    id: i64,
    target: Option<&str>,
    database: Option<&str>,
    schema: Option<&str>,
) -> SettingRow {
    SettingRow {
        id,
        scope: Scope {
            target: target.map(Into::into),
            database: database.map(Into::into),
            schema: schema.map(Into::into),
            ..Scope::default()
        },
        key: "skip".into(),
        value: "true".into(),
    }
}

fn window(id: i64, target: &str, database: Option<&str>) -> WindowRow {
    WindowRow {
        id,
        target: target.into(),
        database: database.map(Into::into),
        days: "mon-sun".into(),
        starts_at: 0,
        ends_at: 3600,
        time_zone: "UTC".into(),
        comment: None,
    }
}

#[test]
fn rows_naming_no_configured_target() {
    let settings = [
        setting(1, Some("orders"), None, None),
        setting(2, Some("ordres"), None, None),
        setting(3, None, None, Some("archive")),
        setting(4, Some("ord*"), None, None),
    ];
    let windows = [window(5, "order", None), window(6, "*", None)];
    let found = naming_no_target(&settings, &windows, &["orders", "billing"]);
    let ids: Vec<(RowKind, i64, &str)> = found
        .iter()
        .map(|r| (r.row, r.id, r.name.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (RowKind::Setting, 2, "ordres"),
            (RowKind::Window, 5, "order")
        ]
    );
    let message = Finding::NamesNothing(found[1].clone()).describe();
    assert!(
        message.contains("maintenance window #5 names target \"order\""),
        "{message}"
    );
}

#[test]
fn rows_naming_a_database_the_target_does_not_visit() {
    let settings = [
        setting(1, Some("orders"), Some("sales"), None),
        setting(2, Some("orders"), Some("sale"), None),
        setting(3, None, Some("nowhere"), None),
        setting(4, Some("billing"), Some("nowhere"), None),
    ];
    let windows = [
        window(5, "orders", Some("reprots")),
        window(6, "orders", Some("reports")),
        // Not a pattern in a window: it names no database.
        window(7, "orders", Some("rep*")),
    ];
    let found = naming_no_database(&settings, &windows, "orders", &["sales", "reports"]);
    let ids: Vec<i64> = found.iter().map(|r| r.id).collect();
    assert_eq!(ids, [2, 5, 7]);
    assert!(found.iter().all(|r| r.field == "database"));
}

#[test]
fn objects_are_looked_for_where_the_row_names_its_target() {
    let mut by_table = setting(3, Some("orders"), None, Some("public"));
    by_table.scope.table = Some("audit_*".into());
    let settings = [
        setting(1, Some("orders"), None, Some("archiv")),
        setting(2, None, None, Some("archiv")),
        by_table,
        setting(4, Some("orders"), Some("other"), Some("x")),
        setting(5, Some("orders"), None, None),
    ];
    let lookups = ObjectLookup::for_database(&settings, "orders", "sales", true);
    assert_eq!(lookups.iter().map(|l| l.id).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(lookups[1].field, "table");
    assert_eq!(lookups[1].table.as_deref(), Some("audit\\_%"));
    assert_eq!(lookups[1].unmatched().name, "audit_*");
    // A target of several databases: only the rows that name this one.
    assert!(ObjectLookup::for_database(&settings, "orders", "sales", false).is_empty());
}

#[test]
fn like_patterns_keep_names_literal() {
    assert_eq!(like_pattern("orders_2*"), "orders\\_2%");
    assert_eq!(like_pattern("t?"), "t_");
    assert_eq!(like_pattern("100%\\"), "100\\%\\\\");
}

#[test]
fn a_row_for_any_target_names_nothing_only_if_no_database_has_it() {
    let settings = [
        setting(1, None, None, Some("archiv")),
        setting(2, None, Some("sales"), Some("public")),
        setting(3, None, Some("other"), Some("public")),
        setting(4, Some("orders"), None, Some("public")),
    ];
    let lookups = ObjectLookup::for_any_target(&settings, "sales");
    assert_eq!(lookups.iter().map(|l| l.id).collect::<Vec<_>>(), [1, 2]);
    let row = |id| lookups.iter().find(|l| l.id == id).unwrap().unmatched();
    // Row 1 matched in no database, row 2 in one of two.
    let seen = [
        (row(1), false),
        (row(2), false),
        (row(1), false),
        (row(2), true),
    ];
    let nowhere = matched_nowhere(&seen);
    assert_eq!(nowhere.len(), 1);
    assert_eq!((nowhere[0].id, nowhere[0].field), (1, "schema"));
}

#[test]
fn a_pgvector_with_known_index_bugs_is_a_warning_naming_the_fix() {
    let mut f = facts();
    f.pgvector = Some("0.8.2".into());
    let preflight = judge(&f);
    assert!(preflight.blocking().is_none());
    let fixed: Vec<&str> = preflight
        .findings
        .iter()
        .filter_map(|c| match &c.finding {
            Finding::Pgvector { fixed_in, .. } if c.severity == Severity::Warning => {
                Some(fixed_in.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(fixed, ["0.8.3", "0.8.4"]);
    assert!(preflight.findings[0].message.contains("pgvector 0.8.2"));
    let json = serde_json::to_value(&preflight.findings[0]).unwrap();
    assert_eq!(json["kind"], "pgvector");
    assert_eq!(json["fixed_in"], "0.8.3");
    f.pgvector = Some("0.8.4".into());
    assert!(judge(&f).findings.is_empty());
}
