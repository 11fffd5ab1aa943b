//! `kfk zk-shell`'s window on the metadata log: DescribeConfigs of a broker
//! naming `kfk.znode:<path>` answers that path's ZooKeeper `Stat` (and, for
//! the nodes no Kafka API describes, its data) as a read-only JSON value.
//! Only asked-for names are answered, so other clients never see them.

use serde_json::{Value, json};

use crate::broker::Broker;
use crate::metadata::MetadataImage;

/// The name prefix that asks for a path.
pub const ZNODE_PREFIX: &str = "kfk.znode:";

/// The JSON `kfk zk-shell` reads for `path`, if the metadata log knows it.
pub fn describe(broker: &Broker, path: &str) -> Option<String> {
    broker.with_image(|image| view(image, path).map(|v| v.to_string()))
}

fn view(image: &MetadataImage, path: &str) -> Option<Value> {
    let node = image.znodes.get(path)?;
    let mut version = node.version;
    // A partition's state changes with every election and ISR change; its
    // partition epoch counts them all.
    if let Some(rest) = path.strip_prefix("/brokers/topics/")
        && let Some((topic, tail)) = rest.split_once("/partitions/")
        && let Some(p) = tail.strip_suffix("/state")
        && let Ok(p) = p.parse::<usize>()
        && let Some(meta) = image.topics.get(topic).and_then(|t| t.partitions.get(p))
    {
        version = meta.partition_epoch;
    }
    let data = match path {
        "/controller" => image
            .controller
            .map(|c| json!({"version": 2, "brokerid": c.id, "timestamp": node.ctime.to_string()})),
        "/controller_epoch" => image.controller.map(|c| json!(c.epoch)),
        "/latest_producer_id_block" => image.producer_id_block.map(|b| {
            json!({
                "version": 1,
                "broker": b.broker,
                "block_start": b.first.to_string(),
                "block_end": b.last.to_string(),
            })
        }),
        acl if acl.starts_with("/kafka-acl") => {
            let acls: Vec<Value> = image
                .acls
                .iter()
                .filter(|a| crate::metadata::znodes::acl_path(a) == acl)
                .map(|a| {
                    json!({
                        "principal": a.principal,
                        "permissionType": a.permission.name(),
                        "operation": a.operation.name(),
                        "host": a.host,
                    })
                })
                .collect();
            (!acls.is_empty()).then(|| json!({"version": 1, "acls": acls}))
        }
        _ => None,
    };
    Some(json!({
        "czxid": node.czxid,
        "ctime": node.ctime,
        "mzxid": node.mzxid,
        "mtime": node.mtime,
        "pzxid": node.pzxid,
        "cversion": node.cversion,
        "version": version,
        "ephemeral_owner": node.ephemeral_owner,
        "data": data,
    }))
}
