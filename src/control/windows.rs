//! Maintenance windows as the DBA stored them; `domain::window` reads them.

use super::{failed, ControlError, ControlStore};
use crate::domain::window::WindowRow;
use crate::pg::{column, PgError};

impl ControlStore {
    /// Every row of `index_pilot.maintenance_windows`, by id.
    pub async fn load_maintenance_windows(&self) -> Result<Vec<WindowRow>, ControlError> {
        const ACTION: &str = "loading maintenance windows";
        let rows = self
            .client
            .query(include_str!("sql/load_maintenance_windows.sql"), &[])
            .await
            .map_err(failed(ACTION))?;
        rows.iter()
            .map(|row| {
                Ok(WindowRow {
                    id: column(row, "id")?,
                    target: column(row, "target")?,
                    database: column(row, "database")?,
                    days: column(row, "days")?,
                    starts_at: column(row, "starts_at")?,
                    ends_at: column(row, "ends_at")?,
                    time_zone: column(row, "time_zone")?,
                    comment: column(row, "comment")?,
                })
            })
            .collect::<Result<_, PgError>>()
            .map_err(failed(ACTION))
    }
}
