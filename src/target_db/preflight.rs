//! The raw facts of a preflight (`domain::preflight` judges them): who logged in,
//! what it may see and rebuild, and whether a setting's names exist here. Catalog
//! reads only, one short autocommit statement each.

use super::{failed, TargetDb, TargetError};
use crate::domain::preflight::{ObjectLookup, PgstattupleAccess};
use crate::pg::{column, PgError};

/// Whether this role may rebuild the indexes of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRight {
    pub(crate) table_oid: u32,
    pub(crate) table: String,
    pub(crate) owner: String,
    pub(crate) may_rebuild: bool,
}

impl TargetDb {
    /// `current_user`, and whether it is a member of pg_read_all_stats.
    pub(crate) async fn role(&self) -> Result<(String, bool), TargetError> {
        const ACTION: &str = "reading the role";
        let row = self
            .client
            .query_one(include_str!("sql/preflight_role.sql"), &[])
            .await
            .map_err(failed(ACTION))?;
        (|| Ok::<_, PgError>((column(&row, "role")?, column(&row, "read_all_stats")?)))()
            .map_err(failed(ACTION))
    }

    /// The tables `tables` names (`None`: every table that has an index), and
    /// whether this role may rebuild their indexes.
    pub(crate) async fn table_rights(
        &self,
        tables: Option<&[u32]>,
    ) -> Result<Vec<TableRight>, TargetError> {
        const ACTION: &str = "reading the rights on the tables";
        let tables: Option<Vec<u32>> = tables.map(<[u32]>::to_vec);
        let rows = self
            .client
            .query(include_str!("sql/table_rights.sql"), &[&tables])
            .await
            .map_err(failed(ACTION))?;
        rows.iter()
            .map(|row| {
                Ok(TableRight {
                    table_oid: column(row, "table_oid")?,
                    table: column(row, "table_name")?,
                    owner: column(row, "owner")?,
                    may_rebuild: column(row, "may_rebuild")?,
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed(ACTION))
    }

    /// Whether pgstattuple is installed and this role may run it.
    pub(crate) async fn pgstattuple_access(&self) -> Result<PgstattupleAccess, TargetError> {
        Ok(match self.pgstattuple().await? {
            None => PgstattupleAccess::NotInstalled,
            Some(found) if found.pgstattuple && found.pgstatindex => PgstattupleAccess::Usable,
            Some(_) => PgstattupleAccess::NotGranted,
        })
    }

    /// Whether the schema, table and index a setting names match something here.
    pub(crate) async fn names_anything(&self, lookup: &ObjectLookup) -> Result<bool, TargetError> {
        const ACTION: &str = "looking up a setting's names";
        let row = self
            .client
            .query_one(
                include_str!("sql/scope_exists.sql"),
                &[&lookup.schema, &lookup.table, &lookup.index],
            )
            .await
            .map_err(failed(ACTION))?;
        column(&row, "found").map_err(failed(ACTION))
    }
}
