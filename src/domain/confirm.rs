//! Looking again before a large rebuild: are the statistics behind the estimate
//! fresh, and does the index itself (pgstatindex) show the bloat? A false alarm costs
//! a whole rebuild; these looks cost a sample of the table and a read of the index.

/// More changes than this share of the table's rows since its last ANALYZE make its
/// counts stale (autovacuum's default `autovacuum_analyze_scale_factor`)…
pub(crate) const STALE_SHARE: f64 = 0.1;
/// …plus this many (autovacuum's default `autovacuum_analyze_threshold`).
pub(crate) const STALE_MINIMUM: f64 = 50.0;
/// Dead tuples above this share of the live ones still take room in the index's leaf
/// pages: its density says nothing about what a rebuild would give back.
pub const DEAD_SHARE: f64 = 0.1;
/// pgstatindex's reading and the estimate each err by a few percent (and the reading
/// leaves out what deduplication would save): it overrules the estimate only when it
/// is clearly below the threshold, by more than this share.
pub(crate) const READING_MARGIN: f64 = 0.1;

/// Whether pgstatindex's reading of the bloat makes the candidate a false alarm.
pub(crate) fn reading_overrules(reading: f64, threshold: f64) -> bool {
    reading < threshold * (1.0 - READING_MARGIN)
}

/// What `pg_stat_user_tables` and `pg_class` say of a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TableActivity {
    pub(crate) reltuples: f64,
    pub(crate) modified_since_analyze: f64,
    pub(crate) live_tuples: f64,
    pub(crate) dead_tuples: f64,
    /// The statistics know of a VACUUM of the table (none after a reset or a crash).
    pub(crate) vacuumed: bool,
}

impl TableActivity {
    /// Why the table's statistics are stale, if they are.
    pub(crate) fn stale(&self) -> Option<String> {
        let limit = STALE_SHARE * self.reltuples.max(0.0) + STALE_MINIMUM;
        (self.modified_since_analyze > limit).then(|| {
            format!(
                "{} rows changed since its last ANALYZE, more than {:.0} % of its {} rows",
                self.modified_since_analyze,
                STALE_SHARE * 100.0,
                self.reltuples.max(0.0)
            )
        })
    }

    /// Why pgstatindex cannot tell, if it cannot: dead tuples not yet vacuumed fill
    /// the leaf pages a rebuild would empty, and without a VACUUM the statistics know
    /// of, their count cannot be trusted to say there are none.
    pub(crate) fn clouds_density(&self) -> Option<String> {
        if !self.vacuumed {
            return Some(
                "the statistics know of no VACUUM of its table (never run, or the statistics were reset), so entries of dead rows may fill its pages".into(),
            );
        }
        (self.dead_tuples > DEAD_SHARE * self.live_tuples.max(1.0)).then(|| {
            format!(
                "{} dead tuples await VACUUM, and their entries fill the leaf pages",
                self.dead_tuples
            )
        })
    }
}

/// What `pgstatindex` read of a btree, and its fill factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BtreeDensity {
    pub(crate) index_size: f64,
    pub(crate) leaf_pages: f64,
    pub(crate) internal_pages: f64,
    /// Percent of the leaf pages' space in use; NaN without leaf pages.
    pub(crate) avg_leaf_density: f64,
    /// Percent.
    pub(crate) fillfactor: f64,
    pub(crate) block_size: f64,
}

impl BtreeDensity {
    /// How many times larger the index is than a build packing the same entries to
    /// its fill factor; `None` when the density is unknown.
    pub(crate) fn bloat(&self) -> Option<f64> {
        if !self.avg_leaf_density.is_finite() || self.leaf_pages < 1.0 {
            return None;
        }
        let used = (self.leaf_pages + self.internal_pages) * self.avg_leaf_density / 100.0;
        let fresh_pages = 1.0 + used / (self.fillfactor / 100.0);
        Some(self.index_size / (fresh_pages * self.block_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_go_stale_past_a_tenth_of_the_table() {
        let activity = TableActivity {
            reltuples: 100_000.0,
            modified_since_analyze: 10_000.0,
            live_tuples: 100_000.0,
            dead_tuples: 0.0,
            vacuumed: true,
        };
        assert_eq!(activity.stale(), None);
        let changed = TableActivity {
            modified_since_analyze: 60_000.0,
            ..activity
        };
        assert!(changed.stale().unwrap().contains("60000 rows changed"));
        assert_eq!(activity.clouds_density(), None);
        let dead = TableActivity {
            dead_tuples: 60_000.0,
            ..activity
        };
        assert!(dead.clouds_density().is_some());
        let reset = TableActivity {
            vacuumed: false,
            ..activity
        };
        assert!(reset.clouds_density().unwrap().contains("no VACUUM"));
    }

    #[test]
    fn a_reading_overrules_only_when_clearly_below() {
        assert!(reading_overrules(1.1, 2.0));
        assert!(!reading_overrules(1.95, 2.0));
        assert!(!reading_overrules(2.4, 2.0));
    }

    #[test]
    fn density_against_the_fill_factor() {
        // A fresh btree: 820 leaf pages 90 % full, 4 upper pages, the metapage.
        let fresh = BtreeDensity {
            index_size: 825.0 * 8192.0,
            leaf_pages: 820.0,
            internal_pages: 4.0,
            avg_leaf_density: 90.0,
            fillfactor: 90.0,
            block_size: 8192.0,
        };
        assert!((fresh.bloat().unwrap() - 1.0).abs() < 0.01);
        // 60 % of its entries deleted and vacuumed: the pages stay, 36 % full.
        let emptied = BtreeDensity {
            avg_leaf_density: 36.0,
            ..fresh
        };
        assert!((emptied.bloat().unwrap() - 2.5).abs() < 0.02);
        let unknown = BtreeDensity {
            avg_leaf_density: f64::NAN,
            ..fresh
        };
        assert_eq!(unknown.bloat(), None);
    }
}
