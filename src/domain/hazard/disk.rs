//! Disk, judged before a rebuild where the free space can be known (RDS and Aurora:
//! CloudWatch). A concurrent rebuild keeps the old index until the new one is built:
//! it needs room for a second copy, and for the WAL that copy writes.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::Hazard;

/// How far back a reading is looked for: CloudWatch has the RDS storage metrics
/// every minute, so an instance without a datapoint in this long is not reporting
/// them (or is not the instance its target names).
pub(crate) const READING_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The CloudWatch metric (namespace `AWS/RDS`) that tells an instance's free storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub(crate) enum StorageMetric {
    /// The instance's storage volume (RDS).
    #[default]
    FreeStorageSpace,
    /// The instance's local storage (Aurora: the cluster volume grows by itself,
    /// but an index build sorts in local temporary storage).
    FreeLocalStorage,
}

impl StorageMetric {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StorageMetric::FreeStorageSpace => "FreeStorageSpace",
            StorageMetric::FreeLocalStorage => "FreeLocalStorage",
        }
    }
}

impl fmt::Display for StorageMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageMetric {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            StorageMetric::FreeStorageSpace,
            StorageMetric::FreeLocalStorage,
        ]
        .into_iter()
        .find(|metric| metric.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not FreeStorageSpace or FreeLocalStorage"))
    }
}

/// Where a target's free storage is read: one metric of one RDS or Aurora instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceStorage {
    /// The `DBInstanceIdentifier`.
    pub instance: String,
    pub(crate) metric: StorageMetric,
    /// `None`: the region of the AWS configuration.
    pub(crate) region: Option<String>,
}

/// Free storage as the instance's metric last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreeStorage {
    /// The instance the metric is about (`DBInstanceIdentifier`).
    pub instance: String,
    /// `FreeStorageSpace`, or `FreeLocalStorage` on Aurora.
    pub(crate) metric: String,
    pub(crate) free_bytes: u64,
    /// How old the reading is.
    #[serde(rename = "age_s", serialize_with = "whole_seconds")]
    pub(crate) age: Duration,
}

fn whole_seconds<S: serde::Serializer>(age: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(age.as_secs())
}

/// What a rebuild of an index of `size_bytes` needs: the copy and its WAL, each at
/// most the index's size (a fresh build is no larger than the index it replaces).
pub(crate) fn rebuild_needs(size_bytes: u64) -> u64 {
    size_bytes.saturating_mul(2)
}

/// Why a rebuild of `size_bytes` must not start with this much free, keeping
/// `min_free` free besides.
pub(crate) fn disk_hazard(free: &FreeStorage, size_bytes: u64, min_free: u64) -> Option<Hazard> {
    let needed = rebuild_needs(size_bytes).saturating_add(min_free);
    (free.free_bytes < needed).then(|| Hazard::Disk {
        storage: free.clone(),
        needed_bytes: needed,
        min_free_bytes: min_free,
    })
}

/// A metric value that is not a number of bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("CloudWatch reported {0} free bytes, which is not a size")]
pub struct NotBytes(pub f64);

/// The newest of `datapoints` (when each began, its value in bytes) as a reading of
/// `storage`, aged from `now`; `None` when there is none.
pub(crate) fn newest_reading(
    storage: &InstanceStorage,
    datapoints: &[(SystemTime, f64)],
    now: SystemTime,
) -> Result<Option<FreeStorage>, NotBytes> {
    let Some(&(at, value)) = datapoints.iter().max_by_key(|(at, _)| *at) else {
        return Ok(None);
    };
    if !value.is_finite() || value < 0.0 {
        return Err(NotBytes(value));
    }
    Ok(Some(FreeStorage {
        instance: storage.instance.clone(),
        metric: storage.metric.to_string(),
        // Whole bytes; an f64 above u64::MAX saturates.
        free_bytes: value as u64,
        // A clock behind CloudWatch's reads as fresh.
        age: now.duration_since(at).unwrap_or_default(),
    }))
}

