//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics,
//! consumer groups and the broker. Broker settings come from flags and the config file and are
//! described read-only; changing them is refused with a message saying where
//! they are set.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResult;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::str_bytes;
use crate::broker::Broker;
use crate::config::dynamic as broker_config;
use crate::config::group as group_config;
use crate::config::ops::ConfigOp;
use crate::config::topic::{self as topic_config, ConfigSource};
use crate::error::ApiError;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
/// Kafka's ConfigResource.Type GROUP (not the ACL resource type 3).
const GROUP: i8 = 32;

/// Kafka's `ConfigType` for DescribeConfigs v3+.
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

fn config_type(value: &str) -> i8 {
    if value == "true" || value == "false" {
        TYPE_BOOLEAN
    } else if value.parse::<i64>().is_ok() {
        TYPE_LONG
    } else {
        TYPE_STRING
    }
}

fn entry(
    name: &str,
    value: &str,
    source: ConfigSource,
    read_only: bool,
) -> DescribeConfigsResourceResult {
    DescribeConfigsResourceResult::default()
        .with_name(str_bytes(name))
        .with_value(Some(str_bytes(value)))
        .with_read_only(read_only)
        .with_config_source(source as i8)
        .with_config_type(config_type(value))
}

fn wanted(keys: &Option<Vec<StrBytes>>, name: &str) -> bool {
    keys.as_ref()
        .is_none_or(|k| k.is_empty() || k.iter().any(|k| k.as_str() == name))
}

fn is_this_broker(broker: &Broker, name: &str) -> bool {
    name.is_empty() || name == broker.node_id.to_string()
}

/// With `include_synonyms`, each entry lists where its value comes from,
/// first the entry's own source (as Kafka lists it first; kafka-configs
/// prints it as `synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}`).
fn with_synonyms(mut result: DescribeConfigsResult) -> DescribeConfigsResult {
    for c in &mut result.configs {
        c.synonyms = vec![
            DescribeConfigsSynonym::default()
                .with_name(c.name.clone())
                .with_value(c.value.clone())
                .with_source(c.config_source),
        ];
    }
    result
}

pub fn describe(broker: &Broker, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let synonyms = req.include_synonyms;
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match r.resource_type {
                TOPIC => {
                    match broker.with_image(|i| i.topics.get(&name).map(|t| t.configs.clone())) {
                        Some(overrides) => result.with_configs(
                            topic_config::describe(&broker.settings, &overrides)
                                .into_iter()
                                .filter(|(k, _, _)| wanted(&r.configuration_keys, k))
                                .map(|(k, v, src)| {
                                    let e = entry(&k, &v, src, false);
                                    if topic_config::is_list(&k) {
                                        e.with_config_type(TYPE_LIST)
                                    } else {
                                        e
                                    }
                                })
                                .collect(),
                        ),
                        None => result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(str_bytes(format!(
                                "topic '{name}' does not exist"
                            )))),
                    }
                }
                GROUP if name.is_empty() => result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes("Group name must not be empty"))),
                GROUP => result.with_configs(
                    group_config::describe(&broker.settings, &broker.group_configs(&name))
                        .into_iter()
                        .filter(|(k, _, _)| wanted(&r.configuration_keys, k))
                        .map(|(k, v, src)| entry(&k, &v, src, false).with_config_type(TYPE_INT))
                        .collect(),
                ),
                BROKER if is_this_broker(broker, &name) => {
                    let mut configs: Vec<_> = broker
                        .settings
                        .entries()
                        .into_iter()
                        .filter(|(k, _)| wanted(&r.configuration_keys, k))
                        .map(|(k, v)| entry(k, &v, ConfigSource::StaticBroker, true))
                        .collect();
                    // Dynamic ones: this broker's value, the cluster default, or none.
                    for key in broker_config::DYNAMIC
                        .iter()
                        .filter(|k| wanted(&r.configuration_keys, k))
                    {
                        let (own, default) = broker.with_image(|i| {
                            (
                                i.broker_configs
                                    .get(&broker.node_id)
                                    .and_then(|c| c.get(*key))
                                    .cloned(),
                                i.broker_configs.get(&-1).and_then(|c| c.get(*key)).cloned(),
                            )
                        });
                        let (value, source) = match (own, default) {
                            (Some(v), _) => (v, ConfigSource::DynamicBroker),
                            (None, Some(v)) => (v, ConfigSource::DynamicDefaultBroker),
                            (None, None) => {
                                (broker_config::UNLIMITED.to_string(), ConfigSource::Default)
                            }
                        };
                        configs.push(entry(key, &value, source, false));
                    }
                    // kfk zk-shell's and kfk topics' questions, answered only when asked.
                    for key in r.configuration_keys.iter().flatten() {
                        let json = if let Some(path) =
                            key.as_str().strip_prefix(super::znode_view::ZNODE_PREFIX)
                        {
                            super::znode_view::describe(broker, path)
                        } else if let Some(topic) = key
                            .as_str()
                            .strip_prefix(super::cleaner_view::CLEANER_PREFIX)
                        {
                            super::cleaner_view::describe(broker, topic)
                        } else {
                            None
                        };
                        if let Some(json) = json {
                            configs.push(entry(key, &json, ConfigSource::Default, true));
                        }
                    }
                    result.with_configs(configs)
                }
                BROKER => result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(format!(
                        "this is broker {}, not broker {name}",
                        broker.node_id
                    )))),
                other => result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(format!(
                        "resource type {other} is not supported"
                    )))),
            }
        })
        .map(|r| if synonyms { with_synonyms(r) } else { r })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// Applies changes to one resource; shared by both alter APIs.
