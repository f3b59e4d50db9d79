//! Before each of our own reads of a whole relation (pgstattuple, pgstatindex,
//! ANALYZE), asking whether it may happen and within what time; after one that timed
//! out, recording it. `domain::inspect` decides; this file brings what it decides on:
//! the index's settings, the timeouts recorded in the control database (read once per
//! database), the budget and the window.

use jiff::Timestamp;

use super::work::Work;
use crate::control::{ControlError, ReadTimeout, ReadTimeouts};
use crate::domain::inspect::{may_read, Ask, InspectLimits, Permit, ReadKind, Refusal, TimedOut};
use crate::domain::plan::Assessment;

impl Work<'_> {
    /// The timeouts recorded for this database, loaded when first needed.
    async fn recorded_timeouts(&mut self) -> Result<&mut ReadTimeouts, ControlError> {
        let timeouts = match self.timeouts.take() {
            Some(timeouts) => timeouts,
            None => self.ctx.control.read_timeouts(self.key).await?,
        };
        Ok(self.timeouts.insert(timeouts))
    }

    /// Whether `kind` may read `assessment`'s index (or, for ANALYZE, its table) now,
    /// and under which statement_timeout.
    pub(super) async fn ask_to_read(
        &mut self,
        kind: ReadKind,
        assessment: &Assessment,
    ) -> Result<Result<Permit, Refusal>, ControlError> {
        let index = &assessment.index;
        let budget_left = self.ctx.budget.left();
        let recorded = self
            .recorded_timeouts()
            .await?
            .get(&(index.oid, kind))
            .cloned();
        Ok(may_read(&Ask {
            kind,
            size_bytes: index.size_bytes,
            limits: InspectLimits::of(&assessment.settings),
            recorded: recorded.as_ref(),
            budget_left,
            window: &self.window,
            now: Timestamp::now(),
        }))
    }

    /// A read cancelled at its permit's timeout. One that hit max_inspect_time is
    /// recorded, so that no later hop or schedule pays for it again soon; a dry run
    /// writes nothing, and says what a run would do. Returns what the report says.
    pub(super) async fn read_timed_out(
        &mut self,
        kind: ReadKind,
        assessment: &Assessment,
        permit: Permit,
    ) -> Result<String, ControlError> {
        let index = &assessment.index;
        let record = permit.records_timeout() && self.ctx.request.mode.writes_control();
        tracing::info!(target = %self.key.target, database = %self.key.database_name,
            index = %index.name, read = kind.as_str(), timeout_ms = permit.timeout.as_millis() as u64,
            recorded = record, "a read of ours reached its timeout");
        if permit.records_timeout() {
            let timed_out = TimedOut {
                age: std::time::Duration::ZERO,
                at: Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
                after: permit.timeout,
            };
            self.recorded_timeouts()
                .await?
                .insert((index.oid, kind), timed_out);
        }
        if record {
            self.ctx
                .control
                .record_read_timeout(
                    self.key,
                    ReadTimeout {
                        index_oid: index.oid,
                        index: &index.name,
                        size_bytes: index.size_bytes,
                        kind,
                        timeout: permit.timeout,
                    },
                )
                .await?;
        }
        Ok(permit.explain_timeout(kind, record))
    }
}
