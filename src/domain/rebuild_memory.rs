//! How much `maintenance_work_mem` an HNSW rebuild gets in its own session.
//!
//! pgvector builds an HNSW graph in memory up to `maintenance_work_mem`; once the
//! graph no longer fits, it writes what it has to disk and inserts every remaining
//! tuple the slow way, one on-disk insert at a time (pgvector src/hnswbuild.c,
//! `InsertTuple`: NOTICE "hnsw graph no longer fits into maintenance_work_mem").
//! That took a rebuild from 6 s to 27 s at 1MB. So an HNSW rebuild's session is
//! given enough for the graph, sized from the index as it is on disk.

use serde::Serialize;

/// The in-memory graph against the index on disk, per element (pgvector v0.8.2,
/// src/hnsw.h and src/hnswutils.c): an `HnswElementData` of about 128 bytes against
/// an element tuple of 72 bytes of header (`HNSW_ELEMENT_TUPLE_SIZE`), and 16 bytes
/// per neighbour slot (`HNSW_NEIGHBOR_ARRAY_SIZE`: an `HnswCandidate`) against 6 on
/// disk (`HNSW_NEIGHBOR_TUPLE_SIZE`: an `ItemPointerData`); the vector itself takes
/// the same room in both. At most about 2.7 times the disk, for small vectors and
/// any `m`; 3 leaves room for the allocator's chunk headers. A bloated index
/// overstates its live elements, which only adds margin.
pub(crate) const GRAPH_PER_INDEX_BYTE: u64 = 3;

/// The graph's memory context is allocated in blocks of 1MB (pgvector
/// src/hnswbuild.c, `GenerationContextCreate`), and a parallel build keeps a 1MB
/// margin (`memoryMargin`): a little more than both.
pub(crate) const GRAPH_SLACK: u64 = 4 << 20;

/// What the session's `maintenance_work_mem` is raised to for this rebuild, or
/// `None` when it stays as it is: only for HNSW, never below `current` (the
/// `maintenance_work_mem` setting or the server's own), at most `cap`
/// (`max_rebuild_maintenance_work_mem`), in whole megabytes.
pub(crate) fn raised_maintenance_work_mem(
    access_method: &str,
    index_size: u64,
    current: u64,
    cap: u64,
) -> Option<u64> {
    if access_method != "hnsw" {
        return None;
    }
    const MB: u64 = 1 << 20;
    let wanted = index_size
        .saturating_mul(GRAPH_PER_INDEX_BYTE)
        .saturating_add(GRAPH_SLACK)
        .div_ceil(MB)
        .saturating_mul(MB);
    let chosen = wanted.min(cap);
    (chosen > current).then_some(chosen)
}

/// A memory size as PostgreSQL writes the setting (`64MB`, `1GB`, `1500kB`).
pub(crate) fn guc_memory(bytes: u64) -> String {
    let kb = bytes / 1024;
    if kb != 0 && kb % (1024 * 1024) == 0 {
        format!("{}GB", kb / (1024 * 1024))
    } else if kb != 0 && kb % 1024 == 0 {
        format!("{}MB", kb / 1024)
    } else {
        format!("{kb}kB")
    }
}

/// What one rebuild's session ran with, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SessionUsed {
    /// In PostgreSQL's notation (`64MB`).
    pub(crate) maintenance_work_mem: String,
    /// The value before it was raised for an HNSW graph; absent when not raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) maintenance_work_mem_raised_from: Option<String>,
    /// Set by index-pilot (the setting, or 0 where pgvector's parallel HNSW build is
    /// unsafe); absent: the server's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_parallel_maintenance_workers: Option<u32>,
}

impl SessionUsed {
    /// `maintenance_work_mem 64MB (raised from 1MB), max_parallel_maintenance_workers 0`.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("maintenance_work_mem {}", self.maintenance_work_mem);
        if let Some(from) = &self.maintenance_work_mem_raised_from {
            text.push_str(&format!(" (raised from {from})"));
        }
        if let Some(workers) = self.max_parallel_maintenance_workers {
            text.push_str(&format!(", max_parallel_maintenance_workers {workers}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;
    const GB: u64 = 1 << 30;

    #[test]
    fn an_hnsw_graph_gets_three_times_its_index_and_some_slack() {
        // 10MB on disk: 30MB of graph, 4MB of slack.
        assert_eq!(
            raised_maintenance_work_mem("hnsw", 10 * MB, MB, GB),
            Some(34 * MB)
        );
        // Rounded up to whole megabytes.
        assert_eq!(
            raised_maintenance_work_mem("hnsw", 10 * MB + 1, MB, GB),
            Some(35 * MB)
        );
    }

    #[test]
    fn never_below_the_sessions_own_value() {
        assert_eq!(
            raised_maintenance_work_mem("hnsw", 10 * MB, 64 * MB, GB),
            None
        );
        assert_eq!(
            raised_maintenance_work_mem("hnsw", 10 * MB, 34 * MB, GB),
            None
        );
    }

    #[test]
    fn at_most_the_cap() {
        assert_eq!(
            raised_maintenance_work_mem("hnsw", 5 * GB, 64 * MB, GB),
            Some(GB)
        );
        // A cap below the session's value changes nothing.
        assert_eq!(
            raised_maintenance_work_mem("hnsw", 5 * GB, 2 * GB, GB),
            None
        );
        assert_eq!(raised_maintenance_work_mem("hnsw", 10 * MB, MB, MB), None);
        assert_eq!(
            raised_maintenance_work_mem("hnsw", u64::MAX, MB, GB),
            Some(GB)
        );
    }

    #[test]
    fn other_methods_keep_the_sessions_value() {
        for method in ["btree", "gist", "gin", "ivfflat", "spgist", "hash"] {
            assert_eq!(raised_maintenance_work_mem(method, 10 * MB, MB, GB), None);
        }
    }

    #[test]
    fn sizes_as_postgresql_writes_them() {
        assert_eq!(guc_memory(64 * MB), "64MB");
        assert_eq!(guc_memory(GB), "1GB");
        assert_eq!(guc_memory(1536 * 1024), "1536kB");
        assert_eq!(guc_memory(0), "0kB");
        let used = SessionUsed {
            maintenance_work_mem: "34MB".into(),
            maintenance_work_mem_raised_from: Some("1MB".into()),
            max_parallel_maintenance_workers: Some(0),
        };
        assert_eq!(
            used.describe(),
            "maintenance_work_mem 34MB (raised from 1MB), max_parallel_maintenance_workers 0"
        );
    }
}
