//! One connection to one broker: the only client code that touches a socket.
//!
//! Requests may be pipelined: callers write under a short lock and wait on their
//! own channel, while a reader task matches responses to requests by correlation
//! id. On connect the client asks ApiVersions and from then on sends each API at
//! the highest version both sides speak.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Request, StrBytes};
use kfk_lowat::LowWater;
use kfk_wire::frame::{LENGTH_PREFIX, encode_request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::error::{ClientError, Result};
use crate::versions;

/// Largest response accepted; Kafka's default fetch.max.bytes is 50 MiB.
const MAX_RESPONSE: usize = 256 * 1024 * 1024;

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<Result<Bytes>>>>>;

/// The reading half of a plain or TLS socket.
type ReadHalf = Box<dyn FrameSource>;

/// A socket half responses are read from.
trait FrameSource: AsyncRead + Send + Unpin {
    /// The TCP socket when bytes read are the frames' own (plaintext), for
    /// its receive low-water mark.
    fn plain_fd(&self) -> Option<BorrowedFd<'_>>;
}

impl FrameSource for tokio::net::tcp::OwnedReadHalf {
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_ref().as_fd())
    }
}

impl FrameSource for tokio::io::ReadHalf<kfk_tls::client::TlsStream<TcpStream>> {
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}
/// The writing half of a plain or TLS socket.
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

