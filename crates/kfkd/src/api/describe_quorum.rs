//! DescribeQuorum (KIP-595/KIP-836): the metadata quorum's leader, epoch,
//! high watermark and replicas, for `kafka-metadata-quorum describe` and
//! `kfk cluster status`. Any broker answers; it asks the leader when it is
//! not the leader itself, as KRaft brokers forward it to the controller.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse};

use super::{str_bytes, topic_name};
use crate::broker::{Broker, QUORUM_DIR};
use crate::quorum::view::ReplicaProgress;

fn replica(r: &ReplicaProgress) -> ReplicaState {
    ReplicaState::default()
        .with_replica_id(BrokerId(r.id))
        .with_log_end_offset(r.log_end_offset)
        .with_last_fetch_timestamp(-1)
        .with_last_caught_up_timestamp(-1)
}

pub async fn handle(broker: &Broker, req: DescribeQuorumRequest) -> DescribeQuorumResponse {
    // The only partition there is: __cluster_metadata-0.
    let asked_for_it = req.topics.iter().any(|t| {
        t.topic_name.0.as_str() == QUORUM_DIR && t.partitions.iter().any(|p| p.partition_index == 0)
    });
    if !asked_for_it {
        return DescribeQuorumResponse::default()
            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
            .with_error_message(Some(str_bytes(format!("only {QUORUM_DIR}-0 has a quorum"))));
    }
    let partition = PartitionData::default().with_partition_index(0);
    let (partition, nodes) = match crate::quorum::view::describe(&broker.raft).await {
        Ok(v) => {
            let nodes = v
                .addresses
                .iter()
                .map(|(id, addr)| {
                    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "0"));
                    Node::default()
                        .with_node_id(BrokerId(*id))
                        .with_listeners(vec![
                            Listener::default()
                                .with_name(str_bytes("CONTROLLER".to_string()))
                                .with_host(str_bytes(host.to_string()))
                                .with_port(port.parse().unwrap_or(0)),
                        ])
                })
                .collect();
            (
                partition
                    .with_leader_id(BrokerId(v.leader))
                    .with_leader_epoch(v.epoch)
                    .with_high_watermark(v.high_watermark)
                    .with_current_voters(v.voters.iter().map(replica).collect())
                    .with_observers(v.observers.iter().map(replica).collect()),
                nodes,
            )
        }
        Err(why) => (
            partition
                .with_error_code(ResponseError::NotLeaderOrFollower.code())
                .with_error_message(Some(str_bytes(why)))
                .with_leader_id(BrokerId(-1))
                .with_leader_epoch(-1)
                .with_high_watermark(-1),
            Vec::new(),
        ),
    };
    DescribeQuorumResponse::default()
        .with_topics(vec![
            TopicData::default()
                .with_topic_name(topic_name(QUORUM_DIR.to_string()))
                .with_partitions(vec![partition]),
        ])
        .with_nodes(nodes)
}
