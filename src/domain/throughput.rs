//! How fast a rebuild goes, per access method: the figure that predicts its duration
//! for the time budget, the maintenance windows and `max_automatic_index_size`.
//! Access methods build at very different rates for the same index size (measured on
//! pgvector 0.8: IVFFlat at about 90 MB/s, HNSW at 1.4 to 8 MB/s, since each HNSW
//! element searches the graph for its neighbours), so each one learns its own figure
//! from the target's history and, until it has one, starts from a default of its own.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::budget::predicted_rebuild;
use super::units::format_size;

const MIB: f64 = 1024.0 * 1024.0;

/// The default of the built-in methods that build by sorting or inserting keys
/// (btree, hash, GiST, SP-GiST, BRIN) and of IVFFlat: a conservative 10 MB/s (of
/// 1024 × 1024 bytes).
pub(crate) const DEFAULT_BYTES_PER_SECOND: f64 = 10.0 * MIB;

/// GIN: every key of every row (each trigram of a text, say) is collected, sorted
/// and merged into posting trees; much slower than a btree of the same size (one
/// pg_trgm GIN built at 2.3 MB/s where a btree on the same column built at 28).
pub(crate) const GIN_BYTES_PER_SECOND: f64 = 2.0 * MIB;

/// HNSW, and any access method this table does not know (an extension's): 1 MB/s.
pub(crate) const SLOW_BYTES_PER_SECOND: f64 = MIB;

/// How many completed rebuilds of an access method on a target its learned figure
/// needs; before that the default serves.
pub(crate) const MIN_LEARNED_REBUILDS: u32 = 1;

/// The rate an access method's rebuilds are predicted at before it has history.
pub(crate) fn default_bytes_per_second(access_method: &str) -> f64 {
    match access_method {
        "btree" | "hash" | "gist" | "spgist" | "brin" | "ivfflat" => DEFAULT_BYTES_PER_SECOND,
        "gin" => GIN_BYTES_PER_SECOND,
        _ => SLOW_BYTES_PER_SECOND,
    }
}

/// What a target's history says about one access method: its recent completed
/// rebuilds, and their bytes per second over whole rebuilds (waits included).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LearnedRate {
    pub(crate) access_method: String,
    pub(crate) rebuilds: u32,
    pub(crate) bytes_per_second: Option<f64>,
}

/// Where a prediction's rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// This target's own rebuilds of the access method.
    Learned,
    /// The access method's default: it has too little history here.
    Default,
}

impl RateSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RateSource::Learned => "learned",
            RateSource::Default => "default",
        }
    }
}

/// How long one rebuild should take, and from what.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prediction {
    pub(crate) duration: Duration,
    pub(crate) bytes_per_second: f64,
    pub(crate) source: RateSource,
}

impl Prediction {
    /// Whole seconds, as the reasons say it.
    pub(crate) fn secs(&self) -> u64 {
        self.duration.as_secs()
    }

    /// The rate behind it, for a reason: `hnsw at 1024 kB/s, its default`.
    pub(crate) fn rate(&self, access_method: &str) -> String {
        let from = match self.source {
            RateSource::Learned => "learned from this target's rebuilds",
            RateSource::Default => "its default",
        };
        // Sizes read as pg_size_pretty shows them, here as everywhere in the report.
        let rate = format_size(self.bytes_per_second as u64);
        format!("{access_method} at {rate}/s, {from}")
    }
}

/// The rates of one target, by access method.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Throughput {
    learned: HashMap<String, f64>,
}

impl Throughput {
    /// Keeps the figures with enough history behind them and a usable rate.
    pub(crate) fn from_history(rates: impl IntoIterator<Item = LearnedRate>) -> Throughput {
        let learned = rates
            .into_iter()
            .filter(|r| r.rebuilds >= MIN_LEARNED_REBUILDS)
            .filter_map(|r| {
                let rate = r.bytes_per_second.filter(|b| b.is_finite() && *b > 0.0)?;
                Some((r.access_method, rate))
            })
            .collect();
        Throughput { learned }
    }

