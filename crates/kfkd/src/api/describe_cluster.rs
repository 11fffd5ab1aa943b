//! DescribeCluster: cluster id, controller and brokers (KIP-700).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::str_bytes;
use crate::broker::Broker;

pub fn handle(broker: &Broker, _req: DescribeClusterRequest) -> DescribeClusterResponse {
    let (host, port) = broker.advertised_endpoint();
    let rack = (!broker.settings.rack.is_empty()).then(|| str_bytes(broker.settings.rack.clone()));
    DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(broker.cluster_id.clone()))
        .with_controller_id(BrokerId(broker.node_id))
        .with_brokers(vec![
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(broker.node_id))
                .with_host(str_bytes(host))
                .with_port(port)
                .with_rack(rack),
        ])
}
