//! What a REINDEX INDEX CONCURRENTLY leaves behind when it does not end well, and
//! which of it is ours.
//!
//! The rebuild first creates a copy, `<index>_ccnew`, builds it, then swaps: the copy
//! takes the index's name and the original becomes `<index>_ccold`, which is marked
//! dead and dropped. A failure before the swap leaves the copy (invalid; once "ready"
//! it still slows every write); a failure after it leaves the original, invalid.
//! PostgreSQL names the copy like any derived object: the index name cut short so the
//! whole fits in 63 bytes (without splitting a character), `_`, the label, and a
//! number after the label when the name is taken.

use std::collections::HashSet;

/// `NAMEDATALEN - 1`: the longest identifier, in bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copy {
    /// `_ccnew`: the new index, before the swap.
    New,
    /// `_ccold`: the original, after the swap.
    Old,
}

impl Copy {
    fn label(self) -> &'static str {
        match self {
            Copy::New => "ccnew",
            Copy::Old => "ccold",
        }
    }
}

/// The name PostgreSQL gives `index`'s copy with this label (`ccnew`, `ccnew1`, …).
fn derived_name(index: &str, label: &str) -> String {
    let room = MAX_IDENTIFIER_BYTES.saturating_sub(label.len() + 1);
    let mut cut = index.len().min(room);
    while !index.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{label}", &index[..cut])
}

/// True when `name` is a name PostgreSQL would give to `index`'s copy of this kind.
pub(crate) fn is_copy_name(name: &str, index: &str, copy: Copy) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let number = &name[stem.len()..];
    // PostgreSQL numbers from 1 and never writes a leading zero.
    if number.starts_with('0') || !stem.ends_with(copy.label()) {
        return false;
    }
    name == derived_name(index, &format!("{}{number}", copy.label()))
}

/// An invalid index on a table, as a scan after a rebuild sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidIndexRef<'a> {
    pub(crate) oid: u32,
    pub(crate) name: &'a str,
    pub(crate) table_oid: u32,
}

/// What is known of one rebuild of ours: enough to tell its leftovers from anyone
/// else's, by identity rather than by name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RebuildTrace {
    pub(crate) table_oid: u32,
    pub(crate) index_oid_before: u32,
    /// The index's name (without schema) when the rebuild started.
    pub(crate) index_name: String,
    /// Invalid indexes on the table before the rebuild started: never ours.
    pub(crate) invalid_before: HashSet<u32>,
    /// The copy's oid, once seen in `pg_stat_progress_create_index` while it was built.
    pub(crate) copy_oid: Option<u32>,
}

impl RebuildTrace {
    /// Whether this invalid index is what our rebuild left, and which copy it is.
    pub(crate) fn leftover(&self, index: InvalidIndexRef<'_>) -> Option<Copy> {
        if index.table_oid != self.table_oid || self.invalid_before.contains(&index.oid) {
            return None;
        }
        if index.oid == self.index_oid_before {
            // The original, swapped out and renamed.
            return is_copy_name(index.name, &self.index_name, Copy::Old).then_some(Copy::Old);
        }
        let named_like_our_copy = is_copy_name(index.name, &self.index_name, Copy::New);
        match self.copy_oid {
            Some(copy) => (index.oid == copy && named_like_our_copy).then_some(Copy::New),
            // Not seen while it was built: it appeared during our rebuild and carries
            // the name of our copy.
            None => named_like_our_copy.then_some(Copy::New),
        }
    }
}

/// How a rebuild that did not report success ended, from what its index's name
/// points to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The name points to a new valid index: the swap happened, the rebuild did its
    /// work; whatever failed came after (marking the old index dead, dropping it).
    Swapped { new_oid: u32 },
    /// The index is as it was (or gone): the rebuild failed.
    NotSwapped,
}

