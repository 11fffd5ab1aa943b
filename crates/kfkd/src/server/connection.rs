//! One client connection: the only code that touches its socket.
//!
//! Requests are read one frame at a time and answered in order, which is what
//! Kafka guarantees to clients that pipeline. A frame that is too large, cut
//! short or undecodable is logged and the connection closed: after a bad frame
//! the stream cannot be trusted to be in sync. Other connections are unaffected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use kfk_lowat::LowWater;
use kfk_tls::TlsAcceptor;
use kfk_wire::frame::{self, FrameError, LENGTH_PREFIX, RequestPreamble};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::send_file::SendFile;
use crate::api;
use crate::broker::Broker;
use crate::config::Listener;
use crate::metrics::RequestLabel;
use kafka_protocol::messages::RequestKind;

/// Frames are read in blocks of at most this size.
const READ_BLOCK: usize = 64 * 1024;

/// How long a client gets to finish its TLS handshake.
const HANDSHAKE_PATIENCE: Duration = Duration::from_secs(10);

/// The principal of a connection that proved nothing (Kafka's name).
pub const ANONYMOUS: &str = "User:ANONYMOUS";

/// Why a connection ended, for the log line.
#[derive(Debug)]
enum Closed {
    /// The client closed it (or the broker is shutting down).
    Normally,
    /// Nothing arrived for `connections.max.idle.ms`.
    Idle,
    Frame(FrameError),
    Io(std::io::Error),
    UnknownApi(i16),
    UnsupportedVersion(ApiKey, i16),
    /// A request other than ApiVersions before SASL authentication.
    Unauthenticated(ApiKey),
    /// Authentication failed (answered, then closed).
    AuthenticationFailed,
    /// A TLS ClientHello arrived on a listener without TLS.
    TlsOnPlaintext,
    /// The SASL session outlived `connections.max.reauth.ms` unrenewed.
    SessionExpired,
}

/// Waits for `bytes` of the broker's request memory; `None` when the broker
/// shuts down meanwhile.
async fn hold(
    broker: &Broker,
    bytes: usize,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let n = u32::try_from(bytes).unwrap_or(u32::MAX);
    tokio::select! {
        p = Arc::clone(&broker.memory).acquire_many_owned(n) => p.ok(),
        _ = shutdown.changed() => None,
    }
}

/// Reads exactly `size` bytes into a buffer of that size (its memory is
/// already counted against `queued.max.request.bytes`; pages a client never
/// sends are never touched), block by block.
async fn read_frame<S: AsyncRead + Unpin + SendFile>(
    stream: &mut S,
    water: &mut LowWater,
    size: usize,
) -> std::io::Result<BytesMut> {
    let mut buf = BytesMut::with_capacity(size);
    while buf.len() < size {
        water.before_read(stream.plain_socket(), size - buf.len());
        let want = (size - buf.len()).min(READ_BLOCK);
        let mut limited = (&mut *stream).take(want as u64);
        if limited.read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(buf)
}

/// The TLS handshake of a connection to an SSL or SASL_SSL listener, and
/// the principal its client certificate names (`User:CN=...`), if any.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    listener: &Listener,
) -> Option<(kfk_tls::server::TlsStream<TcpStream>, Option<String>)> {
    match tokio::time::timeout(HANDSHAKE_PATIENCE, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let principal = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|cert| kfk_tls::principal::subject_name(cert))
                .map(|dn| format!("User:{dn}"));
            Some((tls, principal))
        }
        Ok(Err(e)) => {
            info!(%peer, listener = %listener.name, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            info!(%peer, listener = %listener.name, "TLS handshake timed out");
            None
        }
    }
}

