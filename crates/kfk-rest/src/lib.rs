//! The REST proxy: the common calls of Confluent's kafka-rest v2 over
//! HTTP/JSON (and the v3 cluster and topic lists), for any Kafka cluster,
//! through kfk-client, so it runs as a process of its own beside the brokers
//! (`kfk rest-proxy`, `kfk cluster up --rest-proxy`) and survives any one
//! broker's death, as the seed's separate REST container does.
//!
//! Shapes follow kafka-rest v2 exactly (topic partitions with `broker`,
//! `leader`, `in_sync` replicas; every error as
//! `{"error_code":..,"message":..}`, see [`error`]). `GET /openapi.yaml`
//! describes every endpoint.

pub mod auth;

pub use kfk_client::ClientConfig;
pub mod consumers;
pub mod error;
pub mod produce;
pub mod topics;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kfk_client::{Client, Producer, ProducerConfig};
use tokio::sync::OnceCell;

use crate::consumers::{positions, subscription};
use crate::error::RestError;

/// The OpenAPI description served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../openapi.yaml");

/// Requests larger than this are refused with 413 (kafka-rest's default
/// limit is of the same order).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// One caller's state (everyone's without authentication).
#[derive(Debug)]
pub struct Proxy {
    config: ClientConfig,
    /// The address it listens on, for consumer instances' `base_uri` when a
    /// request names no Host.
    listen: String,
    /// Connected on first use (and again after a failed attempt), so the
    /// proxy can start before the brokers.
    client: OnceCell<Arc<Client>>,
    producer: OnceCell<Producer>,
    instances: consumers::Instances,
}

impl Proxy {
    pub fn new(config: ClientConfig, listen: String) -> Proxy {
        Proxy {
            config,
            listen,
            client: OnceCell::new(),
            producer: OnceCell::new(),
            instances: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The cluster client.
    ///
    /// # Errors
    /// 50002 when no bootstrap broker answers.
    pub async fn client(&self) -> Result<Arc<Client>, RestError> {
        self.client
            .get_or_try_init(|| async {
                Client::connect(self.config.clone())
                    .await
                    .map_err(RestError::kafka)
            })
            .await
            .cloned()
    }

    /// The shared producer (idempotent, acks=all, 1 ms linger).
    ///
    /// # Errors
    /// 50002 when the cluster cannot be reached.
    pub async fn producer(&self) -> Result<&Producer, RestError> {
        self.producer
            .get_or_try_init(|| async {
                let client = self.client().await?;
                Producer::new(
                    client,
                    ProducerConfig {
                        linger: std::time::Duration::from_millis(1),
                        ..ProducerConfig::default()
                    },
                )
                .await
                .map_err(RestError::kafka)
            })
            .await
    }
}

type Shared = Arc<Proxy>;

/// `GET /`: kafka-rest answers an empty object, which clients use as a
/// liveness check.
async fn root() -> Response {
    topics::ok(serde_json::json!({}))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

async fn not_found() -> RestError {
    RestError::new(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> RestError {
    RestError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        405,
        "HTTP 405 Method Not Allowed",
    )
}

/// The proxy's routes over a cluster reached as `config` says, its callers
/// authenticated as `auth` says.
pub fn router(config: ClientConfig, listen: String, auth: auth::Auth) -> Router {
    let state = Arc::new(auth::Server::new(config, listen, auth));
    Router::new()
        .route("/consumers/{group}", post(consumers::create))
        .route(
            "/consumers/{group}/instances/{name}",
            axum::routing::delete(consumers::delete),
        )
        .route(
            "/consumers/{group}/instances/{name}/subscription",
            post(subscription::subscribe)
                .get(subscription::get_subscription)
                .delete(subscription::unsubscribe),
        )
        .route(
            "/consumers/{group}/instances/{name}/assignments",
            post(subscription::assign).get(subscription::get_assignments),
        )
        .route(
            "/consumers/{group}/instances/{name}/positions",
            post(positions::to_offsets),
        )
        .route(
            "/consumers/{group}/instances/{name}/positions/beginning",
            post(positions::to_beginning),
        )
        .route(
            "/consumers/{group}/instances/{name}/positions/end",
            post(positions::to_end),
        )
        .route(
            "/consumers/{group}/instances/{name}/records",
            get(consumers::records),
        )
        .route(
            "/consumers/{group}/instances/{name}/offsets",
            post(consumers::commit).get(positions::committed),
        )
        .route("/v3/clusters", get(topics::v3_clusters))
        .route("/v3/clusters/{cluster}/topics", get(topics::v3_topics))
        .route("/brokers", get(topics::brokers))
        .route("/topics", get(topics::list))
        .route("/topics/{topic}", get(topics::get).post(produce::to_topic))
        .route("/topics/{topic}/partitions", get(topics::partitions))
        .route(
            "/topics/{topic}/partitions/{partition}",
            get(topics::partition).post(produce::to_partition),
        )
        .route(
            "/topics/{topic}/partitions/{partition}/offsets",
            get(topics::partition_offsets),
        )
        .route("/", get(root))
        .route("/openapi.yaml", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves the proxy on `listener` until the task is dropped.
pub async fn serve(config: ClientConfig, auth: auth::Auth, listener: tokio::net::TcpListener) {
    let listen = listener
        .local_addr()
        .map_or_else(|_| String::new(), |a| a.to_string());
    if let Err(e) = axum::serve(listener, router(config, listen, auth)).await {
        tracing::error!(error = %e, "REST proxy stopped");
    }
}
