//! WriteTxnMarkers: a transaction coordinator (this broker's own, or
//! another's) has this leader write COMMIT or ABORT markers to partitions
//! it leads. Each partition answers once its marker is on every in-sync
//! replica, so the coordinator records the transaction complete only when
//! no leader change can lose a marker.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use kfk_log::TopicPartition;
use tokio::time::Instant;
use tracing::debug;

use crate::broker::Broker;

/// How long the markers of one request may wait for the in-sync replicas.
const REPLICATION_WAIT: Duration = Duration::from_secs(30);

pub async fn handle(broker: &Broker, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    let deadline = Instant::now() + REPLICATION_WAIT;
    // Append every marker first, then wait: the partitions replicate in parallel.
    let mut appended = Vec::with_capacity(req.markers.len());
    for marker in &req.markers {
        let mut topics = Vec::with_capacity(marker.topics.len());
        for topic in &marker.topics {
            let name = topic.name.0.to_string();
            let mut partitions = Vec::with_capacity(topic.partition_indexes.len());
            for &p in &topic.partition_indexes {
                let tp = TopicPartition::new(name.clone(), p);
                let result = match broker.partition(&tp) {
                    None => Err(broker.not_hosted(&tp)),
                    Some(part) => part
                        .append_marker(
                            marker.producer_id.0,
                            marker.producer_epoch,
                            marker.coordinator_epoch,
                            marker.transaction_result,
                        )
                        .map(|a| (part, a))
                        .map_err(|e| {
                            debug!(partition = %tp, error = ?e, "marker refused");
                            e.error
                        }),
                };
                if let Ok((_, a)) = &result
                    && tp.topic == kfk_group::schema::OFFSETS_TOPIC
                {
                    // Offsets committed in the transaction become visible
                    // (or are dropped) with the marker.
                    broker.groups.end_txn_offsets(
                        p,
                        marker.producer_id.0,
                        marker.transaction_result,
                        a.base_offset,
                    );
                }
                partitions.push((p, result));
            }
            topics.push((topic.name.clone(), partitions));
        }
        appended.push((marker.producer_id, topics));
    }
    broker.data_arrived.notify_waiters();
    let mut markers = Vec::with_capacity(appended.len());
    for (producer_id, topics) in appended {
        let mut out_topics = Vec::with_capacity(topics.len());
        for (name, partitions) in topics {
            let mut out = Vec::with_capacity(partitions.len());
            for (p, result) in partitions {
                let code = match result {
                    Ok((part, a)) => match part
                        .wait_committed(a.end_offset, a.leader_epoch, deadline)
                        .await
                    {
                        Ok(()) => 0,
                        Err(e) => e.code(),
                    },
                    Err(e) => e.code(),
                };
                out.push(
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(p)
                        .with_error_code(code),
                );
            }
            out_topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(name)
                    .with_partitions(out),
            );
        }
        markers.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(producer_id)
                .with_topics(out_topics),
        );
    }
    let _ = ResponseError::NotLeaderOrFollower;
    WriteTxnMarkersResponse::default().with_markers(markers)
}
