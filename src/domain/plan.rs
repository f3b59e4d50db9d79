//! Judging every index of a database and choosing what to rebuild, in which order.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::bloat::{
    bytes_per_tuple, estimated_bloat, expected_reclaim, fresh_baseline, is_reliable, ratchet,
};
use super::eligibility::{check_eligibility, IndexInfo, Ineligible, ServerVersion};
use super::ident::QualifiedName;
use super::settings::{IndexSettings, IndexSubject, Origin, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Estimate, record baselines, rebuild what is bloated.
    Run,
    /// Estimate and show what a run would take; change nothing anywhere.
    DryRun,
    /// Accept every index as it is now: its current size per tuple becomes its baseline.
    Baseline,
    /// One named index.
    Reindex,
}

impl Mode {
    pub fn changes_targets(self) -> bool {
        matches!(self, Mode::Run | Mode::Reindex)
    }
}

/// What the event asks for beyond the mode.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub mode: Mode,
    /// `reindex` mode: the one index to consider.
    pub only: Option<&'a QualifiedName>,
    /// Ignore the size threshold and the bloat factor (never `skip`, never eligibility).
    pub force: bool,
}

/// Where the indexes live, for settings that name a target or a database.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    pub target: &'a str,
    pub database: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateReason {
    /// Estimated bloat at or above the scale factor.
    Bloated,
    /// No baseline yet: its bloat is unknown.
    NoBaseline,
    /// `force` in `reindex` mode.
    Forced,
}

impl CandidateReason {
    /// The name the report and the history use.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateReason::Bloated => "bloated",
            CandidateReason::NoBaseline => "no_baseline",
            CandidateReason::Forced => "forced",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Ineligible(Ineligible),
    Skipped(Origin),
    /// `reindex` mode: not the index asked for.
    NotSelected,
    BelowSizeThreshold,
    /// No baseline and no tuple count to make one from (never vacuumed or analyzed,
    /// or empty): a rebuild would leave its bloat as unknown as before.
    Unmeasured,
    Healthy,
    Candidate(CandidateReason),
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub index: IndexInfo,
    pub settings: IndexSettings,
    /// Bytes per tuple now.
    pub ratio: f64,
    /// The baseline to keep after this scan (`None`: unknown).
    pub best_ratio: Option<f64>,
    pub bloat: Option<f64>,
    pub verdict: Verdict,
}

impl Assessment {
    pub fn is_candidate(&self) -> bool {
        matches!(self.verdict, Verdict::Candidate(_))
    }

    pub fn expected_reclaim(&self) -> u64 {
        self.bloat
            .map_or(0, |bloat| expected_reclaim(self.index.size_bytes, bloat))
    }

    /// Why a `reindex` of this index would not go ahead, for the report.
    pub fn why_not(&self) -> String {
        match &self.verdict {
            Verdict::Ineligible(reason) => format!("not eligible: {}", reason.explain()),
            Verdict::Skipped(Origin::Row(id)) => format!("skip is set (setting #{id})"),
            Verdict::Skipped(Origin::BuiltIn(rule)) => format!("skip is set ({rule})"),
            Verdict::NotSelected => "not the index asked for".to_owned(),
            Verdict::BelowSizeThreshold => format!(
                "{} bytes is below index_size_threshold ({} bytes) or minimum_reliable_index_size ({} bytes); force ignores them",
                self.index.size_bytes,
                self.settings.index_size_threshold,
                self.settings.minimum_reliable_index_size
            ),
            Verdict::Unmeasured => {
                "no baseline and no tuple count yet (run VACUUM or ANALYZE on its table); force ignores it".to_owned()
            }
            Verdict::Healthy => format!(
                "estimated bloat {:.2} is below index_rebuild_scale_factor {}; force ignores it",
                self.bloat.unwrap_or(1.0),
                self.settings.rebuild_scale_factor
            ),
            Verdict::Candidate(_) => "a candidate".to_owned(),
        }
    }
}

