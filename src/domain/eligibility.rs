//! Which indexes may be rebuilt with REINDEX INDEX CONCURRENTLY, and which servers
//! may be touched at all.

use serde::Serialize;

use super::ident::QualifiedName;

/// `server_version_num`, e.g. 150004 for 15.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct ServerVersion(pub i32);

impl ServerVersion {
    fn major(self) -> i32 {
        self.0 / 10_000
    }

    fn minor(self) -> i32 {
        self.0 % 10_000
    }

    /// Why this server must not be touched, if it must not.
    pub(crate) fn refusal(self) -> Option<String> {
        if self.major() < 12 {
            Some(format!(
                "PostgreSQL {self} has no REINDEX CONCURRENTLY (12 or newer is needed)"
            ))
        } else if self.major() == 14 && self.minor() <= 3 {
            Some(format!(
                "PostgreSQL {self} can silently corrupt indexes rebuilt concurrently (bug #17485); upgrade to 14.4 or newer"
            ))
        } else {
            None
        }
    }

    /// PostgreSQL 17 and newer know the MAINTAIN privilege (and the role pg_maintain),
    /// which lets a role that does not own a table reindex it.
    pub(crate) fn has_maintain(self) -> bool {
        self.major() >= 17
    }

    /// TOAST indexes can be rebuilt concurrently only where bug #17268 is fixed.
    pub(crate) fn toast_reindex_is_safe(self) -> bool {
        match self.major() {
            12 => self.minor() >= 10,
            13 => self.minor() >= 6,
            14 => self.minor() >= 2,
            major => major > 14,
        }
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major(), self.minor())
    }
}

/// What kind of relation an index is on (`pg_class.relkind` of its table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableKind {
    Ordinary,
    MaterializedView,
    Toast,
    PartitionedParent,
    Other,
}

impl TableKind {
    pub(crate) fn from_relkind(relkind: &str) -> TableKind {
        match relkind {
            "r" => TableKind::Ordinary,
            "m" => TableKind::MaterializedView,
            "t" => TableKind::Toast,
            "p" => TableKind::PartitionedParent,
            _ => TableKind::Other,
        }
    }
}

/// One index as the catalog scan sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexInfo {
    pub(crate) oid: u32,
    pub(crate) table_oid: u32,
    /// Schema and index name.
    pub(crate) name: QualifiedName,
    pub(crate) table: String,
    pub(crate) access_method: String,
    pub(crate) size_bytes: u64,
    pub(crate) reltuples: f64,
    pub(crate) is_valid: bool,
    pub(crate) is_live: bool,
    pub(crate) table_kind: TableKind,
    pub(crate) is_temporary: bool,
    pub(crate) backs_exclusion_constraint: bool,
    /// A partitioned index (`relkind = 'I'`): it has no storage of its own.
    pub(crate) is_partitioned: bool,
    /// For an index of a TOAST table: the table that owns it, whose settings apply.
    pub(crate) toast_owner: Option<QualifiedName>,
    /// A session holding (or queued for) an exclusive lock on the index or its table:
    /// its size was not read, so the scan never waits.
    pub(crate) locked_by: Option<i32>,
}

impl IndexInfo {
    /// Valid and live: not a build's copy (`_ccnew`, `_ccold`), a failed build or one
    /// still running.
    pub(crate) fn is_usable(&self) -> bool {
        self.is_valid && self.is_live
    }

    /// The schema and table its settings are looked up by: a TOAST index's owner.
    pub(crate) fn settings_table(&self) -> (&str, &str) {
        match &self.toast_owner {
            Some(owner) => (&owner.schema, &owner.name),
            None => (&self.name.schema, &self.table),
        }
    }
}

/// Why an index is never rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Ineligible {
    SystemCatalog,
    Invalid,
    Brin,
    ExclusionConstraint,
    TemporaryTable,
    PartitionedParent,
    ToastOnUnfixedServer,
    UnsupportedRelation,
}

impl Ineligible {
    pub(crate) fn explain(&self) -> &'static str {
        match self {
            Ineligible::SystemCatalog => "system catalog",
            Ineligible::Invalid => "invalid or not live (a failed or running build)",
            Ineligible::Brin => "BRIN index (PostgreSQL bug #17205)",
            Ineligible::ExclusionConstraint => {
                "backs an exclusion constraint (cannot be rebuilt concurrently)"
            }
            Ineligible::TemporaryTable => "on a temporary table",
            Ineligible::PartitionedParent => {
                "partitioned index (its partitions are handled one by one)"
            }
            Ineligible::ToastOnUnfixedServer => {
                "TOAST index on a server without the fix for bug #17268"
            }
            Ineligible::UnsupportedRelation => "not on a table, partition or materialized view",
        }
    }
}