    /// The predicted rebuild of an index of this access method and size.
    pub(crate) fn predict(&self, access_method: &str, size_bytes: u64) -> Prediction {
        let (bytes_per_second, source) = match self.learned.get(access_method) {
            Some(rate) => (*rate, RateSource::Learned),
            None => (default_bytes_per_second(access_method), RateSource::Default),
        };
        Prediction {
            duration: predicted_rebuild(size_bytes, bytes_per_second),
            bytes_per_second,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learned(access_method: &str, rebuilds: u32, mb_per_second: f64) -> LearnedRate {
        LearnedRate {
            access_method: access_method.to_owned(),
            rebuilds,
            bytes_per_second: Some(mb_per_second * MIB),
        }
    }

    const GB: u64 = 1 << 30;

    #[test]
    fn each_access_method_has_a_default_hnsw_and_unknown_ones_the_slowest() {
        let none = Throughput::default();
        let secs = |method: &str| none.predict(method, GB).secs();
        // Today's figure, unchanged, for btree and the methods that build as fast.
        for method in ["btree", "hash", "gist", "spgist", "brin", "ivfflat"] {
            assert_eq!(secs(method), 102, "{method}");
        }
        assert_eq!(secs("gin"), 512);
        assert_eq!(secs("hnsw"), 1024);
        // An extension's method nobody measured: as slow as HNSW.
        assert_eq!(secs("rum"), 1024);
        assert_eq!(secs("diskann"), 1024);
        assert_eq!(
            none.predict("hnsw", GB),
            Prediction {
                duration: Duration::from_secs(1024),
                bytes_per_second: MIB,
                source: RateSource::Default,
            }
        );
    }

    #[test]
    fn a_learned_figure_serves_its_own_access_method_only() {
        // A btree history at 50 MB/s says nothing about HNSW.
        let rates = Throughput::from_history([learned("btree", 20, 50.0)]);
        let btree = rates.predict("btree", 100 << 20);
        assert_eq!(btree.duration, Duration::from_secs(2));
        assert_eq!(btree.source, RateSource::Learned);
        let hnsw = rates.predict("hnsw", 100 << 20);
        assert_eq!(hnsw.duration, Duration::from_secs(100));
        assert_eq!(hnsw.source, RateSource::Default);
        // Once HNSW has rebuilds of its own, they set its figure, slower or faster
        // than its default.
        let rates = Throughput::from_history([
            learned("btree", 20, 50.0),
            learned("hnsw", 1, 0.25),
            learned("ivfflat", 3, 90.0),
        ]);
        let hnsw = rates.predict("hnsw", 100 << 20);
        assert_eq!(hnsw.duration, Duration::from_secs(400));
        assert_eq!(hnsw.source, RateSource::Learned);
        assert_eq!(
            rates.predict("ivfflat", 900 << 20).duration,
            Duration::from_secs(10)
        );
    }

    #[test]
    fn too_little_or_unusable_history_leaves_the_default() {
        let rates = Throughput::from_history([
            learned("hnsw", 0, 50.0),
            LearnedRate {
                access_method: "gin".to_owned(),
                rebuilds: 4,
                bytes_per_second: None,
            },
            learned("gist", 2, f64::NAN),
            learned("hash", 2, 0.0),
        ]);
        assert_eq!(rates, Throughput::default());
        assert_eq!(rates.predict("hnsw", GB).source, RateSource::Default);
    }

    #[test]
    fn the_reason_says_the_rate_and_where_it_came_from() {
        let rates = Throughput::from_history([learned("btree", 3, 42.0)]);
        assert_eq!(
            rates.predict("btree", GB).rate("btree"),
            "btree at 42 MB/s, learned from this target's rebuilds"
        );
        assert_eq!(
            rates.predict("hnsw", GB).rate("hnsw"),
            "hnsw at 1024 kB/s, its default"
        );
        assert_eq!(
            rates.predict("gin", GB).rate("gin"),
            "gin at 2048 kB/s, its default"
        );
    }
}
