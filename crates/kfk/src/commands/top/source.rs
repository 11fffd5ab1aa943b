//! Where `kfk top` reads its figures: each node's Prometheus endpoint,
//! fetched over HTTP and parsed as the Prometheus text formats (the
//! classic one and OpenMetrics, which kfkd serves).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header;
use hyper_util::rt::TokioIo;

use crate::error::{CliError, CliResult};

/// How long one node may take to answer a scrape.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// A metrics endpoint: `host:port` and the path of its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Endpoint {
    /// Reads `host:port`, `http://host:port` or `http://host:port/path`
    /// (the path defaults to `/metrics`).
    pub fn parse(text: &str) -> CliResult<Endpoint> {
        let bad = || {
            CliError::usage(format!("bad metrics address {text:?}"))
                .hint("give HOST:PORT or http://HOST:PORT/metrics, as kfkd --metrics-listen serves")
        };
        if text.starts_with("https://") {
            return Err(CliError::usage(format!(
                "{text}: only http:// metrics endpoints are read"
            ))
            .hint("kfkd serves metrics over plain HTTP on --metrics-listen"));
        }
        let rest = text.strip_prefix("http://").unwrap_or(text);
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/metrics"),
        };
        let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// `host:port`, how a node without a node id is named.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// One sample of a page: a series (name and labels) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One node's page, parsed.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub samples: Vec<Sample>,
}

impl Page {
    /// Parses a Prometheus text page.
    pub fn parse(text: &str) -> CliResult<Page> {
        // `name{} 1` (an empty label set, valid in both formats and what
        // prometheus-client writes for a family's unlabelled series) is not
        // read by prometheus-parse; it is the same series as `name 1`.
        let lines = text.lines().map(|l| Ok(l.replacen("{} ", " ", 1)));
        let scrape = prometheus_parse::Scrape::parse(lines)
            .map_err(|e| CliError::new(format!("not a Prometheus page: {e}")))?;
        let samples = scrape
            .samples
            .into_iter()
            .filter_map(|s| {
                let value = match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    // Buckets and quantiles are not read by `kfk top`.
                    _ => return None,
                };
                Some(Sample {
                    name: s.metric,
                    labels: s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    value,
                })
            })
            .collect();
        Ok(Page { samples })
    }

    /// The series `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    /// Every series of `name`.
    pub fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The sum of every series of `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.series(name).map(|s| s.value).sum()
    }
}

/// Fetches and parses one node's page; the error says what went wrong in
/// a few words, for the node's row.
pub async fn scrape(endpoint: &Endpoint) -> Result<Page, String> {
    let text = tokio::time::timeout(SCRAPE_TIMEOUT, fetch(endpoint))
        .await
        .map_err(|_| format!("no answer in {} s", SCRAPE_TIMEOUT.as_secs()))??;
    Page::parse(&text).map_err(|e| e.message)
}

async fn fetch(endpoint: &Endpoint) -> Result<String, String> {
    let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "down (connection refused)".to_string(),
            _ => format!("unreachable ({e})"),
        })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let connection = tokio::spawn(conn);
    let request = hyper::Request::get(endpoint.path.as_str())
        .header(header::HOST, endpoint.authority())
        .header(
            header::ACCEPT,
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("HTTP: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("HTTP: {e}"))?
        .to_bytes();
    connection.abort();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(format!("HTTP {}: {}", status.as_u16(), text.trim()));
    }
    String::from_utf8(body.to_vec()).map_err(|_| "the page is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_read_in_the_forms_people_write_them() {
        let e = Endpoint::parse("127.0.0.1:10092").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 10092, "/metrics")
        );
        let e = Endpoint::parse("http://kafka-1.example:9404/prom").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("kafka-1.example", 9404, "/prom")
        );
        let e = Endpoint::parse("http://[::1]:10092/metrics").unwrap();
        assert_eq!(
            (e.host.as_str(), e.authority()),
            ("::1", "[::1]:10092".to_string())
        );
        assert_eq!(e.to_string(), "http://[::1]:10092/metrics");
        for bad in [
            "localhost",
            "http://host:port",
            ":9",
            "https://h:1/metrics",
            "h:0",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn openmetrics_pages_are_read_with_their_labels() {
        let page = Page::parse(
            "# TYPE kafka_server_brokertopicmetrics_messagesin counter\n\
             kafka_server_brokertopicmetrics_messagesin_total{} 7\n\
             kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 5\n\
             # TYPE kafka_network_requestmetrics_totaltimems histogram\n\
             kafka_network_requestmetrics_totaltimems_bucket{le=\"1.0\",request=\"Produce\"} 1\n\
             kafka_network_requestmetrics_totaltimems_sum{request=\"Produce\"} 2.5\n\
             # EOF\n",
        )
        .unwrap();
        assert_eq!(
            page.value("kafka_server_brokertopicmetrics_messagesin_total", &[]),
            Some(7.0)
        );
        assert_eq!(
            page.value(
                "kafka_server_brokertopicmetrics_messagesin_total",
                &[("topic", "orders")]
            ),
            Some(5.0)
        );
        assert_eq!(
            page.sum("kafka_server_brokertopicmetrics_messagesin_total"),
            12.0
        );
        assert_eq!(
            page.value(
                "kafka_network_requestmetrics_totaltimems_sum",
                &[("request", "Produce")]
            ),
            Some(2.5)
        );
    }
}
