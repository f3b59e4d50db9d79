//! The free storage of RDS and Aurora instances: the port that reads it
//! ([`FreeStorageSource`]), an invocation's readings ([`Readings`]: one read per
//! instance and metric a minute, however many candidates ask), and a source with
//! fixed values for tests and tools. The AWS adapter, CloudWatch through the SDK, is
//! [`crate::aws::CloudWatch`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::domain::hazard::{storage_hazard, FreeStorage, Hazard, InstanceStorage, NotBytes};

/// How long a reading serves: CloudWatch has a new datapoint about every minute.
pub(crate) const READING_REUSE: Duration = Duration::from_secs(60);

/// Why the free storage could not be read; the hazard names the instance and metric.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    #[error("no AWS region: give \"region\" in free_storage or set AWS_REGION")]
    NoRegion,
    #[error("CloudWatch GetMetricStatistics in {region} failed: {reason}")]
    Request { region: String, reason: String },
    #[error(transparent)]
    NotBytes(#[from] NotBytes),
}

/// Reads the newest free storage of an instance. `None`: no datapoint in the last
/// [`crate::domain::hazard::READING_WINDOW`].
pub trait FreeStorageSource: Send + Sync {
    fn newest<'a>(
        &'a self,
        storage: &'a InstanceStorage,
    ) -> BoxFuture<'a, Result<Option<FreeStorage>, StorageError>>;
}

/// What one invocation has read, each reading kept for `reuse`; only readings are
/// kept: a missing or failed one stops its target's rebuilds for this invocation.
pub(crate) struct Readings<'a> {
    source: &'a dyn FreeStorageSource,
    reuse: Duration,
    kept: Mutex<HashMap<InstanceStorage, (Instant, FreeStorage)>>,
}

impl<'a> Readings<'a> {
    pub(crate) fn new(source: &'a dyn FreeStorageSource, reuse: Duration) -> Self {
        Readings {
            source,
            reuse,
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// The newest reading, from memory while it is younger than `reuse` (older by
    /// the time it was kept).
    pub(crate) async fn read(
        &self,
        storage: &InstanceStorage,
    ) -> Result<Option<FreeStorage>, StorageError> {
        if let Some(kept) = self.kept(storage) {
            return Ok(Some(kept));
        }
        let reading = self.source.newest(storage).await?;
        if let Some(reading) = &reading {
            self.kept
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(storage.clone(), (Instant::now(), reading.clone()));
        }
        Ok(reading)
    }

    fn kept(&self, storage: &InstanceStorage) -> Option<FreeStorage> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, reading) = kept.get(storage)?;
        let held = at.elapsed();
        (held < self.reuse).then(|| FreeStorage {
            age: reading.age + held,
            ..reading.clone()
        })
    }

    /// Why a rebuild of `size_bytes` must not start with what is read of `storage`
    /// now, keeping `min_free` free.
    pub(crate) async fn hazard(
        &self,
        storage: &InstanceStorage,
        size_bytes: u64,
        min_free: u64,
    ) -> Option<Hazard> {
        let read = self.read(storage).await.map_err(|e| e.to_string());
        storage_hazard(storage, read, size_bytes, min_free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fixed free bytes by instance, whatever the metric, each reading `age` old; an
    /// instance not listed has no datapoint. Counts the reads.
    #[derive(Default)]
    struct StaticStorage {
        free_bytes: HashMap<String, u64>,
        age: Duration,
        reads: AtomicUsize,
    }

    impl FreeStorageSource for StaticStorage {
        fn newest<'a>(
            &'a self,
            storage: &'a InstanceStorage,
        ) -> BoxFuture<'a, Result<Option<FreeStorage>, StorageError>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let reading = self
                .free_bytes
                .get(&storage.instance)
                .map(|&free_bytes| FreeStorage {
                    instance: storage.instance.clone(),
                    metric: storage.metric.to_string(),
                    free_bytes,
                    age: self.age,
                });
            Box::pin(async move { Ok(reading) })
        }
    }
    use crate::domain::hazard::StorageMetric;

    const GB: u64 = 1 << 30;

    fn storage(instance: &str, metric: StorageMetric) -> InstanceStorage {
        InstanceStorage {
            instance: instance.into(),
            metric,
            region: None,
        }
    }

    fn source() -> StaticStorage {
        StaticStorage {
            free_bytes: HashMap::from([("orders-1".to_owned(), 20 * GB)]),
            age: Duration::from_secs(60),
            ..StaticStorage::default()
        }
    }

    #[tokio::test]
    async fn a_reading_serves_every_candidate_for_a_minute_and_ages() {
        let source = source();
        let readings = Readings::new(&source, READING_REUSE);
        let orders = storage("orders-1", StorageMetric::FreeStorageSpace);
        for _ in 0..300 {
            assert_eq!(readings.hazard(&orders, GB, 5 * GB).await, None);
        }
        assert_eq!(source.reads.load(Ordering::Relaxed), 1);
        let again = readings.read(&orders).await.unwrap().unwrap();
        assert!(again.age > Duration::from_secs(60), "{again:?}");
        // Another metric of the same instance is another reading.
        let local = storage("orders-1", StorageMetric::FreeLocalStorage);
        readings.read(&local).await.unwrap();
        assert_eq!(source.reads.load(Ordering::Relaxed), 2);
        // Past its time a reading is read again.
        let expiring = Readings::new(&source, Duration::ZERO);
        expiring.read(&orders).await.unwrap();
        expiring.read(&orders).await.unwrap();
        assert_eq!(source.reads.load(Ordering::Relaxed), 4);
    }

    #[tokio::test]
    async fn no_datapoint_is_read_again_and_defers_naming_the_instance() {
        let source = source();
        let readings = Readings::new(&source, READING_REUSE);
        let typo = storage("orders-l", StorageMetric::FreeStorageSpace);
        let hazard = readings.hazard(&typo, GB, 5 * GB).await.unwrap();
        assert!(
            hazard.describe().contains("instance orders-l"),
            "{hazard:?}"
        );
        assert!(hazard.stops_the_rest());
        readings.read(&typo).await.unwrap();
        assert_eq!(source.reads.load(Ordering::Relaxed), 2);
    }
}