/// Judges every index. `baselines` maps index oid to its stored `best_ratio`.
pub fn assess(
    indexes: Vec<IndexInfo>,
    baselines: &HashMap<u32, f64>,
    settings: &Settings,
    location: Location<'_>,
    server: ServerVersion,
    selection: Selection<'_>,
) -> Vec<Assessment> {
    indexes
        .into_iter()
        .map(|index| {
            let index_settings =
                settings.for_index(&IndexSubject::new(location, &index.name, &index.table));
            let ratio = bytes_per_tuple(index.size_bytes, index.reltuples);
            let reliable = is_reliable(
                index.size_bytes,
                index.reltuples,
                index_settings.minimum_reliable_index_size,
            );
            let stored = baselines.get(&index.oid).copied();
            let best_ratio = match selection.mode {
                Mode::Baseline => {
                    fresh_baseline(index.size_bytes, index.reltuples, reliable).or(stored)
                }
                _ => ratchet(stored, ratio, reliable),
            };
            let bloat = best_ratio.map(|best| estimated_bloat(ratio, best));
            let verdict = judge(&index, &index_settings, bloat, server, selection);
            Assessment {
                index,
                settings: index_settings,
                ratio,
                best_ratio,
                bloat,
                verdict,
            }
        })
        .collect()
}

fn judge(
    index: &IndexInfo,
    settings: &IndexSettings,
    bloat: Option<f64>,
    server: ServerVersion,
    selection: Selection<'_>,
) -> Verdict {
    if let Err(reason) = check_eligibility(index, server) {
        return Verdict::Ineligible(reason);
    }
    if let Some(origin) = &settings.skip {
        return Verdict::Skipped(origin.clone());
    }
    if selection.only.is_some_and(|only| *only != index.name) {
        return Verdict::NotSelected;
    }
    let forced = selection.force && selection.mode == Mode::Reindex;
    if forced {
        return Verdict::Candidate(CandidateReason::Forced);
    }
    // Below minimum_reliable_index_size a size per tuple is noise: no baseline is ever
    // set there, so such an index would otherwise stay "unknown" and be rebuilt forever.
    if index.size_bytes
        < settings
            .index_size_threshold
            .max(settings.minimum_reliable_index_size)
    {
        return Verdict::BelowSizeThreshold;
    }
    match bloat {
        None if index.reltuples <= 0.0 => Verdict::Unmeasured,
        None => Verdict::Candidate(CandidateReason::NoBaseline),
        Some(bloat) if bloat >= settings.rebuild_scale_factor => {
            Verdict::Candidate(CandidateReason::Bloated)
        }
        Some(_) => Verdict::Healthy,
    }
}

/// An index chosen for a rebuild, and why.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub assessment: &'a Assessment,
    pub reason: CandidateReason,
}

