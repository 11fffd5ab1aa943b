//! Client quotas at the request: a producer's bytes, a consumer's fetched
//! bytes and every request's handling time are counted against the quotas
//! that apply to its user and client id; the wait a client has earned goes
//! into `throttle_time_ms` (Produce, Fetch) and mutes its connection.

use std::time::Duration;

use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::{ClientInfo, fetch};
use crate::broker::Broker;
use crate::client_quota::{CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE};

/// The user name quotas know a principal by (`User:alice` is `alice`).
fn user(client: &ClientInfo) -> &str {
    client
        .principal
        .split_once(':')
        .map_or(client.principal.as_str(), |(_, name)| name)
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

impl Broker {
    /// Counts `amount` of `key` for `client`; the wait it earned.
    fn charge(&self, client: &ClientInfo, key: &'static str, amount: f64) -> Duration {
        self.with_image(|i| {
            if i.client_quotas.is_empty() {
                return Duration::ZERO;
            }
            self.quotas.record(
                &i.client_quotas,
                key,
                user(client),
                &client.client_id,
                amount,
            )
        })
    }
}

/// The bytes a produce request carries.
pub(super) fn produce_bytes(req: &ProduceRequest) -> usize {
    req.topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
        .sum()
}

/// Charges a produce of `bytes`; sets the response's throttle time.
pub(super) fn produce(
    broker: &Broker,
    client: &ClientInfo,
    bytes: usize,
    resp: &mut ProduceResponse,
) -> Duration {
    let wait = broker.charge(client, PRODUCER_BYTE_RATE, bytes as f64);
    resp.throttle_time_ms = resp.throttle_time_ms.max(millis(wait));
    wait
}

/// Charges a consumer's fetch response; one over the quota goes back
/// without its records (they were not counted), with the throttle time, as
/// Kafka answers.
pub(super) fn fetch(broker: &Broker, client: &ClientInfo, answer: &mut fetch::Answer) -> Duration {
    let bytes = answer.bytes;
    let wait = broker.charge(client, CONSUMER_BYTE_RATE, bytes as f64);
    if !wait.is_zero() {
        broker.charge(client, CONSUMER_BYTE_RATE, -(bytes as f64));
        let resp = &mut answer.resp;
        for p in resp
            .responses
            .iter_mut()
            .flat_map(|t| t.partitions.iter_mut())
        {
            p.records = None;
        }
        answer.files = None;
        resp.throttle_time_ms = resp.throttle_time_ms.max(millis(wait));
    }
    wait
}

/// Charges the time a request took to handle.
pub(super) fn request_time(broker: &Broker, client: &ClientInfo, took: Duration) -> Duration {
    broker.charge(client, REQUEST_PERCENTAGE, took.as_secs_f64() * 1000.0)
}