async fn alter_resource(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    changes: &[(String, ConfigOp)],
    replace_all: bool,
    validate_only: bool,
) -> Result<(), ApiError> {
    match resource_type {
        TOPIC => {
            broker
                .alter_topic_configs(name, changes, replace_all, validate_only)
                .await
        }
        GROUP => {
            broker
                .alter_group_configs(name, changes, replace_all, validate_only)
                .await
        }
        BROKER => {
            if let Some((_, target)) = changes
                .iter()
                .find(|(k, _)| k == super::cleaner_view::COMPACT_KEY)
            {
                if !is_this_broker(broker, name) || changes.len() != 1 || replace_all {
                    return Err(ApiError::new(
                        ResponseError::InvalidRequest,
                        format!(
                            "{} is asked of one broker, alone, with IncrementalAlterConfigs",
                            super::cleaner_view::COMPACT_KEY
                        ),
                    ));
                }
                let target = target.set_value().unwrap_or_default();
                return super::cleaner_view::compact(broker, target, validate_only).await;
            }
            broker
                .alter_broker_configs(name, changes, replace_all, validate_only)
                .await
        }
        other => Err(ApiError::new(
            ResponseError::InvalidRequest,
            format!("resource type {other} is not supported"),
        )),
    }
}

/// Error code and message of an alter result, for either response type.
fn error_fields(res: Result<(), ApiError>) -> (i16, Option<StrBytes>) {
    match res {
        Ok(()) => (0, None),
        Err(e) => (e.code(), e.message.map(str_bytes)),
    }
}

pub async fn alter(broker: &Broker, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::with_capacity(req.resources.len());
    for r in req.resources {
        let changes: Vec<(String, ConfigOp)> = r
            .configs
            .iter()
            .map(|c| {
                (
                    c.name.to_string(),
                    ConfigOp::from_value(c.value.as_ref().map(|v| v.to_string())),
                )
            })
            .collect();
        let res = alter_resource(
            broker,
            r.resource_type,
            &r.resource_name,
            &changes,
            true,
            req.validate_only,
        )
        .await;
        let (code, message) = error_fields(res);
        responses.push(
            AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name)
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    AlterConfigsResponse::default().with_responses(responses)
}

pub async fn incremental_alter(
    broker: &Broker,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(req.resources.len());
    for r in req.resources {
        let changes: Result<Vec<(String, ConfigOp)>, ApiError> = r
            .configs
            .iter()
            .map(|c| {
                ConfigOp::from_code(c.config_operation, c.value.as_deref())
                    .map(|op| (c.name.to_string(), op))
            })
            .collect();
        let res = match changes {
            Ok(changes) => {
                alter_resource(
                    broker,
                    r.resource_type,
                    &r.resource_name,
                    &changes,
                    false,
                    req.validate_only,
                )
                .await
            }
            Err(e) => Err(e),
        };
        let (code, message) = error_fields(res);
        responses.push(
            IncrementalResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name)
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