/// `now`: the oid and validity of the index that carries the name now, if any.
pub(crate) fn ended(index_oid_before: u32, now: Option<(u32, bool)>) -> Ended {
    match now {
        Some((oid, true)) if oid != index_oid_before => Ended::Swapped { new_oid: oid },
        _ => Ended::NotSwapped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn copies_are_named_as_postgresql_names_them() {
        assert_eq!(derived_name("orders_id", "ccnew"), "orders_id_ccnew");
        assert_eq!(derived_name("orders_id", "ccold2"), "orders_id_ccold2");
        let long = "x".repeat(63);
        assert_eq!(
            derived_name(&long, "ccnew"),
            format!("{}_ccnew", "x".repeat(57))
        );
        assert_eq!(
            derived_name(&long, "ccnew12"),
            format!("{}_ccnew12", "x".repeat(55))
        );
        // 29 two-byte characters and an x: the cut falls inside a character, which
        // is kept out whole.
        let umlauts = format!("{}x", "ä".repeat(29));
        assert_eq!(umlauts.len(), 59);
        assert_eq!(
            derived_name(&umlauts, "ccnew"),
            format!("{}_ccnew", "ä".repeat(28))
        );
    }

    #[test]
    fn only_the_exact_copy_name_matches() {
        assert!(is_copy_name("orders_id_ccnew", "orders_id", Copy::New));
        assert!(is_copy_name("orders_id_ccnew1", "orders_id", Copy::New));
        assert!(is_copy_name("orders_id_ccold", "orders_id", Copy::Old));
        assert!(!is_copy_name("orders_id_ccold", "orders_id", Copy::New));
        // Someone else's names that only look alike.
        assert!(!is_copy_name("orders_ccnew", "orders_id", Copy::New));
        assert!(!is_copy_name("orders_id_ccnew0", "orders_id", Copy::New));
        assert!(!is_copy_name("orders_id_ccnew_x", "orders_id", Copy::New));
        assert!(!is_copy_name("orders_idx_ccnew", "orders_id", Copy::New));
        let long = "y".repeat(63);
        assert!(is_copy_name(
            &format!("{}_ccnew3", "y".repeat(56)),
            &long,
            Copy::New
        ));
        assert!(!is_copy_name(
            &format!("{}_ccnew3", "y".repeat(55)),
            &long,
            Copy::New
        ));
    }

    fn trace(copy_oid: Option<u32>) -> RebuildTrace {
        RebuildTrace {
            table_oid: 10,
            index_oid_before: 20,
            index_name: "fragile_idx".into(),
            invalid_before: HashSet::from([30]),
            copy_oid,
        }
    }

    fn invalid(oid: u32, name: &str) -> InvalidIndexRef<'_> {
        InvalidIndexRef {
            oid,
            name,
            table_oid: 10,
        }
    }

    #[test]
    fn leftovers_are_ours_by_identity() {
        let t = trace(None);
        // Someone's failed CREATE INDEX CONCURRENTLY that happens to carry the name,
        // there before we started.
        assert_eq!(t.leftover(invalid(30, "fragile_idx_ccnew")), None);
        // Ours took the next number.
        assert_eq!(
            t.leftover(invalid(41, "fragile_idx_ccnew1")),
            Some(Copy::New)
        );
        // The original after the swap.
        assert_eq!(
            t.leftover(invalid(20, "fragile_idx_ccold")),
            Some(Copy::Old)
        );
        // Unrelated names and other tables are never ours.
        assert_eq!(t.leftover(invalid(42, "fragile_ccnew")), None);
        assert_eq!(t.leftover(invalid(43, "whatever")), None);
        let elsewhere = InvalidIndexRef {
            table_oid: 11,
            ..invalid(44, "fragile_idx_ccnew1")
        };
        assert_eq!(t.leftover(elsewhere), None);
    }

    #[test]
    fn a_copy_seen_while_built_is_known_by_its_oid() {
        let t = trace(Some(41));
        assert_eq!(
            t.leftover(invalid(41, "fragile_idx_ccnew1")),
            Some(Copy::New)
        );
        assert_eq!(t.leftover(invalid(45, "fragile_idx_ccnew2")), None);
    }

    #[test]
    fn a_new_valid_index_under_the_name_means_the_swap_happened() {
        assert_eq!(ended(20, Some((25, true))), Ended::Swapped { new_oid: 25 });
        assert_eq!(ended(20, Some((20, true))), Ended::NotSwapped);
        assert_eq!(ended(20, Some((25, false))), Ended::NotSwapped);
        assert_eq!(ended(20, None), Ended::NotSwapped);
    }

    proptest! {
        #[test]
        fn derived_names_fit_and_are_recognised(index in "\\PC{1,70}", number in 0u32..30) {
            let label = if number == 0 { "ccnew".to_owned() } else { format!("ccnew{number}") };
            let name = derived_name(&index, &label);
            prop_assert!(name.len() <= MAX_IDENTIFIER_BYTES);
            prop_assert!(is_copy_name(&name, &index, Copy::New));
            prop_assert!(!is_copy_name(&name, &index, Copy::Old));
        }
    }
}
