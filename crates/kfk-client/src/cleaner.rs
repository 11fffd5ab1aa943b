//! kfkd's log cleaner, which Kafka's protocol does not reach: its state per
//! partition and a clean on demand, asked of one broker through config APIs
//! on its broker resource (see kfkd's cleaner view). Against Apache Kafka
//! the state is simply absent and a clean is refused.

use std::time::Duration;

use kafka_protocol::messages::IncrementalAlterConfigsRequest;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::Client;
use crate::error::{ClientError, Result};

const CLEANER_PREFIX: &str = "kfk.cleaner:";
const COMPACT_KEY: &str = "kfk.compact";
/// The broker answers a clean within two minutes; a little more for the trip.
const COMPACT_TIMEOUT: Duration = Duration::from_secs(130);

/// One partition's cleaning state on one broker.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct PartitionCleaning {
    pub partition: i32,
    /// Share of the log written since its last clean.
    pub dirty_ratio: f64,
    pub first_dirty_offset: i64,
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    /// When the last clean finished (ms since the epoch).
    pub last_clean_ms: Option<i64>,
    /// The last clean failed; the cleaner skips the log until asked.
    pub uncleanable: bool,
    pub cleaning: bool,
}

#[derive(serde::Deserialize)]
struct CleanerState {
    partitions: Vec<PartitionCleaning>,
}

impl Client {
    /// The cleaning state of `topic`'s partitions that broker `broker`
    /// holds; `None` from a broker that does not say (Apache Kafka).
    ///
    /// # Errors
    /// The broker cannot be reached.
    pub async fn cleaner_state(
        &self,
        broker: i32,
        topic: &str,
    ) -> Result<Option<Vec<PartitionCleaning>>> {
        let key = format!("{CLEANER_PREFIX}{topic}");
        let configs = self
            .describe_configs_keys(4, &broker.to_string(), Some(vec![key.clone()]))
            .await?;
        Ok(configs
            .into_iter()
            .find(|c| c.name == key)
            .and_then(|c| c.value)
            .and_then(|v| serde_json::from_str::<CleanerState>(&v).ok())
            .map(|s| s.partitions))
    }

    /// Has broker `broker` clean its logs of `topic` (one partition with
    /// `Some`) now, and waits for it.
    ///
    /// # Errors
    /// An unknown topic, a cleaner that is off, a failed clean, or a broker
    /// that has no such request (Apache Kafka: INVALID_CONFIG or similar).
    pub async fn compact(&self, broker: i32, topic: &str, partition: Option<i32>) -> Result<()> {
        let target = match partition {
            Some(p) => format!("{topic}:{p}"),
            None => topic.to_string(),
        };
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_string(broker.to_string()))
                .with_configs(vec![
                    AlterableConfig::default()
                        .with_name(StrBytes::from_static_str(COMPACT_KEY))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_string(target))),
                ]),
        ]);
        let conn = self.broker(broker).await?;
        let (resp, _) = conn.send_within(&req, COMPACT_TIMEOUT).await?;
        for r in resp.responses {
            ClientError::check(
                r.error_code,
                r.error_message.as_deref(),
                format!("broker {broker} could not clean {topic}"),
            )?;
        }
        Ok(())
    }
}