pub(crate) fn is_system_schema(schema: &str) -> bool {
    schema == "pg_catalog" || schema == "information_schema"
}

pub(crate) fn check_eligibility(
    index: &IndexInfo,
    server: ServerVersion,
) -> Result<(), Ineligible> {
    if is_system_schema(&index.name.schema) {
        Err(Ineligible::SystemCatalog)
    } else if index.is_temporary {
        Err(Ineligible::TemporaryTable)
    } else if index.is_partitioned || index.table_kind == TableKind::PartitionedParent {
        Err(Ineligible::PartitionedParent)
    } else if !index.is_usable() {
        Err(Ineligible::Invalid)
    } else if index.access_method == "brin" {
        Err(Ineligible::Brin)
    } else if index.backs_exclusion_constraint {
        Err(Ineligible::ExclusionConstraint)
    } else if index.table_kind == TableKind::Toast && !server.toast_reindex_is_safe() {
        Err(Ineligible::ToastOnUnfixedServer)
    } else if index.table_kind == TableKind::Other {
        Err(Ineligible::UnsupportedRelation)
    } else {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn btree(
        schema: &str,
        table: &str,
        name: &str,
        size_bytes: u64,
        reltuples: f64,
    ) -> IndexInfo {
        IndexInfo {
            oid: 1,
            table_oid: 2,
            name: QualifiedName::new(schema, name),
            table: table.to_owned(),
            access_method: "btree".to_owned(),
            size_bytes,
            reltuples,
            is_valid: true,
            is_live: true,
            table_kind: TableKind::Ordinary,
            is_temporary: false,
            backs_exclusion_constraint: false,
            is_partitioned: false,
            toast_owner: None,
            locked_by: None,
        }
    }

    #[test]
    fn refused_servers() {
        assert!(ServerVersion(140000).refusal().is_some());
        assert!(ServerVersion(140003).refusal().unwrap().contains("17485"));
        assert!(ServerVersion(140004).refusal().is_none());
        assert!(ServerVersion(110022).refusal().is_some());
        assert!(ServerVersion(130001).refusal().is_none());
        assert!(ServerVersion(180000).refusal().is_none());
    }

    #[test]
    fn toast_fix_versions() {
        assert!(!ServerVersion(120009).toast_reindex_is_safe());
        assert!(ServerVersion(120010).toast_reindex_is_safe());
        assert!(!ServerVersion(130005).toast_reindex_is_safe());
        assert!(ServerVersion(130006).toast_reindex_is_safe());
        assert!(ServerVersion(140004).toast_reindex_is_safe());
        assert!(ServerVersion(150000).toast_reindex_is_safe());
    }

    #[test]
    fn exclusions() {
        // Long but flat: a table of one case per exclusion.
        let server = ServerVersion(150004);
        let ok = btree("public", "t", "i", 1, 1.0);
        assert_eq!(check_eligibility(&ok, server), Ok(()));
        let cases = [
            (
                IndexInfo {
                    name: QualifiedName::new("pg_catalog", "x"),
                    ..ok.clone()
                },
                Ineligible::SystemCatalog,
            ),
            (
                IndexInfo {
                    access_method: "brin".into(),
                    ..ok.clone()
                },
                Ineligible::Brin,
            ),
            (
                IndexInfo {
                    is_valid: false,
                    ..ok.clone()
                },
                Ineligible::Invalid,
            ),
            (
                IndexInfo {
                    backs_exclusion_constraint: true,
                    ..ok.clone()
                },
                Ineligible::ExclusionConstraint,
            ),
            (
                IndexInfo {
                    is_temporary: true,
                    ..ok.clone()
                },
                Ineligible::TemporaryTable,
            ),
            (
                IndexInfo {
                    is_partitioned: true,
                    ..ok.clone()
                },
                Ineligible::PartitionedParent,
            ),
            (
                IndexInfo {
                    table_kind: TableKind::Other,
                    ..ok.clone()
                },
                Ineligible::UnsupportedRelation,
            ),
        ];
        for (index, reason) in cases {
            assert_eq!(check_eligibility(&index, server), Err(reason));
        }
        let toast = IndexInfo {
            table_kind: TableKind::Toast,
            ..ok
        };
        assert_eq!(check_eligibility(&toast, server), Ok(()));
        assert_eq!(
            check_eligibility(&toast, ServerVersion(130002)),
            Err(Ineligible::ToastOnUnfixedServer)
        );
    }
}
