//! A follower's connection to a partition leader. A replica fetcher waits
//! for each answer before it sends the next request, so this is one request
//! at a time on one socket, in Kafka's framing, at the fixed versions every
//! kfkd serves; no version negotiation, no pipelining. A failed exchange
//! closes the link and the fetcher connects again. On an SSL inter-broker
//! listener the link speaks TLS and shows the leader this broker's
//! certificate.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Request};
use kfk_lowat::LowWater;
use kfk_wire::frame::{LENGTH_PREFIX, encode_request, frame_length};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A plain or TLS socket.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {
    /// The TCP socket when bytes read are the responses' own (plaintext),
    /// for its receive low-water mark.
    fn plain_fd(&self) -> Option<BorrowedFd<'_>>;
}

impl Io for TcpStream {
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }
}

impl Io for kfk_tls::client::TlsStream<TcpStream> {
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// The client id a leader sees in its request logs.
const CLIENT_ID: &str = "kfkd-replica-fetcher";

pub struct LeaderLink {
    addr: String,
    stream: Option<Box<dyn Io>>,
    /// How long one exchange may take (the fetch's own wait plus slack).
    patience: Duration,
    /// The largest response accepted: the fetch's byte limit and headroom.
    max_response: usize,
    next_id: i32,
    /// Responses are read into this buffer's spare room (not zeroed first),
    /// and split off it; its memory is reused once the records are appended.
    buf: BytesMut,
    /// Wakes the fetcher once per chunk of a large response.
    water: LowWater,
}

impl std::fmt::Debug for LeaderLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderLink")
            .field("addr", &self.addr)
            .field("open", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl LeaderLink {
    /// Connects to `addr` within `connect_timeout`, in TLS when `tls` is
    /// given.
    ///
    /// # Errors
    /// When the leader cannot be reached in time, or the TLS handshake fails.
    pub async fn connect(
        addr: &str,
        tls: Option<Arc<kfk_tls::rustls::ClientConfig>>,
        connect_timeout: Duration,
        patience: Duration,
        max_response: usize,
    ) -> anyhow::Result<LeaderLink> {
        let connecting = async {
            let stream = TcpStream::connect(addr).await?;
            let _ = stream.set_nodelay(true);
            let stream: Box<dyn Io> = match tls {
                None => Box::new(stream),
                Some(config) => {
                    let name = kfk_tls::server_name(addr)?;
                    Box::new(
                        kfk_tls::TlsConnector::from(config)
                            .connect(name, stream)
                            .await?,
                    )
                }
            };
            anyhow::Ok(stream)
        };
        let stream = tokio::time::timeout(connect_timeout, connecting)
            .await
            .map_err(|_| anyhow::anyhow!("connecting to {addr} timed out"))??;
        Ok(LeaderLink {
            addr: addr.to_string(),
            stream: Some(stream),
            patience,
            max_response,
            next_id: 0,
            buf: BytesMut::new(),
            water: LowWater::default(),
        })
    }

    /// Whether the link can still be used.
    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// Sends `req` at `version` and waits for its response.
    ///
    /// # Errors
    /// I/O errors, a timeout, or a response that does not decode; the link is
    /// closed after any of them.
    pub async fn send_at<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> anyhow::Result<R::Response> {
        let result = tokio::time::timeout(self.patience, self.exchange(req, version)).await;
        let outcome = match result {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!(
                "{} did not answer within {:?}",
                self.addr,
                self.patience
            )),
        };
        if outcome.is_err() {
            self.stream = None;
        }
        outcome
    }

    async fn exchange<R: Request>(&mut self, req: &R, version: i16) -> anyhow::Result<R::Response> {
        let api =
            ApiKey::try_from(R::KEY).map_err(|()| anyhow::anyhow!("unknown API key {}", R::KEY))?;
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the link to {} is closed", self.addr))?;
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let frame = encode_request(api, version, id, Some(CLIENT_ID), req)?;
        stream.write_all(&frame).await?;
        let mut prefix = [0u8; LENGTH_PREFIX];
        self.water.before_read(stream.plain_fd(), LENGTH_PREFIX);
        stream.read_exact(&mut prefix).await?;
        let len = frame_length(prefix, self.max_response)?;
        self.buf.clear();
        self.buf.reserve(len);
        while self.buf.len() < len {
            self.water
                .before_read(stream.plain_fd(), len - self.buf.len());
            let want = (len - self.buf.len()) as u64;
            if (&mut *stream).take(want).read_buf(&mut self.buf).await? == 0 {
                anyhow::bail!("{} closed the connection mid-response", self.addr);
            }
        }
        let mut body: Bytes = self.buf.split_to(len).freeze();
        let header = ResponseHeader::decode(&mut body, api.response_header_version(version))?;
        anyhow::ensure!(
            header.correlation_id == id,
            "{} answered request {} when {id} was asked",
            self.addr,
            header.correlation_id
        );
        R::Response::decode(&mut body, version)
    }
}
