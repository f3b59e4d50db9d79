//! [`FreeStorageSource`] from CloudWatch: the `AWS/RDS` metric of the instance
//! (`DBInstanceIdentifier`), its per-minute minimum over the last
//! [`READING_WINDOW`], the newest datapoint.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use aws_config::Region;
use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_sdk_cloudwatch::Client;
use futures::future::BoxFuture;

use super::Sdk;
use crate::domain::hazard::{newest_reading, FreeStorage, InstanceStorage, READING_WINDOW};
use crate::engine::free_storage::{FreeStorageSource, StorageError};

/// One datapoint a minute: RDS publishes its storage metrics every minute.
const PERIOD_SECONDS: i32 = 60;

pub struct CloudWatch {
    sdk: Sdk,
    /// A client per region: targets may name instances in other regions.
    clients: Mutex<HashMap<String, Client>>,
}

impl CloudWatch {
    pub fn new(sdk: Sdk) -> Self {
        CloudWatch {
            sdk,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The region asked for (else the configuration's) and its client.
    async fn client(&self, region: Option<&str>) -> Result<(String, Client), StorageError> {
        let config = self.sdk.config().await;
        let region = region
            .or_else(|| config.region().map(Region::as_ref))
            .ok_or(StorageError::NoRegion)?
            .to_owned();
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let client = clients.entry(region.clone()).or_insert_with(|| {
            let conf = aws_sdk_cloudwatch::config::Builder::from(config)
                .region(Region::new(region.clone()))
                .build();
            Client::from_conf(conf)
        });
        Ok((region, client.clone()))
    }

    async fn read(&self, storage: &InstanceStorage) -> Result<Option<FreeStorage>, StorageError> {
        let (region, client) = self.client(storage.region.as_deref()).await?;
        let now = self
            .sdk
            .config()
            .await
            .time_source()
            .map_or_else(SystemTime::now, |clock| clock.now());
        let output = client
            .get_metric_statistics()
            .namespace("AWS/RDS")
            .metric_name(storage.metric.as_str())
            .dimensions(
                Dimension::builder()
                    .name("DBInstanceIdentifier")
                    .value(&storage.instance)
                    .build(),
            )
            .start_time(DateTime::from(now - READING_WINDOW))
            .end_time(DateTime::from(now))
            .period(PERIOD_SECONDS)
            .statistics(Statistic::Minimum)
            .send()
            .await
            .map_err(|error| StorageError::Request {
                region,
                reason: DisplayErrorContext(&error).to_string(),
            })?;
        let datapoints: Vec<(SystemTime, f64)> = output
            .datapoints()
            .iter()
            .filter_map(|point| {
                let at = SystemTime::try_from(*point.timestamp()?).ok()?;
                Some((at, point.minimum()?))
            })
            .collect();
        Ok(newest_reading(storage, &datapoints, now)?)
    }
}

impl FreeStorageSource for CloudWatch {
    fn newest<'a>(
        &'a self,
        storage: &'a InstanceStorage,
    ) -> BoxFuture<'a, Result<Option<FreeStorage>, StorageError>> {
        Box::pin(self.read(storage))
    }
}

#[cfg(test)]
mod tests {
    use aws_config::{BehaviorVersion, SdkConfig};

    use super::*;
    use crate::domain::hazard::StorageMetric;

    #[tokio::test]
    async fn without_a_region_it_says_so_before_any_request() {
        let sdk = Sdk::from_config(
            SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .build(),
        );
        let storage = InstanceStorage {
            instance: "orders-1".into(),
            metric: StorageMetric::FreeStorageSpace,
            region: None,
        };
        let error = CloudWatch::new(sdk).newest(&storage).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "no AWS region: give \"region\" in free_storage or set AWS_REGION"
        );
    }
}