/// Candidates, most bytes expected back first; those of unknown bloat after, largest first.
pub fn candidates_in_order(assessments: &[Assessment]) -> Vec<Candidate<'_>> {
    let mut candidates: Vec<Candidate<'_>> = assessments
        .iter()
        .filter_map(|assessment| match assessment.verdict {
            Verdict::Candidate(reason) => Some(Candidate { assessment, reason }),
            _ => None,
        })
        .collect();
    candidates.sort_by(|a, b| {
        let (a, b) = (a.assessment, b.assessment);
        b.expected_reclaim()
            .cmp(&a.expected_reclaim())
            .then(b.index.size_bytes.cmp(&a.index.size_bytes))
            .then(a.index.name.cmp(&b.index.name))
    });
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::btree;
    use crate::domain::settings::{Scope, SettingRow};

    const MB: u64 = 1 << 20;
    const PG15: ServerVersion = ServerVersion(150004);
    const HERE: Location<'static> = Location {
        target: "orders",
        database: "app",
    };

    fn run() -> Selection<'static> {
        Selection {
            mode: Mode::Run,
            only: None,
            force: false,
        }
    }

    fn with_oid(oid: u32, mut index: IndexInfo) -> IndexInfo {
        index.oid = oid;
        index
    }

    #[test]
    fn bloated_healthy_unknown_and_small() {
        let settings = Settings::from_rows(&[]).unwrap();
        let indexes = vec![
            with_oid(1, btree("public", "t", "bloated", 40 * MB, 400_000.0)), // 104.9 B/tuple
            with_oid(2, btree("public", "t", "healthy", 40 * MB, 1_000_000.0)),
            with_oid(3, btree("public", "t", "unknown", 20 * MB, 1_000_000.0)),
            with_oid(4, btree("public", "t", "small", MB, 1_000.0)),
        ];
        let baselines = HashMap::from([(1, 41.9), (2, 45.0), (4, 1.0)]);
        let assessed = assess(indexes, &baselines, &settings, HERE, PG15, run());
        let verdicts: Vec<_> = assessed.iter().map(|a| a.verdict.clone()).collect();
        assert_eq!(
            verdicts,
            vec![
                Verdict::Candidate(CandidateReason::Bloated),
                Verdict::Healthy,
                Verdict::Candidate(CandidateReason::NoBaseline),
                Verdict::BelowSizeThreshold,
            ]
        );
        assert!((assessed[0].bloat.unwrap() - 2.5).abs() < 0.01);
        // The healthy index ratchets its baseline down to today's ratio.
        assert!(assessed[1].best_ratio.unwrap() < 45.0);
        // Unknown stays unknown outside baseline mode.
        assert_eq!(assessed[2].best_ratio, None);
        let order: Vec<_> = candidates_in_order(&assessed)
            .iter()
            .map(|c| c.assessment.index.name.name.clone())
            .collect();
        assert_eq!(order, ["bloated", "unknown"]);
    }

    #[test]
    fn tiny_indexes_are_never_candidates_even_below_a_zero_threshold() {
        let rows = [SettingRow {
            id: 1,
            scope: Scope::default(),
            key: "index_size_threshold".into(),
            value: "0".into(),
        }];
        let settings = Settings::from_rows(&rows).unwrap();
        let tiny = btree("public", "t", "tiny", 8 << 10, 0.0);
        let assessed = assess(vec![tiny], &HashMap::new(), &settings, HERE, PG15, run());
        assert_eq!(assessed[0].verdict, Verdict::BelowSizeThreshold);
    }

    #[test]
    fn no_baseline_and_no_tuple_count_is_not_a_candidate() {
        let settings = Settings::from_rows(&[]).unwrap();
        let never_analyzed = btree("public", "t", "fresh", 40 * MB, -1.0);
        let empty = btree("public", "t", "empty", 40 * MB, 0.0);
        let assessed = assess(
            vec![never_analyzed, empty],
            &HashMap::new(),
            &settings,
            HERE,
            PG15,
            run(),
        );
        assert_eq!(assessed[0].verdict, Verdict::Unmeasured);
        assert_eq!(assessed[1].verdict, Verdict::Unmeasured);
    }

    #[test]
    fn baseline_mode_seeds_and_takes_nothing() {
        let settings = Settings::from_rows(&[]).unwrap();
        let indexes = vec![
            with_oid(1, btree("public", "t", "a", 40 * MB, 400_000.0)),
            with_oid(2, btree("public", "t", "tiny", 8 << 10, 10.0)),
        ];
        let selection = Selection {
            mode: Mode::Baseline,
            ..run()
        };
        let assessed = assess(
            indexes,
            &HashMap::from([(1, 10.0)]),
            &settings,
            HERE,
            PG15,
            selection,
        );
        assert!((assessed[0].best_ratio.unwrap() - 104.8576).abs() < 0.001);
        assert_eq!(assessed[1].best_ratio, None);
    }

    #[test]
    fn force_ignores_thresholds_but_not_skip_or_eligibility() {
        let rows = [SettingRow {
            id: 1,
            scope: Scope {
                index: Some("skipped".into()),
                ..Default::default()
            },
            key: "skip".into(),
            value: "true".into(),
        }];
        let settings = Settings::from_rows(&rows).unwrap();
        let small = btree("public", "t", "small", MB, 1000.0);
        let skipped = btree("public", "t", "skipped", 40 * MB, 1000.0);
        let brin = IndexInfo {
            access_method: "brin".into(),
            ..btree("public", "t", "brin", 40 * MB, 1000.0)
        };
        for (index, expected) in [
            (small, Verdict::Candidate(CandidateReason::Forced)),
            (skipped, Verdict::Skipped(Origin::Row(1))),
            (brin, Verdict::Ineligible(Ineligible::Brin)),
        ] {
            let name = index.name.clone();
            let selection = Selection {
                mode: Mode::Reindex,
                only: Some(&name),
                force: true,
            };
            let assessed = assess(
                vec![index],
                &HashMap::new(),
                &settings,
                HERE,
                PG15,
                selection,
            );
            assert_eq!(assessed[0].verdict, expected);
        }
    }

    #[test]
    fn reindex_mode_selects_one_index() {
        let settings = Settings::from_rows(&[]).unwrap();
        let wanted = QualifiedName::new("public", "b");
        let selection = Selection {
            mode: Mode::Reindex,
            only: Some(&wanted),
            force: false,
        };
        let indexes = vec![
            with_oid(1, btree("public", "t", "a", 40 * MB, 1000.0)),
            with_oid(2, btree("public", "t", "b", 40 * MB, 1000.0)),
        ];
        let assessed = assess(indexes, &HashMap::new(), &settings, HERE, PG15, selection);
        assert_eq!(assessed[0].verdict, Verdict::NotSelected);
        assert_eq!(
            assessed[1].verdict,
            Verdict::Candidate(CandidateReason::NoBaseline)
        );
    }
}
