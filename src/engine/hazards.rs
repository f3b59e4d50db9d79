//! The look at the cluster around the primary before each rebuild (replication,
//! wraparound, vacuum, disk), and the pause after one that lets the standbys replay
//! what it wrote.

use std::time::{Duration, Instant};

use super::work::{Stop, Work};
use super::DatabaseError;
use crate::domain::hazard::{vacuum_hazard, Hazard, Replication, ReplicationLimits};
use crate::domain::ident::QualifiedName;
use crate::domain::plan::Assessment;
use crate::domain::settings::IndexSettings;
use crate::domain::units::format_elapsed;
use crate::report::Deferred;

/// How often the standbys' replay is looked at while they catch up.
const CATCH_UP_POLL: Duration = Duration::from_secs(1);

fn replication_limits(settings: &IndexSettings) -> ReplicationLimits {
    ReplicationLimits {
        max_lag: settings.max_replica_lag,
        max_lag_bytes: settings.max_replica_lag_bytes,
        max_slot_retained: settings.max_slot_retained_wal,
    }
}

impl Work<'_> {
    /// What makes rebuilding this index harmful now, the first found. The WAL a
    /// rebuild writes is about its index's size.
    pub(super) async fn hazard(
        &mut self,
        assessment: &Assessment,
    ) -> Result<Option<Hazard>, DatabaseError> {
        let replication = self.db.replication().await?;
        self.hazard_beside(&replication, assessment).await
    }

    /// [`Work::hazard`] with the server's replication as already read (a dry run reads
    /// it once for all its candidates).
    pub(super) async fn hazard_beside(
        &mut self,
        replication: &Replication,
        assessment: &Assessment,
    ) -> Result<Option<Hazard>, DatabaseError> {
        let index = &assessment.index;
        let settings = &assessment.settings;
        if let Some(hazard) = replication.hazard(&replication_limits(settings), index.size_bytes) {
            return Ok(Some(hazard));
        }
        let table = QualifiedName::new(&index.name.schema, &index.table).to_string();
        if let Some(ages) = self.db.ages(index.table_oid).await? {
            let aged = ages
                .database_hazard(&self.key.database_name, settings.wraparound_danger_age)
                .or_else(|| ages.table_hazard(&table));
            if aged.is_some() {
                return Ok(aged);
            }
        }
        if let Some(vacuum) = vacuum_hazard(&table, &self.db.vacuums(index.table_oid).await?) {
            return Ok(Some(vacuum));
        }
        // Only an instance the target names tells its free storage.
        let Some(storage) = self.free_storage else {
            return Ok(None);
        };
        Ok(self
            .ctx
            .free_storage
            .hazard(storage, index.size_bytes, settings.min_free_storage)
            .await)
    }

    /// The deferral a hazard makes; one that holds back every rebuild of the database
    /// stops the rest of them too.
    pub(super) fn held_back(&mut self, index: &QualifiedName, hazard: Hazard) -> Deferred {
        let stops_the_rest = hazard.stops_the_rest();
        let stop = Stop::Hazard(hazard);
        let deferred = stop.deferral(index);
        if stops_the_rest {
            self.stop = Some(stop);
        }
        deferred
    }

    /// After a rebuild, before the next one on this server: waits until every
    /// standby has replayed the WAL written so far, for at most `max_replica_lag` (and
    /// what is left of the budget). Those still behind then are judged by the limits
    /// before the next rebuild, as any lag is.
    pub(super) async fn let_standbys_catch_up(
        &self,
        settings: &IndexSettings,
    ) -> Result<(), DatabaseError> {
        let Some(patience) = settings.max_replica_lag else {
            return Ok(());
        };
        let patience = patience.min(self.ctx.budget.left());
        let position = self.db.wal_position().await?;
        let began = Instant::now();
        loop {
            let behind = self.db.standbys_behind(&position).await?;
            if behind == 0 {
                if began.elapsed() >= CATCH_UP_POLL {
                    tracing::info!(target = %self.key.target, database = %self.key.database_name,
                        waited = %format_elapsed(began.elapsed()), "the standbys replayed the rebuild");
                }
                return Ok(());
            }
            if began.elapsed() >= patience {
                tracing::info!(target = %self.key.target, database = %self.key.database_name,
                    standbys_behind = behind, waited = %format_elapsed(began.elapsed()),
                    "standbys still replay the rebuild; the next one looks at their lag first");
                return Ok(());
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
    }
}
