//! Wraparound and vacuum, judged before a rebuild. `REINDEX CONCURRENTLY` takes SHARE
//! UPDATE EXCLUSIVE on its table: it cancels a regular autovacuum of that table, or
//! waits behind an anti-wraparound one for as long as that takes; and while it runs
//! it holds back the xmin horizon, so no vacuum of the database can freeze past it.

use serde::Serialize;

use super::Hazard;

/// How old a table's and its database's oldest unfrozen ids are, and when
/// autovacuum must freeze the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ages {
    /// `age(relfrozenxid)` of the table the index belongs to.
    pub table_xid_age: i64,
    /// `mxid_age(relminmxid)`.
    pub(crate) table_mxid_age: i64,
    /// The effective `autovacuum_freeze_max_age`: the table's own (reloptions) when it
    /// is lower, else the server's.
    pub(crate) freeze_max_age: i64,
    /// The effective `autovacuum_multixact_freeze_max_age`.
    pub(crate) multixact_freeze_max_age: i64,
    /// `age(datfrozenxid)` and `mxid_age(datminmxid)` of the database.
    pub(crate) database_xid_age: i64,
    pub(crate) database_mxid_age: i64,
}

/// A vacuum processing a table (`pg_stat_progress_vacuum`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vacuum {
    pub pid: i32,
    pub(crate) phase: Option<String>,
    /// Started by autovacuum rather than by someone's VACUUM.
    pub(crate) autovacuum: bool,
}

impl Vacuum {
    pub(super) fn describe(&self) -> String {
        let who = if self.autovacuum {
            "an autovacuum"
        } else {
            "a VACUUM"
        };
        match &self.phase {
            Some(phase) => format!("{who} (pid {}, {phase})", self.pid),
            None => format!("{who} (pid {})", self.pid),
        }
    }
}

impl Ages {
    /// Past the danger age, nothing starts in the database: a rebuild would hold back
    /// the freezing it needs.
    pub(crate) fn database_hazard(&self, database: &str, danger_age: u32) -> Option<Hazard> {
        let danger = i64::from(danger_age);
        (self.database_xid_age >= danger || self.database_mxid_age >= danger).then(|| {
            Hazard::DatabaseWraparound {
                database: database.to_owned(),
                xid_age: self.database_xid_age,
                mxid_age: self.database_mxid_age,
                danger_age,
            }
        })
    }

    /// Past its freeze age, a table is due for an anti-wraparound vacuum (running or
    /// about to): the rebuild would wait behind it, or hold it back.
    pub(crate) fn table_hazard(&self, table: &str) -> Option<Hazard> {
        (self.table_xid_age > self.freeze_max_age
            || self.table_mxid_age > self.multixact_freeze_max_age)
            .then(|| Hazard::TableFreezeAge {
                table: table.to_owned(),
                ages: *self,
            })
    }
}

/// A vacuum on the table: the rebuild would cancel it, or wait behind it.
pub(crate) fn vacuum_hazard(table: &str, vacuums: &[Vacuum]) -> Option<Hazard> {
    vacuums.first().map(|vacuum| Hazard::Vacuum {
        table: table.to_owned(),
        vacuum: vacuum.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deferral::DeferralKind;

    fn ages() -> Ages {
        Ages {
            table_xid_age: 1_000,
            table_mxid_age: 10,
            freeze_max_age: 200_000_000,
            multixact_freeze_max_age: 400_000_000,
            database_xid_age: 5_000,
            database_mxid_age: 10,
        }
    }

    #[test]
    fn a_young_table_in_a_young_database_is_no_hazard() {
        assert_eq!(ages().table_hazard("public.t"), None);
        assert_eq!(ages().database_hazard("app", 1_500_000_000), None);
        assert_eq!(vacuum_hazard("public.t", &[]), None);
    }

    #[test]
    fn a_table_past_its_freeze_age_waits_for_its_vacuum() {
        let old = Ages {
            table_xid_age: 200_000_001,
            ..ages()
        };
        let hazard = old.table_hazard("public.orders").unwrap();
        assert_eq!(hazard.kind(), DeferralKind::Wraparound);
        assert!(!hazard.stops_the_rest());
        assert_eq!(
            hazard.describe(),
            "table public.orders is past its freeze age (age(relfrozenxid) 200000001, autovacuum_freeze_max_age 200000000; mxid_age(relminmxid) 10, autovacuum_multixact_freeze_max_age 400000000): an anti-wraparound vacuum is due, and REINDEX CONCURRENTLY would wait behind it or hold it back"
        );
        // Exactly at the age autovacuum does not act yet.
        let at = Ages {
            table_xid_age: 200_000_000,
            ..ages()
        };
        assert_eq!(at.table_hazard("public.orders"), None);
        let multixacts = Ages {
            table_mxid_age: 400_000_001,
            ..ages()
        };
        assert!(multixacts.table_hazard("public.orders").is_some());
    }

    #[test]
    fn a_database_near_wraparound_starts_nothing() {
        let old = Ages {
            database_xid_age: 1_500_000_000,
            ..ages()
        };
        let hazard = old.database_hazard("app", 1_500_000_000).unwrap();
        assert_eq!(hazard.kind(), DeferralKind::Wraparound);
        assert!(hazard.stops_the_rest());
        assert_eq!(
            hazard.describe(),
            "database app is near wraparound (age(datfrozenxid) 1500000000, mxid_age(datminmxid) 10, wraparound_danger_age 1500000000): nothing starts there until vacuum has frozen it"
        );
        let multixacts = Ages {
            database_mxid_age: 1_600_000_000,
            ..ages()
        };
        assert!(multixacts.database_hazard("app", 1_500_000_000).is_some());
    }

    #[test]
    fn a_vacuum_on_the_table_is_named() {
        let vacuum = Vacuum {
            pid: 4242,
            phase: Some("scanning heap".into()),
            autovacuum: true,
        };
        let hazard = vacuum_hazard("public.orders", &[vacuum]).unwrap();
        assert_eq!(hazard.kind(), DeferralKind::Vacuum);
        assert!(!hazard.stops_the_rest());
        assert_eq!(
            hazard.describe(),
            "an autovacuum (pid 4242, scanning heap) is processing table public.orders: REINDEX CONCURRENTLY would cancel it or wait behind it"
        );
    }
}
