//! An in-process broker on a free port and a bare-bones protocol client that
//! sends `kafka-protocol` encoded requests, for protocol-level tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use kfk_wire::frame::encode_request;
use kfk_wire::{BatchOptions, NewRecord, encode_batch};
use kfkd::config::{FileSettings, SettingArgs, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Every wait in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct TestBroker {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestBroker {
    pub async fn start() -> TestBroker {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        settings.data_dir = dir.path().to_path_buf();
        tweak(&mut settings);
        Self::start_in(dir, settings).await
    }

    async fn start_in(dir: tempfile::TempDir, mut settings: Settings) -> TestBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        settings.listen = addr.to_string();
        let broker = kfkd::tasks::start_broker(settings).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kfkd::server::run(broker, listener, async {
            let _ = stopped.await;
        }));
        TestBroker {
            addr,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the broker cleanly and starts a new one on the same data directory.
    pub async fn restart(mut self) -> TestBroker {
        self.shutdown().await;
        let mut settings = Settings::resolve(&SettingArgs::default(), &FileSettings::default());
        settings.data_dir = self.dir.path().to_path_buf();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::start_in(dir, settings).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(TIMEOUT, task).await.unwrap().unwrap();
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }
}

pub struct Client {
    pub stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        Client {
            stream,
            correlation_id: 0,
        }
    }

    /// Sends a request without waiting; returns its correlation id.
    pub async fn send<Req: Encodable>(&mut self, api: ApiKey, version: i16, req: &Req) -> i32 {
        self.correlation_id += 1;
        let frame = encode_request(api, version, self.correlation_id, Some("test"), req).unwrap();
        self.stream.write_all(&frame).await.unwrap();
        self.correlation_id
    }

    /// Reads one response frame: correlation id and body bytes.
    pub async fn read_raw(&mut self, api: ApiKey, version: i16) -> Option<(i32, Bytes)> {
        let mut len = [0u8; 4];
        match tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return None,
            Err(_) => panic!("no response within {TIMEOUT:?}"),
        }
        let mut buf = BytesMut::zeroed(i32::from_be_bytes(len) as usize);
        tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut buf))
            .await
            .unwrap()
            .ok()?;
        let mut buf = buf.freeze();
        let header_version = api.response_header_version(version);
        let header =
            kafka_protocol::messages::ResponseHeader::decode(&mut buf, header_version).unwrap();
        Some((header.correlation_id, buf))
    }

    pub async fn request<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        req: &Req,
    ) -> Resp {
        let id = self.send(api, version, req).await;
        let (got, mut body) = self
            .read_raw(api, version)
            .await
            .expect("connection closed instead of a response");
        assert_eq!(got, id, "responses must come back in request order");
        Resp::decode(&mut body, version).unwrap()
    }

    /// True when the broker has closed the connection.
    pub async fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(TIMEOUT, self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// A batch of `n` records with keys `k<i>` and values `v<i>`.
pub fn batch(n: usize) -> Bytes {
    batch_from(n, -1, -1, -1)
}

/// A batch from an idempotent producer starting at `sequence`.
pub fn batch_from(n: usize, producer_id: i64, epoch: i16, sequence: i32) -> Bytes {
    let now = kfk_log::now_ms();
    let records: Vec<NewRecord> = (0..n)
        .map(|i| NewRecord::new(Some(format!("k{i}")), format!("v{i}"), now + i as i64))
        .collect();
    let options = BatchOptions {
        producer_id,
        producer_epoch: epoch,
        base_sequence: sequence,
        ..BatchOptions::default()
    };
    encode_batch(&records, &options).unwrap().freeze()
}

/// A topic name for requests.
pub fn name(s: &str) -> TopicName {
    kfk_wire::topic_name(s)
}

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

pub async fn create_topic(c: &mut Client, topic: &str, partitions: i32) -> CreateTopicsResponse {
    let req = CreateTopicsRequest::default().with_topics(vec![
        kafka_protocol::messages::create_topics_request::CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1),
    ]);
    c.request(ApiKey::CreateTopics, 7, &req).await
}

pub fn produce_req(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ]),
        ])
}

pub async fn produce(c: &mut Client, topic: &str, partition: i32, records: Bytes) -> (i16, i64) {
    let resp: ProduceResponse = c
        .request(
            ApiKey::Produce,
            9,
            &produce_req(topic, partition, records, -1),
        )
        .await;
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}
