//! Where an index stands for a plain run, in a word and in a sentence, for people
//! reading `index_pilot.current_bloat`: a candidate or not, and why, with the
//! settings that decided it. Settings resolve here in Rust (wildcards, most specific
//! first), so the scan that judged the index records its standing with its row.

use super::bloat::shown_against;
use super::plan::{CandidateReason, Verdict};
use super::settings::Origin;
use super::units::format_size;

/// What the words of a standing are made from: the verdict of a plain run and the
/// numbers and settings behind it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Standing {
    pub(crate) verdict: Verdict,
    pub(crate) bloat: Option<f64>,
    pub(crate) reltuples: f64,
    pub(crate) index_size_threshold: u64,
    pub(crate) minimum_reliable_index_size: u64,
    pub(crate) rebuild_scale_factor: f64,
}

impl Standing {
    /// A short code of the verdict, stable for queries (`WHERE verdict = 'skipped'`).
    pub(crate) fn code(&self) -> &'static str {
        match &self.verdict {
            Verdict::Candidate(_) => "candidate",
            Verdict::Healthy => "healthy",
            Verdict::UnknownBloat => "unknown",
            Verdict::BelowSizeThreshold => "below_threshold",
            // Held back like a skip until its row is fixed (the stored codes stay).
            Verdict::Skipped(_) | Verdict::InvalidSetting(_) => "skipped",
            Verdict::Quarantined => "quarantined",
            Verdict::AwaitingEstimate => "awaiting_estimate",
            Verdict::NoStatistics => "no_statistics",
            Verdict::Ineligible(_) => "ineligible",
            Verdict::Locked(_) => "locked",
            Verdict::NotSelected => "not_selected",
        }
    }

    /// The id of the settings row that skips the index, if one does.
    pub(crate) fn skip_setting(&self) -> Option<i64> {
        match self.verdict {
            Verdict::Skipped(Origin::Row(id)) | Verdict::InvalidSetting(id) => Some(id),
            _ => None,
        }
    }

    /// What skips the index: `setting #12`, or the built-in rule.
    pub(crate) fn skipped_by(&self) -> Option<String> {
        match &self.verdict {
            Verdict::Skipped(Origin::Row(id)) => Some(format!("setting #{id}")),
            Verdict::InvalidSetting(id) => Some(format!("invalid setting #{id}")),
            Verdict::Skipped(Origin::BuiltIn(rule)) => Some((*rule).to_owned()),
            _ => None,
        }
    }

    /// Why it is or is not a candidate, in a few words.
    pub(crate) fn why(&self) -> String {
        let factor = self.rebuild_scale_factor;
        match &self.verdict {
            Verdict::Candidate(CandidateReason::Bloated) => format!(
                "candidate: bloat {} ≥ {factor}",
                shown_against(self.bloat.unwrap_or(f64::NAN), factor)
            ),
            Verdict::Candidate(CandidateReason::NoBaseline) => {
                "candidate: no baseline yet or none estimated, its bloat is unknown (initial_baseline = rebuild)"
                    .to_owned()
            }
            Verdict::Candidate(CandidateReason::Forced) => "candidate: forced".to_owned(),
            Verdict::Healthy => match self.bloat {
                Some(bloat) => format!("bloat {} < {factor}", shown_against(bloat, factor)),
                None => "no baseline yet".to_owned(),
            },
            Verdict::UnknownBloat => format!(
                "unknown at first sight: no estimate of a fresh build could be made, so its size then is its baseline ({}× that now); rebuild it once (a reindex order with force, or initial_baseline = rebuild for it) or accept it (initial_baseline = current for it, or a baseline run with reseed)",
                shown_against(self.bloat.unwrap_or(1.0), factor)
            ),
            Verdict::BelowSizeThreshold
                if self.minimum_reliable_index_size > self.index_size_threshold =>
            {
                format!(
                    "below minimum_reliable_index_size ({})",
                    format_size(self.minimum_reliable_index_size)
                )
            }
            Verdict::BelowSizeThreshold => format!(
                "below index_size_threshold ({})",
                format_size(self.index_size_threshold)
            ),
            Verdict::Skipped(Origin::Row(id)) => format!("skipped by setting #{id}"),
            Verdict::InvalidSetting(id) => {
                format!("held back: setting #{id} cannot be read, nothing is done to it until the row is fixed")
            }
            Verdict::Skipped(Origin::BuiltIn(rule)) => {
                format!("built-in skip: {}", rule.trim_start_matches("built-in: "))
            }
            Verdict::Quarantined => "quarantined after failed rebuilds".to_owned(),
            Verdict::AwaitingEstimate => {
                "awaiting estimate: first seen at its database's first scan, judged once a fresh build's size is estimated".to_owned()
            }
            Verdict::NoStatistics => format!(
                "no statistics (reltuples is {}): run ANALYZE on its table",
                self.reltuples
            ),
            Verdict::Ineligible(reason) => format!("not eligible: {}", reason.explain()),
            Verdict::Locked(_) => "locked: not measured".to_owned(),
            Verdict::NotSelected => "not judged".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(verdict: Verdict, bloat: Option<f64>) -> Standing {
        Standing {
            verdict,
            bloat,
            reltuples: 1000.0,
            index_size_threshold: 10 << 20,
            minimum_reliable_index_size: 128 << 10,
            rebuild_scale_factor: 2.0,
        }
    }

    #[test]
    fn the_words_say_what_decided() {
        let candidate = standing(Verdict::Candidate(CandidateReason::Bloated), Some(2.4));
        assert_eq!(candidate.why(), "candidate: bloat 2.40 ≥ 2");
        assert!(matches!(candidate.verdict, Verdict::Candidate(_)));
        assert_eq!(candidate.code(), "candidate");
        let healthy = standing(Verdict::Healthy, Some(1.3));
        assert_eq!(healthy.why(), "bloat 1.30 < 2");
        let near = standing(Verdict::Healthy, Some(1.996));
        assert_eq!(near.why(), "bloat 1.996 < 2");
        assert!(!matches!(healthy.verdict, Verdict::Candidate(_)));
        assert_eq!(
            standing(Verdict::BelowSizeThreshold, None).why(),
            "below index_size_threshold (10 MB)"
        );
        let mut noise = standing(Verdict::BelowSizeThreshold, None);
        noise.index_size_threshold = 0;
        assert_eq!(noise.why(), "below minimum_reliable_index_size (128 kB)");
        assert!(standing(Verdict::AwaitingEstimate, None)
            .why()
            .starts_with("awaiting estimate"));
        assert!(
            standing(Verdict::Candidate(CandidateReason::NoBaseline), None)
                .why()
                .contains("no baseline yet")
        );
        assert!(standing(Verdict::NoStatistics, None)
            .why()
            .contains("ANALYZE"));
        assert_eq!(standing(Verdict::Quarantined, None).code(), "quarantined");
        let unknown = standing(Verdict::UnknownBloat, Some(1.0));
        assert_eq!(unknown.code(), "unknown");
        assert!(!matches!(unknown.verdict, Verdict::Candidate(_)));
        assert!(unknown.why().starts_with("unknown at first sight"));
        assert!(unknown.why().contains("(1.00× that now)"));
        assert!(unknown.why().contains("reindex order"));
        assert!(unknown.why().contains("initial_baseline = current"));
    }

    #[test]
    fn skips_name_their_setting_or_rule() {
        let by_row = standing(Verdict::Skipped(Origin::Row(12)), None);
        assert_eq!(by_row.why(), "skipped by setting #12");
        assert_eq!(by_row.skip_setting(), Some(12));
        assert_eq!(by_row.skipped_by().as_deref(), Some("setting #12"));
        let built_in = standing(
            Verdict::Skipped(Origin::BuiltIn("built-in: schema repack (pg_repack)")),
            None,
        );
        assert_eq!(built_in.why(), "built-in skip: schema repack (pg_repack)");
        assert_eq!(built_in.skip_setting(), None);
        assert_eq!(
            built_in.skipped_by().as_deref(),
            Some("built-in: schema repack (pg_repack)")
        );
        assert_eq!(standing(Verdict::Healthy, Some(1.0)).skipped_by(), None);
    }
}
