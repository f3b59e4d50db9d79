//! pgvector releases with known index bugs, as the PostgreSQL bug gates are for the
//! server: from the version installed in a database (`pg_extension.extversion`),
//! what is worth a warning, what changes how its indexes are rebuilt, and which kind
//! of index is not rebuilt at all until the extension is upgraded. Every entry cites
//! pgvector's CHANGELOG.md.

use serde::Serialize;

/// A pgvector version (`0.8.2`); a suffix (`0.8.2-dev`) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PgvectorVersion(pub u32, pub u32, pub u32);

impl PgvectorVersion {
    pub(crate) fn parse(text: &str) -> Option<PgvectorVersion> {
        let mut parts = text.trim().split('.').map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some(PgvectorVersion(major, minor, patch))
    }
}

impl std::fmt::Display for PgvectorVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What a known bug makes index-pilot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// The rebuild is not the risk (it replaces an index the bug may have harmed):
    /// the DBA is told to upgrade.
    Warn,
    /// HNSW rebuilds run without parallel workers (`max_parallel_maintenance_workers
    /// = 0` in their session), which the bug needs.
    SerialHnswBuild,
    /// Indexes of this access method are not rebuilt: the rebuild itself would run
    /// into the bug.
    Refuse(&'static str),
}

/// One entry of pgvector's CHANGELOG.md: the versions it affects (`from` up to, not
/// including, `fixed_in`) and what it does.
struct KnownBug {
    from: PgvectorVersion,
    fixed_in: PgvectorVersion,
    what: &'static str,
    effect: Effect,
}

const fn v(major: u32, minor: u32, patch: u32) -> PgvectorVersion {
    PgvectorVersion(major, minor, patch)
}

/// HNSW came with 0.5.0, its parallel build with 0.6.0 (CHANGELOG.md).
const KNOWN_BUGS: &[KnownBug] = &[
    // 0.8.3: "Fixed possible index corruption with HNSW vacuuming". Bloat comes from
    // deletes and their vacuums, so every HNSW index this tool watches is vacuumed.
    KnownBug {
        from: v(0, 5, 0),
        fixed_in: v(0, 8, 3),
        what: "VACUUM can corrupt HNSW indexes",
        effect: Effect::Warn,
    },
    // 0.8.4: "Fixed `hnsw graph not repaired` error with HNSW vacuuming" and "Fixed
    // possible error with inserts during HNSW vacuuming".
    KnownBug {
        from: v(0, 5, 0),
        fixed_in: v(0, 8, 4),
        what: "VACUUM of an HNSW index can fail with \"hnsw graph not repaired\", and inserts during it can fail",
        effect: Effect::Warn,
    },
    // 0.8.2: "Fixed buffer overflow with parallel HNSW index build" (issue #959).
    KnownBug {
        from: v(0, 6, 0),
        fixed_in: v(0, 8, 2),
        what: "a parallel HNSW build can overflow a buffer; HNSW rebuilds run without parallel workers here",
        effect: Effect::SerialHnswBuild,
    },
    // 0.7.4: "Fixed locking for parallel HNSW index builds".
    KnownBug {
        from: v(0, 6, 0),
        fixed_in: v(0, 7, 4),
        what: "parallel HNSW builds lock wrongly; HNSW rebuilds run without parallel workers here",
        effect: Effect::SerialHnswBuild,
    },
    // 0.7.2: "Fixed initialization fork for indexes on unlogged tables": such an
    // index, rebuilt or not, may be unusable after a crash.
    KnownBug {
        from: v(0, 0, 0),
        fixed_in: v(0, 7, 2),
        what: "HNSW and IVFFlat indexes on unlogged tables get an initialization fork that is not WAL-logged, and may be unusable after a crash",
        effect: Effect::Warn,
    },
    // 0.3.1: "Fixed issue with inserts silently corrupting `ivfflat` indexes
    // (introduced in 0.2.7)". REINDEX CONCURRENTLY inserts the rows written during
    // its build into the new index: the rebuilt index would be corrupted.
    KnownBug {
        from: v(0, 2, 7),
        fixed_in: v(0, 3, 1),
        what: "inserts silently corrupt IVFFlat indexes, and REINDEX CONCURRENTLY inserts the rows written during the build",
        effect: Effect::Refuse("ivfflat"),
    },
    // 0.3.1: "Fixed segmentation fault with index creation when lists > 6500": a
    // crashed backend restarts the whole server.
    KnownBug {
        from: v(0, 0, 0),
        fixed_in: v(0, 3, 1),
        what: "an IVFFlat build with lists > 6500 crashes its server process, which restarts the server",
        effect: Effect::Refuse("ivfflat"),
    },
];

/// A known bug of the installed pgvector, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PgvectorWarning {
    pub(crate) installed: String,
    pub(crate) fixed_in: String,
    /// What the bug does.
    pub(crate) bug: String,
    pub(crate) message: String,
}

/// The warning's sentence: the bug, where it is fixed, what to do.
pub(crate) fn warning_message(installed: &str, bug: &str, fixed_in: &str) -> String {
    format!(
        "pgvector {installed}: {bug} (fixed in pgvector {fixed_in}, see its CHANGELOG.md); upgrade the extension (ALTER EXTENSION vector UPDATE once the server has the new version)"
    )
}

