//! Disk, judged before a rebuild where the free space can be known (RDS and Aurora:
//! CloudWatch). A concurrent rebuild keeps the old index until the new one is built:
//! it needs room for a second copy, and for the WAL that copy writes.

use std::time::Duration;

use serde::Serialize;

use super::Hazard;

/// Free storage as the instance's metric last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreeStorage {
    /// The instance the metric is about (`DBInstanceIdentifier`).
    pub instance: String,
    /// `FreeStorageSpace`, or `FreeLocalStorage` on Aurora.
    pub metric: String,
    pub free_bytes: u64,
    /// How old the reading is.
    #[serde(rename = "age_s", serialize_with = "whole_seconds")]
    pub age: Duration,
}

fn whole_seconds<S: serde::Serializer>(age: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(age.as_secs())
}

/// What a rebuild of an index of `size_bytes` needs: the copy and its WAL, each at
/// most the index's size (a fresh build is no larger than the index it replaces).
pub fn rebuild_needs(size_bytes: u64) -> u64 {
    size_bytes.saturating_mul(2)
}

/// Why a rebuild of `size_bytes` must not start with this much free, keeping
/// `min_free` free besides.
pub fn disk_hazard(free: &FreeStorage, size_bytes: u64, min_free: u64) -> Option<Hazard> {
    let needed = rebuild_needs(size_bytes).saturating_add(min_free);
    (free.free_bytes < needed).then(|| Hazard::Disk {
        storage: free.clone(),
        needed_bytes: needed,
        min_free_bytes: min_free,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deferral::DeferralKind;

    const GB: u64 = 1 << 30;

    fn free(bytes: u64) -> FreeStorage {
        FreeStorage {
            instance: "orders-1".into(),
            metric: "FreeStorageSpace".into(),
            free_bytes: bytes,
            age: Duration::from_secs(90),
        }
    }

    #[test]
    fn a_rebuild_needs_its_copy_its_wal_and_the_margin() {
        assert_eq!(disk_hazard(&free(9 * GB), 2 * GB, 5 * GB), None);
        let hazard = disk_hazard(&free(9 * GB - 1), 2 * GB, 5 * GB).unwrap();
        assert_eq!(hazard.kind(), DeferralKind::Disk);
        assert!(!hazard.stops_the_rest(), "a smaller index may still fit");
        assert_eq!(
            hazard.describe(),
            "instance orders-1 has 9216 MB free (FreeStorageSpace, 1 min 30 s ago): a rebuild of this index needs about 9216 MB (a second copy and its WAL, and min_free_storage 5120 MB kept free)"
        );
    }
}
