//! DescribeCluster: cluster id, controller and brokers (KIP-700).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::str_bytes;
use crate::broker::Broker;

pub fn handle(
    broker: &Broker,
    client: &super::ClientInfo,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let ops = if req.include_cluster_authorized_operations {
        broker.cluster_authorized_operations(client)
    } else {
        super::authz::OPERATIONS_NOT_ASKED
    };
    DescribeClusterResponse::default()
        .with_cluster_authorized_operations(ops)
        .with_cluster_id(str_bytes(broker.cluster_id.clone()))
        .with_controller_id(BrokerId(broker.controller_for_clients()))
        .with_brokers(
            broker
                .brokers()
                .into_iter()
                .filter_map(|b| {
                    let (host, port) = b.endpoint(&client.listener)?;
                    Some(
                        DescribeClusterBroker::default()
                            .with_broker_id(BrokerId(b.id))
                            .with_host(str_bytes(host))
                            .with_port(port)
                            .with_rack(b.rack.map(str_bytes)),
                    )
                })
                .collect(),
        )
}