/// Why a rebuild of `size_bytes` must not start, given what was read of `storage`:
/// a free storage that is not known (no datapoint, a failed read: `Err` says why)
/// holds the rebuild back as much as one that is too small, so that a misspelled
/// instance never lifts the protection.
pub(crate) fn storage_hazard(
    storage: &InstanceStorage,
    read: Result<Option<FreeStorage>, String>,
    size_bytes: u64,
    min_free: u64,
) -> Option<Hazard> {
    let why = match read {
        Ok(Some(free)) => return disk_hazard(&free, size_bytes, min_free),
        Ok(None) => format!(
            "CloudWatch has no {} datapoint of it in the last {} minutes (is the instance identifier right?)",
            storage.metric,
            READING_WINDOW.as_secs() / 60
        ),
        Err(why) => why,
    };
    Some(Hazard::DiskUnknown {
        instance: storage.instance.clone(),
        metric: storage.metric.to_string(),
        why,
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

    fn orders(metric: StorageMetric) -> InstanceStorage {
        InstanceStorage {
            instance: "orders-1".into(),
            metric,
            region: None,
        }
    }

    #[test]
    fn metrics_are_named_as_cloudwatch_names_them() {
        for metric in [
            StorageMetric::FreeStorageSpace,
            StorageMetric::FreeLocalStorage,
        ] {
            assert_eq!(metric.as_str().parse::<StorageMetric>(), Ok(metric));
        }
        assert_eq!(StorageMetric::default(), StorageMetric::FreeStorageSpace);
        assert_eq!(
            "freestoragespace".parse::<StorageMetric>(),
            Err("\"freestoragespace\" is not FreeStorageSpace or FreeLocalStorage".to_owned())
        );
    }

    #[test]
    fn the_newest_datapoint_is_the_reading_and_its_age_counts_from_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ago = |s| now - Duration::from_secs(s);
        let storage = orders(StorageMetric::FreeLocalStorage);
        let points = [(ago(300), 1e12), (ago(120), 4.5e9), (ago(600), 0.0)];
        let reading = newest_reading(&storage, &points, now).unwrap().unwrap();
        assert_eq!(
            reading,
            FreeStorage {
                instance: "orders-1".into(),
                metric: "FreeLocalStorage".into(),
                free_bytes: 4_500_000_000,
                age: Duration::from_secs(120),
            }
        );
        assert_eq!(newest_reading(&storage, &[], now), Ok(None));
        // A datapoint ahead of this clock is fresh, not negative.
        let ahead = newest_reading(&storage, &[(now + Duration::from_secs(5), 1.0)], now);
        assert_eq!(ahead.unwrap().unwrap().age, Duration::ZERO);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let error = newest_reading(&storage, &[(now, bad)], now).unwrap_err();
            assert!(
                error.to_string().ends_with("which is not a size"),
                "{error}"
            );
        }
    }

    #[test]
    fn an_unknown_free_storage_holds_the_rebuild_back_and_names_the_instance() {
        let storage = orders(StorageMetric::FreeStorageSpace);
        let missing = storage_hazard(&storage, Ok(None), GB, 5 * GB).unwrap();
        assert_eq!(missing.kind(), DeferralKind::Disk);
        assert!(missing.stops_the_rest());
        assert_eq!(
            missing.describe(),
            "the free storage of instance orders-1 (FreeStorageSpace) is unknown: CloudWatch has no FreeStorageSpace datapoint of it in the last 15 minutes (is the instance identifier right?)"
        );
        let failed = storage_hazard(&storage, Err("access denied".into()), GB, 5 * GB);
        assert_eq!(
            failed,
            Some(Hazard::DiskUnknown {
                instance: "orders-1".into(),
                metric: "FreeStorageSpace".into(),
                why: "access denied".into(),
            })
        );
        assert_eq!(
            storage_hazard(&storage, Ok(Some(free(7 * GB))), GB, 5 * GB),
            None
        );
        let tight = storage_hazard(&storage, Ok(Some(free(7 * GB - 1))), GB, 5 * GB);
        assert!(matches!(tight, Some(Hazard::Disk { needed_bytes, .. }) if needed_bytes == 7 * GB));
    }
}
