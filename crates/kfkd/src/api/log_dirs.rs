//! DescribeLogDirs: this broker's one data directory and the size of each
//! partition replica in it, which tells how far a new replica has come.

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};

use super::{str_bytes, topic_name};
use crate::broker::Broker;

pub fn handle(broker: &Broker, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let wanted = |topic: &str, p: i32| {
        req.topics.as_ref().is_none_or(|ts| {
            ts.iter()
                .any(|t| t.topic.0.as_str() == topic && t.partitions.contains(&p))
        })
    };
    let mut by_topic: std::collections::BTreeMap<String, Vec<DescribeLogDirsPartition>> =
        std::collections::BTreeMap::new();
    for part in broker.hosted_partitions() {
        if !wanted(&part.tp.topic, part.tp.partition) {
            continue;
        }
        // Kafka's offset lag of a current replica: how far its end is
        // behind the high watermark it knows.
        let lag = (part.high_watermark() - part.log().log_end_offset()).max(0);
        by_topic.entry(part.tp.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(part.tp.partition)
                .with_partition_size(i64::try_from(part.log().size_bytes()).unwrap_or(i64::MAX))
                .with_offset_lag(lag),
        );
    }
    let topics = by_topic
        .into_iter()
        .map(|(t, mut ps)| {
            ps.sort_by_key(|p| p.partition_index);
            DescribeLogDirsTopic::default()
                .with_name(topic_name(&t))
                .with_partitions(ps)
        })
        .collect();
    let dir = broker.settings.data_dir.display().to_string();
    DescribeLogDirsResponse::default().with_results(vec![
        DescribeLogDirsResult::default()
            .with_log_dir(str_bytes(dir))
            .with_topics(topics)
            .with_total_bytes(-1)
            .with_usable_bytes(-1),
    ])
}
