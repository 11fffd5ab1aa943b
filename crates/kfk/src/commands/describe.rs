//! `kfk describe cluster|broker ID|topic NAME`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::DescribeTarget;
use crate::commands::topics;
use crate::ctx::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

#[derive(Serialize)]
struct BrokerView {
    id: i32,
    host: String,
    port: i32,
    rack: Option<String>,
    controller: bool,
    partitions: usize,
    leaderships: usize,
}

#[derive(Serialize)]
struct ClusterView {
    cluster_id: Option<String>,
    controller: i32,
    brokers: Vec<BrokerView>,
    topics: usize,
    partitions: usize,
}

#[derive(Serialize)]
struct BrokerDetail {
    #[serde(flatten)]
    broker: BrokerView,
    configs: BTreeMap<String, String>,
}

pub async fn run(ctx: &Ctx, what: &DescribeTarget) -> CliResult {
    let client = ctx.client().await?;
    if let DescribeTarget::Topic { name } = what {
        let name = ctx.topic(name.as_deref(), &client).await?;
        let view = topics::topic_view(&client, &name).await?;
        return topics::print_topic(ctx, &view);
    }
    let meta = client.refresh(None).await?;
    let brokers: Vec<BrokerView> = meta
        .brokers
        .values()
        .map(|b| {
            let all = meta.topics.values().flat_map(|t| &t.partitions);
            BrokerView {
                id: b.id,
                host: b.host.clone(),
                port: b.port,
                rack: b.rack.clone(),
                controller: b.id == meta.controller_id,
                partitions: all.clone().filter(|p| p.replicas.contains(&b.id)).count(),
                leaderships: all.filter(|p| p.leader == b.id).count(),
            }
        })
        .collect();
    let rows = |bs: &[&BrokerView]| -> Vec<Vec<String>> {
        bs.iter()
            .map(|b| {
                vec![
                    b.id.to_string(),
                    format!("{}:{}", b.host, b.port),
                    b.rack.clone().unwrap_or_else(|| "-".into()),
                    if b.controller { "yes" } else { "" }.to_string(),
                    b.partitions.to_string(),
                    b.leaderships.to_string(),
                ]
            })
            .collect()
    };
    const HEADERS: [&str; 6] = [
        "BROKER",
        "ADDRESS",
        "RACK",
        "CONTROLLER",
        "PARTITIONS",
        "LEADERS",
    ];
    match what {
        DescribeTarget::Cluster => {
            let view = ClusterView {
                cluster_id: meta.cluster_id.clone(),
                controller: meta.controller_id,
                topics: meta.topics.values().filter(|t| !t.internal).count(),
                partitions: meta.topics.values().map(|t| t.partitions.len()).sum(),
                brokers,
            };
            output::emit(ctx.format(), &view, || {
                output::println_safe(&format!(
                    "Cluster: {}\tController: {}\tTopics: {}\tPartitions: {}",
                    view.cluster_id.as_deref().unwrap_or("-"),
                    view.controller,
                    view.topics,
                    view.partitions
                ));
                output::table(&HEADERS, rows(&view.brokers.iter().collect::<Vec<_>>()));
                Ok(())
            })
        }
        DescribeTarget::Broker { id } => {
            let broker = brokers.into_iter().find(|b| b.id == *id).ok_or_else(|| {
                CliError::new(format!("broker {id} is not in the cluster"))
                    .hint("see `kfk describe cluster`")
            })?;
            let configs = client
                .describe_configs(4, &id.to_string())
                .await?
                .into_iter()
                .filter_map(|c| c.value.map(|v| (c.name, v)))
                .collect();
            let detail = BrokerDetail { broker, configs };
            output::emit(ctx.format(), &detail, || {
                output::table(&HEADERS, rows(&[&detail.broker]));
                output::println_safe("");
                output::table(
                    &["CONFIG", "VALUE"],
                    detail
                        .configs
                        .iter()
                        .map(|(k, v)| vec![k.clone(), v.clone()])
                        .collect(),
                );
                Ok(())
            })
        }
        DescribeTarget::Topic { .. } => Ok(()),
    }
}