pub(crate) async fn serve(
    broker: Arc<Broker>,
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    peer: SocketAddr,
    listener: Arc<Listener>,
    mut shutdown: watch::Receiver<bool>,
    bad_frames: Arc<super::bad_frames::BadFrameLog>,
) {
    let _ = stream.set_nodelay(true);
    let closed = match (&tls, listener.protocol.tls()) {
        (Some(acceptor), true) => {
            let Some((mut stream, principal)) = handshake(acceptor, stream, peer, &listener).await
            else {
                return;
            };
            let closed = serve_inner(
                &broker,
                &mut stream,
                peer,
                &listener,
                principal,
                &mut shutdown,
            )
            .await;
            let _ = stream.shutdown().await;
            closed
        }
        (None, true) => {
            warn!(%peer, listener = %listener.name, "TLS listener without a TLS configuration; closing");
            return;
        }
        (_, false) => {
            let mut stream = stream;
            serve_inner(&broker, &mut stream, peer, &listener, None, &mut shutdown).await
        }
    };
    let bad = matches!(
        closed,
        Closed::Frame(_) | Closed::UnknownApi(_) | Closed::UnsupportedVersion(..)
    );
    // Bad frames: rate-limited per peer address.
    let left_out = if bad {
        bad_frames.admit(peer.ip())
    } else {
        None
    };
    if bad && left_out.is_none() {
        debug!(%peer, "closing connection after a bad frame (not logged at WARN: rate-limited)");
        return;
    }
    let left_out = left_out.unwrap_or(0);
    match closed {
        Closed::Normally => debug!(%peer, "connection closed"),
        Closed::Idle => debug!(%peer, "closing idle connection (connections.max.idle.ms)"),
        Closed::Io(e) => debug!(%peer, error = %e, "connection dropped"),
        Closed::Frame(e) => {
            warn!(%peer, error = %e, left_out, "closing connection after a bad frame")
        }
        Closed::UnknownApi(key) => {
            warn!(%peer, api_key = key, left_out, "closing connection: unknown API key")
        }
        Closed::UnsupportedVersion(key, v) => {
            warn!(%peer, api = ?key, version = v, left_out, "closing connection: unsupported API version")
        }
        Closed::Unauthenticated(key) => {
            info!(%peer, api = ?key, listener = %listener.name, "closing connection: request before SASL authentication")
        }
        Closed::AuthenticationFailed => debug!(%peer, "closed after a failed authentication"),
        Closed::SessionExpired => {
            info!(%peer, listener = %listener.name, "closing connection: its SASL session expired (connections.max.reauth.ms) without re-authentication")
        }
        Closed::TlsOnPlaintext => {
            info!(%peer, listener = %listener.name, "closing connection: the client speaks TLS to a listener without it (security.protocol SSL or SASL_SSL against {})", listener.protocol.name())
        }
    }
}

