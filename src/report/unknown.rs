//! The indexes whose bloat is unknown: found at their database's first scan, no
//! estimate of a fresh build could be made, so their size then is their baseline.

use serde::Serialize;

use super::round2;
use crate::domain::plan::Assessment;

#[derive(Debug, Clone, Serialize)]
pub struct UnknownBloat {
    pub(crate) index: String,
    pub(crate) access_method: String,
    pub(crate) size_bytes: u64,
    /// Its size per tuple now against its size per tuple when first seen: growth
    /// since, not a bloat.
    pub(crate) since_first_sight: Option<f64>,
    /// Why no estimate could be made, when this scan tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

impl From<&Assessment> for UnknownBloat {
    fn from(a: &Assessment) -> Self {
        UnknownBloat {
            index: a.index.name.to_string(),
            access_method: a.index.access_method.clone(),
            size_bytes: a.index.size_bytes,
            since_first_sight: a.bloat.map(round2),
            note: a.seed_note.clone(),
        }
    }
}