/// What the installed pgvector means for this database's rebuilds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PgvectorGates {
    pub(crate) warnings: Vec<PgvectorWarning>,
    serial_hnsw: bool,
    /// Access methods not rebuilt, with the version to upgrade to.
    refused: Vec<(&'static str, PgvectorVersion)>,
}

impl PgvectorGates {
    /// `installed`: `extversion` of the extension `vector`, `None` when it is not
    /// installed. A version that cannot be read gates nothing.
    pub(crate) fn of(installed: Option<&str>) -> PgvectorGates {
        let Some(version) = installed.and_then(PgvectorVersion::parse) else {
            return PgvectorGates::default();
        };
        let mut gates = PgvectorGates::default();
        for bug in KNOWN_BUGS
            .iter()
            .filter(|bug| bug.from <= version && version < bug.fixed_in)
        {
            let (installed, fixed_in) = (version.to_string(), bug.fixed_in.to_string());
            gates.warnings.push(PgvectorWarning {
                message: warning_message(&installed, bug.what, &fixed_in),
                installed,
                fixed_in,
                bug: bug.what.to_owned(),
            });
            match bug.effect {
                Effect::Warn => {}
                Effect::SerialHnswBuild => gates.serial_hnsw = true,
                Effect::Refuse(method) => match gates.refused.iter_mut().find(|r| r.0 == method) {
                    Some(refused) => refused.1 = refused.1.max(bug.fixed_in),
                    None => gates.refused.push((method, bug.fixed_in)),
                },
            }
        }
        gates
    }

    /// Whether an index of this access method must be built without parallel workers.
    pub(crate) fn serial_build(&self, access_method: &str) -> bool {
        self.serial_hnsw && access_method == "hnsw"
    }

    /// Why an index of this access method is not rebuilt, naming the version to
    /// upgrade to.
    pub(crate) fn refusal(&self, access_method: &str) -> Option<String> {
        let (_, fixed_in) = self.refused.iter().find(|r| r.0 == access_method)?;
        let installed = self.warnings.first().map_or("", |w| w.installed.as_str());
        Some(format!(
            "pgvector {installed} has bugs that a rebuild of a {access_method} index runs into (the target's warnings name them): upgrade pgvector to {fixed_in} or newer"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_in(gates: &PgvectorGates) -> Vec<&str> {
        gates.warnings.iter().map(|w| w.fixed_in.as_str()).collect()
    }

    #[test]
    fn versions_are_read_as_pg_extension_gives_them() {
        assert_eq!(PgvectorVersion::parse("0.8.2"), Some(v(0, 8, 2)));
        assert_eq!(PgvectorVersion::parse("0.8"), Some(v(0, 8, 0)));
        assert_eq!(PgvectorVersion::parse("0.8.2-dev"), Some(v(0, 8, 2)));
        assert_eq!(PgvectorVersion::parse("vector"), None);
        assert!(v(0, 10, 0) > v(0, 9, 9));
    }

    #[test]
    fn version_0_8_2_is_warned_about_its_hnsw_vacuum_fixes() {
        let gates = PgvectorGates::of(Some("0.8.2"));
        assert_eq!(fixed_in(&gates), ["0.8.3", "0.8.4"]);
        assert!(gates.warnings[0].message.contains("corrupt"));
        assert!(gates.warnings[1]
            .message
            .contains("hnsw graph not repaired"));
        // 0.8.2 has the parallel build's fix: HNSW builds keep their workers.
        assert!(!gates.serial_build("hnsw"));
        assert_eq!(gates.refusal("hnsw"), None);
        assert_eq!(gates.refusal("ivfflat"), None);
    }

    #[test]
    fn before_0_8_2_hnsw_is_built_without_parallel_workers() {
        let gates = PgvectorGates::of(Some("0.8.1"));
        assert_eq!(fixed_in(&gates), ["0.8.3", "0.8.4", "0.8.2"]);
        assert!(gates.serial_build("hnsw"));
        assert!(!gates.serial_build("ivfflat"));
        let gates = PgvectorGates::of(Some("0.7.0"));
        assert_eq!(
            fixed_in(&gates),
            ["0.8.3", "0.8.4", "0.8.2", "0.7.4", "0.7.2"]
        );
        assert!(gates.serial_build("hnsw"));
        // No parallel HNSW build before 0.6.0.
        assert!(!PgvectorGates::of(Some("0.5.1")).serial_build("hnsw"));
    }

    #[test]
    fn ivfflat_is_refused_where_inserts_corrupt_it() {
        let gates = PgvectorGates::of(Some("0.3.0"));
        let why = gates.refusal("ivfflat").expect("refused");
        assert!(why.contains("upgrade pgvector to 0.3.1"), "{why}");
        assert!(why.contains("pgvector 0.3.0"), "{why}");
        assert_eq!(gates.refusal("hnsw"), None);
        assert!(PgvectorGates::of(Some("0.2.6"))
            .refusal("ivfflat")
            .is_some());
        assert_eq!(PgvectorGates::of(Some("0.3.1")).refusal("ivfflat"), None);
    }

    #[test]
    fn current_releases_and_absent_ones_gate_nothing() {
        assert_eq!(PgvectorGates::of(Some("0.8.4")), PgvectorGates::default());
        assert_eq!(PgvectorGates::of(Some("0.9.0")), PgvectorGates::default());
        assert_eq!(PgvectorGates::of(None), PgvectorGates::default());
        assert_eq!(PgvectorGates::of(Some("unknown")), PgvectorGates::default());
    }
}