pub struct Connection {
    addr: String,
    writer: tokio::sync::Mutex<WriteHalf>,
    pending: Pending,
    next_id: AtomicI32,
    /// Broker's (min, max) per API key.
    broker_versions: HashMap<i16, (i16, i16)>,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
    /// Until when the broker asked for quiet (a quota's throttle time):
    /// requests wait until then before they are sent (KIP-219).
    quiet_until: Mutex<Option<tokio::time::Instant>>,
    /// When the broker ends this connection's SASL session (KIP-368), and
    /// from when on it is no longer handed out for new requests.
    session: Mutex<Option<(std::time::Instant, std::time::Instant)>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// How much a read asks the socket for at least.
const READ_CHUNK: usize = 64 * 1024;

/// Reads until `buf` holds at least `want` bytes, woken (on plaintext)
/// only once a good part of what is missing has arrived.
async fn fill(
    rd: &mut ReadHalf,
    water: &mut LowWater,
    buf: &mut BytesMut,
    want: usize,
) -> std::io::Result<()> {
    while buf.len() < want {
        water.before_read(rd.plain_fd(), want - buf.len());
        buf.reserve((want - buf.len()).max(READ_CHUNK));
        if rd.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

/// Reads response frames and hands each to the request that waits for it.
async fn read_loop(addr: String, mut rd: ReadHalf, pending: Pending) {
    // One growing buffer that frames are split off: no zeroing, and its
    // memory is reused once the frames handed out are dropped.
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut water = LowWater::default();
    let failure = loop {
        if let Err(e) = fill(&mut rd, &mut water, &mut buf, LENGTH_PREFIX).await {
            break e;
        }
        let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        // A TLS record header (alert or handshake, version 3.x).
        if matches!(buf[0], 0x15 | 0x16) && buf[1] == 0x03 {
            break std::io::Error::new(std::io::ErrorKind::InvalidData, TLS_ANSWER);
        }
        if size < 4 || size as usize > MAX_RESPONSE {
            break std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("response frame of {size} bytes"),
            );
        }
        let total = LENGTH_PREFIX + size as usize;
        if let Err(e) = fill(&mut rd, &mut water, &mut buf, total).await {
            break e;
        }
        let mut frame = buf.split_to(total);
        frame.advance(LENGTH_PREFIX);
        let id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        if let Some(tx) = kfk_sync::lock(&pending).remove(&id) {
            let _ = tx.send(Ok(frame.freeze()));
        }
    };
    // Everyone still waiting learns why.
    for (_, tx) in kfk_sync::lock(&pending).drain() {
        let _ = tx.send(Err(ClientError::Io {
            addr: addr.clone(),
            source: std::io::Error::new(failure.kind(), failure.to_string()),
        }));
    }
}

impl Connection {
    /// Connects over plain TCP and negotiates API versions.
    ///
    /// # Errors
    /// As [`Connection::connect_with`].
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Connection> {
        Connection::connect_with(addr, timeout, None).await
    }

    /// Connects, in TLS when `tls` is given, and negotiates API versions.
    ///
    /// # Errors
    /// [`ClientError::Io`] or [`ClientError::Timeout`] when the broker cannot be
    /// reached, [`ClientError::Tls`] when the handshake fails,
    /// [`ClientError::Protocol`] when it does not speak Kafka.
    pub async fn connect_with(
        addr: &str,
        timeout: Duration,
        tls: Option<&Arc<kfk_tls::rustls::ClientConfig>>,
    ) -> Result<Connection> {
        let timed_out = || ClientError::Timeout {
            addr: addr.to_string(),
            secs: timeout.as_secs(),
        };
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out())?
            .map_err(|source| ClientError::Io {
                addr: addr.to_string(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let (rd, wr): (ReadHalf, WriteHalf) = match tls {
            None => {
                let (rd, wr) = stream.into_split();
                (Box::new(rd), Box::new(wr))
            }
            Some(config) => {
                let tls_error = |reason: String| ClientError::Tls {
                    addr: addr.to_string(),
                    reason,
                };
                let name = kfk_tls::server_name(addr).map_err(|e| tls_error(e.to_string()))?;
                let tls = tokio::time::timeout(
                    timeout,
                    kfk_tls::TlsConnector::from(Arc::clone(config)).connect(name, stream),
                )
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| {
                    tls_error(match e.kind() {
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => format!(
                            "{e} (is it a TLS listener? PLAINTEXT and SASL_PLAINTEXT listeners take --security-protocol PLAINTEXT or SASL_PLAINTEXT)"
                        ),
                        _ => e.to_string(),
                    })
                })?;
                let (rd, wr) = tokio::io::split(tls);
                (Box::new(rd), Box::new(wr))
            }
        };
        let pending: Pending = Arc::default();
        let reader = tokio::spawn(read_loop(addr.to_string(), rd, Arc::clone(&pending)));
        let mut conn = Connection {
            addr: addr.to_string(),
            writer: tokio::sync::Mutex::new(wr),
            pending,
            next_id: AtomicI32::new(1),
            broker_versions: HashMap::new(),
            timeout,
            reader,
            quiet_until: Mutex::new(None),
            session: Mutex::new(None),
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kfk"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = match conn.send_at(&req, 3).await {
            Err(e) if tls.is_none() && closed_early(&e) => {
                return Err(ClientError::Protocol {
                    addr: addr.to_string(),
                    reason: "the broker answered the first request in TLS or closed the connection (an SSL or SASL_SSL listener needs --security-protocol SSL or SASL_SSL)".into(),
                });
            }
            // TLS 1.3 finishes the client's side of the handshake before the
            // broker checks the client's certificate: its refusal arrives here.
            Err(ClientError::Io { source, .. }) if tls.is_some() => {
                return Err(ClientError::Tls {
                    addr: addr.to_string(),
                    reason: format!("the broker ended the connection: {source}"),
                });
            }
            other => other?,
        };
        let resp = if resp.error_code != 0 {
            // An older broker answers v0 with the versions it speaks (KIP-511).
            conn.send_at::<ApiVersionsRequest>(&ApiVersionsRequest::default(), 0)
                .await?
        } else {
            resp
        };
        conn.broker_versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(conn)
    }

    /// Sets how long a request may wait for its response.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The version to use for `api`: the highest both sides speak.
    pub fn version_for(&self, api: ApiKey) -> Option<i16> {
        let &peer = self.broker_versions.get(&(api as i16))?;
        versions::TABLE.highest_common(api, peer)
    }

    /// Sends `req` at the negotiated version.
    ///
    /// # Errors
    /// [`ClientError::Unsupported`] if no common version exists, else as the
    /// exchange fails.
    pub async fn send<R: Request>(&self, req: &R) -> Result<(R::Response, i16)> {
        self.send_within(req, self.timeout).await
    }

    /// [`Connection::send`] for a request the broker takes long over (a
    /// clean it does before answering): waits up to `timeout`.
    ///
    /// # Errors
    /// As [`Connection::send`].
    pub async fn send_within<R: Request>(
        &self,
        req: &R,
        timeout: Duration,
    ) -> Result<(R::Response, i16)> {
        let api = api_key::<R>()?;
        let version = self.version_for(api).ok_or(ClientError::Unsupported {
            addr: self.addr.clone(),
            api: api_name(api),
        })?;
        Ok((self.send_at_within(req, version, timeout).await?, version))
    }

    /// Sends `req` at `version` and waits for its response.
    ///
    /// # Errors
    /// I/O errors, a timeout, or an undecodable response.
    pub async fn send_at<R: Request>(&self, req: &R, version: i16) -> Result<R::Response> {
        self.send_at_within(req, version, self.timeout).await
    }

    async fn send_at_within<R: Request>(
        &self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response> {
        let rx = self
            .write(req, version, true)
            .await?
            .ok_or_else(|| ClientError::Invalid("no response channel".into()))?;
        let body = tokio::time::timeout(timeout, rx)
            .await
            .map_err(|_| ClientError::Timeout {
                addr: self.addr.clone(),
                secs: timeout.as_secs(),
            })?
            .map_err(|_| ClientError::Protocol {
                addr: self.addr.clone(),
                reason: "connection closed".into(),
            })??;
        self.decode::<R>(body, version)
    }

    /// Sends a request that gets no response (produce with acks=0).
    ///
    /// # Errors
    /// I/O errors.
    pub async fn send_no_response<R: Request>(&self, req: &R, version: i16) -> Result<()> {
        self.write(req, version, false).await.map(|_| ())
    }

    /// Notes a SASL session lifetime (`session_lifetime_ms`, 0 for none):
    /// once four fifths of it have passed, the client connects anew rather
    /// than have the broker close the connection under a request.
    pub(crate) fn session_lasts(&self, lifetime_ms: i64) {
        let lifetime = Duration::from_millis(u64::try_from(lifetime_ms).unwrap_or(0));
        if lifetime.is_zero() {
            return;
        }
        let now = std::time::Instant::now();
        *kfk_sync::lock(&self.session) = Some((now + lifetime * 4 / 5, now + lifetime));
    }

    /// Whether this connection should still be given new requests: open,
    /// and its SASL session (if it has one) not about to end.
    pub fn is_usable(&self) -> bool {
        self.is_open()
            && kfk_sync::lock(&self.session)
                .is_none_or(|(renew, _)| std::time::Instant::now() < renew)
    }

    /// Honours a response's `throttle_time_ms`: the next requests on this
    /// connection wait that long, as the broker mutes it meanwhile.
    pub fn throttled(&self, throttle_time_ms: i32) {
        if throttle_time_ms > 0 {
            let until = tokio::time::Instant::now()
                + Duration::from_millis(u64::try_from(throttle_time_ms).unwrap_or(0));
            let mut quiet = kfk_sync::lock(&self.quiet_until);
            *quiet = Some(quiet.map_or(until, |q| q.max(until)));
        }
    }

    async fn write<R: Request>(
        &self,
        req: &R,
        version: i16,
        expect_response: bool,
    ) -> Result<Option<oneshot::Receiver<Result<Bytes>>>> {
        let quiet = *kfk_sync::lock(&self.quiet_until);
        if let Some(until) = quiet {
            tokio::time::sleep_until(until).await;
        }
        let api = api_key::<R>()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = encode_request(api, version, id, Some("kfk"), req).map_err(|e| {
            ClientError::Protocol {
                addr: self.addr.clone(),
                reason: e.to_string(),
            }
        })?;
        let rx = expect_response.then(|| {
            let (tx, rx) = oneshot::channel();
            kfk_sync::lock(&self.pending).insert(id, tx);
            rx
        });
        let mut w = self.writer.lock().await;
        if let Err(source) = w.write_all(&frame).await {
            kfk_sync::lock(&self.pending).remove(&id);
            return Err(ClientError::Io {
                addr: self.addr.clone(),
                source,
            });
        }
        Ok(rx)
    }

    fn decode<R: Request>(&self, mut body: Bytes, version: i16) -> Result<R::Response> {
        let api = api_key::<R>()?;
        let protocol = |reason: String| ClientError::Protocol {
            addr: self.addr.clone(),
            reason,
        };
        ResponseHeader::decode(&mut body, api.response_header_version(version))
            .map_err(|e| protocol(e.to_string()))?;
        R::Response::decode(&mut body, version).map_err(|e| protocol(e.to_string()))
    }

    /// Whether the reader still runs (the socket is open).
    pub fn is_open(&self) -> bool {
        !self.reader.is_finished()
    }
}

/// What the reader reports when a plaintext request is answered in TLS.
const TLS_ANSWER: &str = "the broker answered in TLS";

/// Whether the broker hung up or answered in TLS instead of Kafka: what a
/// TLS listener does with a plaintext request.
fn closed_early(e: &ClientError) -> bool {
    match e {
        ClientError::Io { source, .. } => {
            matches!(
                source.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            ) || source.to_string() == TLS_ANSWER
        }
        ClientError::Protocol { reason, .. } => reason == "connection closed",
        _ => false,
    }
}

fn api_key<R: Request>() -> Result<ApiKey> {
    ApiKey::try_from(R::KEY)
        .map_err(|()| ClientError::Invalid(format!("unknown API key {}", R::KEY)))
}

/// A readable API name for messages.
pub fn api_name(api: ApiKey) -> &'static str {
    match api {
        ApiKey::Produce => "Produce",
        ApiKey::Fetch => "Fetch",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::Metadata => "Metadata",
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::CreatePartitions => "CreatePartitions",
        ApiKey::DescribeConfigs => "DescribeConfigs",
        ApiKey::AlterConfigs => "AlterConfigs",
        ApiKey::IncrementalAlterConfigs => "IncrementalAlterConfigs",
        ApiKey::DescribeCluster => "DescribeCluster",
        ApiKey::DescribeQuorum => "DescribeQuorum",
        ApiKey::InitProducerId => "InitProducerId",
        ApiKey::OffsetForLeaderEpoch => "OffsetForLeaderEpoch",
        _ => "this API",
    }
}
