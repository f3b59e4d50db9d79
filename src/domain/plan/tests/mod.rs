use super::*;
use crate::domain::eligibility::tests::btree;
use crate::domain::eligibility::ServerVersion;
use crate::domain::settings::Settings;
use crate::domain::settings::{Scope, SettingRow};
use crate::domain::stored::StoredStates;
use std::collections::{HashMap, HashSet};

mod judgement;
mod modes;
mod unknown;

const MB: u64 = 1 << 20;
const PG15: ServerVersion = ServerVersion(150004);
const HERE: Location<'static> = Location {
    target: "orders",
    database: "app",
};

/// What the control database holds (the database's first scan: never scanned), and
/// the quarantined indexes.
type Stored = (StoredStates, HashSet<u32>);

fn stored_with(baselines: HashMap<u32, f64>, quarantined: HashSet<u32>) -> Stored {
    let digests = baselines.keys().map(|oid| (*oid, None)).collect();
    let stored = StoredStates {
        baselines,
        digests,
        ..StoredStates::default()
    };
    (stored, quarantined)
}

fn nothing_known() -> Stored {
    stored_with(HashMap::new(), HashSet::new())
}

fn known(stored: &Stored) -> Known<'_> {
    Known {
        stored: &stored.0,
        quarantined: &stored.1,
    }
}

fn run() -> Selection<'static> {
    Selection {
        mode: Mode::Run,
        only: None,
        force: false,
        reseed: false,
    }
}

fn with_oid(oid: u32, mut index: IndexInfo) -> IndexInfo {
    index.oid = oid;
    index
}

fn policy(value: &str) -> Settings {
    Settings::from_rows(&[SettingRow {
        id: 1,
        scope: Scope::default(),
        key: "initial_baseline".into(),
        value: value.into(),
    }])
    .unwrap()
}
