//! OffsetForLeaderEpoch (KIP-101, KIP-320): where a leader epoch ended in this
//! broker's log, so a returning follower (or a consumer checking for
//! truncation) knows what to cut.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kfk_log::TopicPartition;

use crate::broker::Broker;

pub fn handle(broker: &Broker, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let out = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let tp = TopicPartition::new(name.clone(), p.partition);
                    let Some(part) = broker.partition(&tp) else {
                        return out.with_error_code(broker.not_hosted(&tp).code());
                    };
                    if let Err(e) = part.check_leader(p.current_leader_epoch) {
                        return out.with_error_code(e.code());
                    }
                    let (epoch, end) = part.log().end_offset_for_epoch(p.leader_epoch);
                    out.with_leader_epoch(epoch).with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
