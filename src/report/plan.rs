//! What the report says about the indexes a scan judged: the plan, the estimates,
//! the new baselines, the confirmations and the forecast.

use serde::Serialize;

use super::round2;
use crate::domain::baseline::BaselineSource;
use crate::domain::plan::{Assessment, Candidate, CandidateReason};
use crate::domain::throughput::{Prediction, RateSource};

/// For a TOAST index: the table that owns it, as the report shows it.
fn toast_of(assessment: &Assessment) -> Option<String> {
    assessment
        .index
        .toast_owner
        .as_ref()
        .map(ToString::to_string)
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedIndex {
    pub index: String,
    pub(crate) table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) toast_of: Option<String>,
    pub(crate) access_method: String,
    pub size_bytes: u64,
    /// `null` when there is no baseline yet.
    pub estimated_bloat: Option<f64>,
    pub(crate) expected_reclaim_bytes: u64,
    pub(crate) reason: CandidateReason,
    /// How long its rebuild should take, at its access method's rate: the figure the
    /// budget, the windows and max_automatic_index_size judge it by.
    pub predicted_duration_ms: u64,
    /// Whether that rate was learned from this target's rebuilds of its access
    /// method or is the access method's default.
    pub prediction_source: RateSource,
}

impl PlannedIndex {
    pub(crate) fn new(candidate: &Candidate<'_>, predicted: &Prediction) -> Self {
        let a = candidate.assessment;
        PlannedIndex {
            index: a.index.name.to_string(),
            table: a.index.table.clone(),
            toast_of: toast_of(a),
            access_method: a.index.access_method.clone(),
            size_bytes: a.index.size_bytes,
            estimated_bloat: a.bloat.map(round2),
            expected_reclaim_bytes: a.expected_reclaim(),
            reason: candidate.reason,
            predicted_duration_ms: u64::try_from(predicted.duration.as_millis())
                .unwrap_or(u64::MAX),
            prediction_source: predicted.source,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub index: String,
    pub(crate) size_bytes: u64,
    pub(crate) estimated_bloat: Option<f64>,
}

impl From<&Assessment> for Estimate {
    fn from(a: &Assessment) -> Self {
        Estimate {
            index: a.index.name.to_string(),
            size_bytes: a.index.size_bytes,
            estimated_bloat: a.bloat.map(round2),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NewBaseline {
    pub index: String,
    pub(crate) access_method: String,
    pub size_bytes: u64,
    pub source: BaselineSource,
    /// The bloat the new baseline gives it now.
    pub estimated_bloat: Option<f64>,
    /// Why it is not what `initial_baseline` asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&Assessment> for NewBaseline {
    fn from(a: &Assessment) -> Self {
        NewBaseline {
            index: a.index.name.to_string(),
            access_method: a.index.access_method.clone(),
            size_bytes: a.index.size_bytes,
            source: a.seeded.unwrap_or(BaselineSource::Current),
            estimated_bloat: a.bloat.map(round2),
            note: a.seed_note.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub index: String,
    pub(crate) size_bytes: u64,
    /// From the baseline, as the scan judged it.
    pub estimated_bloat: Option<f64>,
    /// After a fresh ANALYZE, or as pgstatindex measured it.
    pub confirmed_bloat: Option<f64>,
    /// Not bloated after all: not rebuilt.
    pub false_alarm: bool,
    /// What was looked at, and what it showed.
    pub how: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForecastEntry {
    pub index: String,
    pub(crate) size_bytes: u64,
    pub estimated_bloat: f64,
    /// `index_rebuild_scale_factor` in force.
    pub(crate) threshold: f64,
    pub bloat_per_day: f64,
    /// When it is expected to reach the threshold (UTC).
    pub expected_at: String,
}
