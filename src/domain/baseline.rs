//! Where an index's baseline comes from when it has none: an index that appears after
//! the first scan of its database is at most one schedule old, so its size now is
//! what a fresh build gives; the indexes found at that first scan may have bloated
//! for years, and `initial_baseline` decides for them.

use std::str::FromStr;

use serde::Serialize;

/// The policy for the indexes a database's first scan finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum InitialBaseline {
    /// Estimate a fresh build's size (btree and hash from the catalog, GiST with
    /// pgstattuple); where no estimate can be made, take the current size.
    Estimate,
    /// Take every index as it is now.
    Current,
    /// Bloat unknown: every index is a candidate until index-pilot has rebuilt it
    /// (pg_index_watch's way).
    Rebuild,
}

impl FromStr for InitialBaseline {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "estimate" => Ok(InitialBaseline::Estimate),
            "current" => Ok(InitialBaseline::Current),
            "rebuild" => Ok(InitialBaseline::Rebuild),
            _ => Err(format!(
                "{text:?} is not an initial_baseline policy: estimate, current or rebuild"
            )),
        }
    }
}

/// How an index's baseline was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineSource {
    /// Right after index-pilot rebuilt it.
    Rebuild,
    /// A fresh build's size, estimated from the catalog and `pg_stats`.
    Estimate,
    /// A fresh build's size, estimated from the tuples `pgstattuple` counts.
    Pgstattuple,
    /// Its size when its database's first scan found it, by the operator's choice
    /// (`initial_baseline = current`, set when it was found or later).
    Current,
    /// Its size when its database's first scan found it, because `initial_baseline =
    /// estimate` could not estimate it: its bloat is unknown until it is rebuilt or
    /// accepted.
    NoEstimate,
    /// Its size when it was first seen, after its database's first scan.
    FirstSight,
    /// Accepted as it was by a `baseline` run.
    Accepted,
    /// Corrected before a rebuild: `pgstatindex` showed the index was not bloated.
    Pgstatindex,
}

impl BaselineSource {
    /// Its name in reports and in `index_state.baseline_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineSource::Rebuild => "rebuild",
            BaselineSource::Estimate => "estimate",
            BaselineSource::Pgstattuple => "pgstattuple",
            BaselineSource::Current => "current",
            BaselineSource::NoEstimate => "no_estimate",
            BaselineSource::FirstSight => "first_sight",
            BaselineSource::Accepted => "accepted",
            BaselineSource::Pgstatindex => "pgstatindex",
        }
    }
}

/// What an index without a baseline gets at this scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seeding {
    /// Its size per tuple now.
    TakeCurrent(BaselineSource),
    /// An estimate of a fresh build, made after the scan.
    Estimate,
    /// None: a candidate of unknown bloat.
    Rebuild,
}

/// Whether an index belongs to its database's first scan: it was stored as found
/// there, or nothing was stored of it and the database was never scanned.
pub(crate) fn from_first_scan(stored: Option<bool>, database_scanned_before: bool) -> bool {
    stored.unwrap_or(!database_scanned_before)
}

/// The seeding of an index without a baseline (`initial`: it belongs to its
/// database's first scan).
pub(crate) fn seeding(initial: bool, policy: InitialBaseline) -> Seeding {
    if !initial {
        return Seeding::TakeCurrent(BaselineSource::FirstSight);
    }
    match policy {
        InitialBaseline::Estimate => Seeding::Estimate,
        InitialBaseline::Current => Seeding::TakeCurrent(BaselineSource::Current),
        InitialBaseline::Rebuild => Seeding::Rebuild,
    }
}

/// What becomes of a stored baseline that no estimate backs (source `no_estimate`)
/// under the index's `initial_baseline` now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unproven {
    /// Still unknown: judged against its size at first sight, but never called
    /// healthy.
    Unknown,
    /// `current`: the operator takes it as it is; its baseline becomes `current`.
    Accepted,
    /// `rebuild`: a candidate of unknown bloat, as if it had no baseline.
    Rebuild,
}

/// The fate of an index whose stored baseline no estimate backs.
pub(crate) fn unproven(policy: InitialBaseline) -> Unproven {
    match policy {
        InitialBaseline::Estimate => Unproven::Unknown,
        InitialBaseline::Current => Unproven::Accepted,
        InitialBaseline::Rebuild => Unproven::Rebuild,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_scan_follows_the_policy_and_later_ones_take_what_they_see() {
        // The database's first scan: nothing stored, never scanned.
        assert!(from_first_scan(None, false));
        // A new index later on: a database scanned before, nothing stored of it.
        assert!(!from_first_scan(None, true));
        // What was stored stays: an index of the first scan still waiting for its
        // estimate (too small then, no statistics), or one first seen later.
        assert!(from_first_scan(Some(true), true));
        assert!(!from_first_scan(Some(false), true));

        assert_eq!(
            seeding(false, InitialBaseline::Rebuild),
            Seeding::TakeCurrent(BaselineSource::FirstSight)
        );
        assert_eq!(seeding(true, InitialBaseline::Estimate), Seeding::Estimate);
        assert_eq!(
            seeding(true, InitialBaseline::Current),
            Seeding::TakeCurrent(BaselineSource::Current)
        );
        assert_eq!(seeding(true, InitialBaseline::Rebuild), Seeding::Rebuild);
    }

    #[test]
    fn names_round_trip() {
        assert_eq!("Rebuild".parse(), Ok(InitialBaseline::Rebuild));
        assert_eq!(BaselineSource::NoEstimate.as_str(), "no_estimate");
    }

    #[test]
    fn an_unestimated_baseline_stays_unknown_until_the_operator_decides() {
        assert_eq!(unproven(InitialBaseline::Estimate), Unproven::Unknown);
        assert_eq!(unproven(InitialBaseline::Current), Unproven::Accepted);
        assert_eq!(unproven(InitialBaseline::Rebuild), Unproven::Rebuild);
    }
}