/// After refusing a login, waits (briefly) for the client to hang up before
/// closing our side. A client that reads the refusal and sees the end of the
/// stream in one wake-up may act on the end first and report a lost
/// connection instead of the refusal (kafka-python does); letting it close
/// first means it always sees why. Anything it still sends is discarded.
async fn let_client_close_first<S: AsyncRead + Unpin>(stream: &mut S) {
    const PATIENCE: Duration = Duration::from_secs(1);
    let drain = async {
        let mut sink = [0u8; 512];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(PATIENCE, drain).await;
}

async fn serve_inner<S: AsyncRead + AsyncWrite + Unpin + SendFile>(
    broker: &Arc<Broker>,
    stream: &mut S,
    peer: SocketAddr,
    listener: &Listener,
    certificate: Option<String>,
    shutdown: &mut watch::Receiver<bool>,
) -> Closed {
    let _counted = broker.meters.connection_opened(&listener.name);
    let mut sasl = super::sasl::Sasl::new(listener.protocol);
    let mut first = true;
    let max = usize::try_from(broker.settings.socket_request_max_bytes).unwrap_or(usize::MAX);
    let idle = Duration::from_millis(broker.settings.connections_max_idle_ms);
    let mut water = LowWater::default();
    loop {
        let mut prefix = [0u8; LENGTH_PREFIX];
        water.before_read(stream.plain_socket(), LENGTH_PREFIX);
        tokio::select! {
            r = stream.read_exact(&mut prefix) => {
                if let Err(e) = r {
                    return if e.kind() == std::io::ErrorKind::UnexpectedEof { Closed::Normally } else { Closed::Io(e) };
                }
            }
            _ = shutdown.changed() => return Closed::Normally,
            _ = tokio::time::sleep(idle) => return Closed::Idle,
        }
        // A TLS record header (handshake, version 3.x) where a length belongs.
        if std::mem::take(&mut first) && !listener.protocol.tls() && prefix[..2] == [0x16, 0x03] {
            return Closed::TlsOnPlaintext;
        }
        let size = match frame::frame_length(prefix, max) {
            Ok(s) => s,
            Err(e) => return Closed::Frame(e),
        };
        // Room for the request before reading it (validated: a request of
        // socket.request.max.bytes always fits), held until it is answered.
        let Some(_request_memory) = hold(broker, size, shutdown).await else {
            return Closed::Normally;
        };
        let frame = match tokio::time::timeout(idle, read_frame(stream, &mut water, size)).await {
            Ok(Ok(f)) => f.freeze(),
            Ok(Err(e)) => return Closed::Io(e),
            Err(_) => return Closed::Idle,
        };
        let arrived = std::time::Instant::now();
        let mut label = RequestLabel::Api(ApiKey::ApiVersions);
        // After a SaslHandshake v0 the client sends bare SASL tokens.
        if sasl.expects_raw_token() {
            let (reply, failed) = sasl.raw_token(broker, peer, &frame).await;
            if let Some(reply) = reply {
                let mut out = Vec::with_capacity(4 + reply.len());
                out.extend_from_slice(&(reply.len() as u32).to_be_bytes());
                out.extend_from_slice(&reply);
                if let Err(e) = stream.write_all(&out).await {
                    return Closed::Io(e);
                }
            }
            if failed {
                return Closed::AuthenticationFailed;
            }
            continue;
        }
        let pre = match RequestPreamble::parse(&frame) {
            Ok(p) => p,
            Err(e) => return Closed::Frame(e),
        };
        let Ok(api_key) = ApiKey::try_from(pre.api_key) else {
            return Closed::UnknownApi(pre.api_key);
        };
        let response = match api::supported_versions(api_key) {
            None => return Closed::UnknownApi(pre.api_key),
            Some((min, max)) if pre.api_version < min || pre.api_version > max => {
                if api_key != ApiKey::ApiVersions {
                    return Closed::UnsupportedVersion(api_key, pre.api_version);
                }
                // KIP-511: answer in v0 so the client can pick a version we speak.
                info!(
                    version = pre.api_version,
                    "client asked for an ApiVersions version kfkd does not speak; answering v0"
                );
                match frame::encode_response(
                    api_key,
                    0,
                    pre.correlation_id,
                    &api::unsupported_version_response(),
                ) {
                    Ok(bytes) => Some(api::Reply {
                        bytes,
                        spliced: None,
                        held: None,
                        throttle: Duration::ZERO,
                    }),
                    Err(e) => return Closed::Frame(e),
                }
            }
            Some(_) => {
                let decoded = match frame::decode_request(frame, api::accepts) {
                    Ok(d) => d,
                    Err(e) => return Closed::Frame(e),
                };
                debug!(api = ?api_key, version = pre.api_version, correlation_id = pre.correlation_id,
                    client_id = decoded.header.client_id.as_deref().unwrap_or(""), "request");
                let client = api::ClientInfo {
                    client_id: decoded
                        .header
                        .client_id
                        .as_deref()
                        .unwrap_or("")
                        .to_string(),
                    host: format!("/{}", peer.ip()),
                    listener: listener.name.clone(),
                    principal: match (sasl.user(), &certificate) {
                        (Some(user), _) => format!("User:{user}"),
                        (None, Some(cert)) => cert.clone(),
                        (None, None) => ANONYMOUS.to_string(),
                    },
                    plaintext: stream.zero_copy() && broker.settings.fetch_sendfile_enable,
                };
                match sasl
                    .route(
                        broker,
                        peer,
                        api_key,
                        pre.api_version,
                        pre.correlation_id,
                        &decoded.body,
                    )
                    .await
                {
                    Ok(super::sasl::Outcome::Serve) => {}
                    Ok(super::sasl::Outcome::Reply(bytes)) => {
                        if let Err(e) = stream.write_all(&bytes).await {
                            return Closed::Io(e);
                        }
                        continue;
                    }
                    Ok(super::sasl::Outcome::ReplyAndClose(bytes)) => {
                        if stream.write_all(&bytes).await.is_ok() && stream.flush().await.is_ok() {
                            let_client_close_first(stream).await;
                        }
                        return Closed::AuthenticationFailed;
                    }
                    Ok(super::sasl::Outcome::Refuse(key)) => return Closed::Unauthenticated(key),
                    Ok(super::sasl::Outcome::Expired) => return Closed::SessionExpired,
                    Err(e) => return Closed::Frame(e),
                }
                label = match &decoded.body {
                    RequestKind::Fetch(f) if f.replica_id.0 >= 0 => RequestLabel::FetchFollower,
                    RequestKind::Fetch(_) => RequestLabel::FetchConsumer,
                    _ => RequestLabel::Api(api_key),
                };
                match api::handle(
                    broker,
                    &client,
                    api_key,
                    pre.api_version,
                    pre.correlation_id,
                    decoded.body,
                )
                .await
                {
                    Ok(r) => r,
                    Err(e) => return Closed::Frame(e),
                }
            }
        };
        // The response's memory (a fetch's records) is held until written.
        if let Some(reply) = response {
            let written = match &reply.spliced {
                Some(spliced) => super::send_file::write_spliced(stream, spliced).await,
                None => stream.write_all(&reply.bytes).await,
            };
            if let Err(e) = written {
                return Closed::Io(e);
            }
            broker.meters.request_done(label, arrived.elapsed());
            // Over a quota: nothing more is read from this client until
            // its throttle time has passed.
            let throttle = reply.throttle;
            drop(reply);
            if !throttle.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(throttle) => {}
                    _ = shutdown.changed() => return Closed::Normally,
                }
            }
        } else {
            // acks=0: nothing to write back.
            broker.meters.request_done(label, arrived.elapsed());
        }
    }
}
