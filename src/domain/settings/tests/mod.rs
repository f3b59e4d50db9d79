use super::keys::Setting;
use super::*;
use crate::domain::baseline::InitialBaseline;
use std::time::Duration;

mod precedence;
mod values;

fn row(id: i64, scope: Scope, key: &str, value: &str) -> SettingRow {
    SettingRow {
        id,
        scope,
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn subject<'a>(schema: &'a str, table: &'a str, index: &'a str) -> IndexSubject<'a> {
    IndexSubject {
        target: "orders",
        database: "app",
        schema,
        table,
        index,
    }
}
